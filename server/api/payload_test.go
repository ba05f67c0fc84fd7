package api

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePayload(t *testing.T) {
	ref := "AbCdEfGhIjKlMnOpQrStUv"
	for _, tt := range []struct{ in, base string }{
		{"http://127.0.0.1:8080/q/" + ref, "http://127.0.0.1:8080"},
		{"https://login.example/prefix/q/" + ref, "https://login.example/prefix"},
	} {
		base, got, err := ParsePayload(tt.in)
		if err != nil || got != ref || base != tt.base {
			t.Errorf("ParsePayload(%q) = %q, %q, %v", tt.in, base, got, err)
		}
	}
	for _, bad := range []string{"", "hello", "WIFI:S:home;;", "http://x/q/short", "http://x/p/" + ref, "ftp://x/q/" + ref, "http://x/q/" + ref + "?a=1", "http://x/q/" + ref + "/more", "http:///q/" + ref} {
		if _, _, err := ParsePayload(bad); !errors.Is(err, ErrNotPayload) {
			t.Errorf("ParsePayload(%q): %v, want ErrNotPayload", bad, err)
		}
	}
	if _, got, _ := ParsePayload(Payload("http://h/", ref)); got != ref {
		t.Fatal("Payload and ParsePayload disagree")
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add("http://127.0.0.1:8080/q/AbCdEfGhIjKlMnOpQrStUv")
	f.Add("https://x/q/%41")
	f.Fuzz(func(t *testing.T, s string) {
		base, ref, err := ParsePayload(s)
		if err == nil && (!ValidRef(ref) || base == "") {
			t.Fatalf("accepted %q as %q, %q", s, base, ref)
		}
	})
}

func TestNormalizeUserCode(t *testing.T) {
	for _, in := range []string{"WDJBMJHT", "WDJB-MJHT", "wdjb-mjht", "WdJb MjHt", " wdjbmjht ", "WDJB–MJHT", "W-D-J-B-M-J-H-T", "WDJB\tMJHT"} {
		if got, ok := NormalizeUserCode(in); !ok || got != "WDJBMJHT" {
			t.Errorf("NormalizeUserCode(%q) = %q, %v, want WDJBMJHT", in, got, ok)
		}
	}
	for _, bad := range []string{"", "WDJB-MJH", "WDJB-MJHTB", "WDJA-MJHT", "WDJB-MJH0", "WDJB_MJHT", "ẄDJB-MJHT", "WDJB-MJHT" + strings.Repeat(" ", 60), "AbCdEfGhIjKlMnOpQrStUv"} {
		if got, ok := NormalizeUserCode(bad); ok {
			t.Errorf("NormalizeUserCode(%q) = %q, want not a code", bad, got)
		}
	}
	if got := FormatUserCode("WDJBMJHT"); got != "WDJB-MJHT" {
		t.Errorf("FormatUserCode = %q", got)
	}
	if got := FormatUserCode("wdjbmjht"); got != "wdjbmjht" {
		t.Errorf("FormatUserCode of a code that is not canonical = %q, want it unchanged", got)
	}
	if len(UserCodeAlphabet) != 20 || strings.ContainsAny(UserCodeAlphabet, "AEIOUY0123456789") {
		t.Errorf("UserCodeAlphabet %q: want RFC 8628's 20 consonants", UserCodeAlphabet)
	}
}

func TestParseAnyPayload(t *testing.T) {
	ref := "AbCdEfGhIjKlMnOpQrStUv"
	for _, tt := range []struct {
		in   string
		want Scanned
	}{
		{"http://127.0.0.1:8080/q/" + ref, Scanned{Base: "http://127.0.0.1:8080", Ref: ref}},
		{DevicePayload("https://login.example/prefix/", "WDJB-MJHT"), Scanned{Base: "https://login.example/prefix", UserCode: "WDJBMJHT"}},
		{"http://h:1/device?user_code=wdjb%20mjht", Scanned{Base: "http://h:1", UserCode: "WDJBMJHT"}},
		{"http://h/device?user_code=WDJBMJHT", Scanned{Base: "http://h", UserCode: "WDJBMJHT"}},
	} {
		got, err := ParseAnyPayload(tt.in)
		if err != nil || got != tt.want || got.Device() != (tt.want.UserCode != "") {
			t.Errorf("ParseAnyPayload(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "WIFI:S:home;;", "http://x/device", "http://x/device?user_code=" + ref, "http://x/device?user_code=WDJA-MJHT",
		"http://x/devices?user_code=WDJB-MJHT", "ftp://x/device?user_code=WDJB-MJHT", "http:///device?user_code=WDJB-MJHT", "http://x/q/short"} {
		if _, err := ParseAnyPayload(bad); !errors.Is(err, ErrNotPayload) {
			t.Errorf("ParseAnyPayload(%q): %v, want ErrNotPayload", bad, err)
		}
	}
	if !strings.Contains(DevicePayload("http://h", "WDJB-MJHT"), "user_code=WDJB-MJHT") {
		t.Error("DevicePayload does not carry the code as people see it")
	}
}

func FuzzParseAnyPayload(f *testing.F) {
	f.Add("http://127.0.0.1:8080/q/AbCdEfGhIjKlMnOpQrStUv")
	f.Add("http://h/device?user_code=WDJB-MJHT")
	f.Add("http://h/device?user_code=w%E2%80%93djbmjht")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseAnyPayload(s)
		if err != nil {
			return
		}
		if p.Base == "" || (p.Ref == "") == (p.UserCode == "") {
			t.Fatalf("accepted %q as %+v", s, p)
		}
		if c, ok := NormalizeUserCode(p.UserCode); p.Device() && (!ok || c != p.UserCode) {
			t.Fatalf("%q: user code %q is not canonical", s, p.UserCode)
		}
	})
}
