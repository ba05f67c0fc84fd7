package service

import "testing"

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"Alice": "A***e", "Bo": "B*", "X": "*", "": "", "张伟明": "张***明", "Alexandra Smith": "A***h"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameNetwork(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"192.168.1.10", "192.168.1.200", true},
		{"192.168.1.10", "192.168.2.10", false},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"::ffff:10.0.0.1", "10.0.0.2", true},
		{"10.0.0.1", "2001:db8::1", false},
		{"not an ip", "10.0.0.1", false},
	}
	for _, tt := range tests {
		if got := sameNetwork(tt.a, tt.b); got != tt.want {
			t.Errorf("sameNetwork(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestConfigRejectsRotationSlowerThanTTL(t *testing.T) {
	for _, c := range []Config{
		{BaseURL: "http://x", TicketTTL: 10e9, RotateEvery: 10e9},
		{BaseURL: "http://x", Match: "sometimes"},
		{BaseURL: "http://x", TicketTTL: 60e9, RotateMax: 30e9},
		{},
	} {
		if err := c.setDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	ok := Config{BaseURL: "http://x"}
	if err := ok.setDefaults(); err != nil || ok.TicketTTL != 60e9 || ok.RotateEvery != 20e9 || ok.RotateMax != 300e9 || ok.Match != MatchRisky {
		t.Fatalf("defaults: %v %+v", err, ok)
	}
}
