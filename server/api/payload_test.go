package api

import (
	"errors"
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
