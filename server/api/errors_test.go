package api

import (
	"net/http"
	"testing"

	"github.com/qrlogin/qrlogin/server"
)

// Every code has its own status, and the client reads each status back as
// the code it was sent for.
func TestStatusesRoundTrip(t *testing.T) {
	for _, c := range server.Codes {
		s, ok := statuses[c]
		if !ok {
			t.Errorf("code %q has no HTTP status", c)
			continue
		}
		if got := StatusOf(c); got != s {
			t.Errorf("StatusOf(%q) = %d, want %d", c, got, s)
		}
		if back, ok := CodeOf(s); !ok || back != c {
			t.Errorf("CodeOf(%d) = %q, %v; want %q", s, back, ok, c)
		}
	}
	if len(statuses) != len(server.Codes) {
		t.Errorf("the table has %d codes, server.Codes %d", len(statuses), len(server.Codes))
	}
	if got := StatusOf("no_such_code"); got != http.StatusInternalServerError {
		t.Errorf("StatusOf(unknown) = %d, want 500", got)
	}
	if c, ok := CodeOf(http.StatusBadGateway); ok {
		t.Errorf("CodeOf(502) = %q, true; want no code", c)
	}
}
