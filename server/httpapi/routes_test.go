package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// The link a phone's camera app opens, /q/REF, is not limited: many
// phones behind one address open it; its images are (classQR).
func TestQRLinkNotLimited(t *testing.T) {
	h := start(t, nil)
	tk := h.NewTicket()
	for i := range 100 {
		if r := h.Do("GET", api.PathQRPrefix+tk.Ref, protocoltest.Auth{}, nil); r.Status != http.StatusOK {
			t.Fatalf("link %d: %d %s", i, r.Status, r.Body)
		}
	}
	limited := false
	for range 100 {
		if r := h.Do("GET", api.PathQRPrefix+tk.Ref+".png", protocoltest.Auth{}, nil); r.Status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("100 QR images from one address, none refused")
	}
}

// A WebSocket endpoint tells a plain GET and a foreign origin what is
// wrong (400, 403) however many it got: the upgrade is checked before the
// class is spent.
func TestSocketChecksBeforeLimits(t *testing.T) {
	h := start(t, nil)
	for i := range 100 {
		r := h.Do("GET", api.PathSessionEvents, protocoltest.Auth{}, nil)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("plain GET %d: %d %s, want 400", i, r.Status, r.Body)
		}
	}
	if _, status := h.Dial(api.PathSessionEvents, protocoltest.Auth{}, "https://evil.example"); status != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", status)
	}
}
