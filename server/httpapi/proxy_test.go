package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// desktopIP asks for a ticket with X-Forwarded-For xff and returns the IP
// the server recorded for the desktop (what the phone is shown).
func desktopIP(t *testing.T, h *harness, p protocoltest.Phone, xff string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", h.node.URL()+api.PathTickets, strings.NewReader(`{"device":{"name":"PC"}}`))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tk api.CreateTicketResponse
	if err := jsonDecode(res, &tk); err != nil {
		t.Fatal(err)
	}
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	return sr.Desktop.IP
}

// Behind a trusted load balancer the client's address comes from
// X-Forwarded-For (its rightmost untrusted hop); from anyone else the header
// is ignored, so it cannot be forged.
func TestTrustedProxies(t *testing.T) {
	direct := start(t, nil)
	p := direct.NewPhone("Alice")
	if ip := desktopIP(t, direct, p, "203.0.113.7"); ip != "127.0.0.1" {
		t.Fatalf("untrusted peer's X-Forwarded-For was believed: %s", ip)
	}
	behind := start(t, func(c *node.Config) { c.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"} })
	p = behind.NewPhone("Alice")
	for xff, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"198.51.100.1, 203.0.113.7": "203.0.113.7", // the client may prepend anything
		"203.0.113.7, 10.1.2.3":     "203.0.113.7", // a second trusted hop
		"garbage, 203.0.113.7":      "203.0.113.7",
		"203.0.113.7, not-an-ip":    "127.0.0.1",
		"":                          "127.0.0.1",
		"2001:db8::1":               "2001:db8::1",
	} {
		if ip := desktopIP(t, behind, p, xff); ip != want {
			t.Errorf("X-Forwarded-For %q: recorded %s, want %s", xff, ip, want)
		}
	}
	if _, err := node.Start(t.Context(), node.Config{Addr: "127.0.0.1:0", DBPath: t.TempDir() + "/db", TrustedProxies: []string{"nonsense"}}); err == nil {
		t.Fatal("a malformed trusted proxy was accepted")
	}
}
