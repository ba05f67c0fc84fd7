package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// errorCodes are the protocol's codes; a 4xx body must carry one.
var errorCodes = map[string]bool{"invalid_request": true, "unauthorized": true, "forbidden": true, "not_found": true, "conflict": true, "expired": true, "rate_limited": true}

// wantClientError fails unless r is a 4xx with the protocol's error body.
func wantClientError(t testing.TB, what string, r protocoltest.Resp) {
	t.Helper()
	if r.Status < 400 || r.Status >= 500 || !errorCodes[r.Code()] || !json.Valid(r.Body) {
		t.Fatalf("%s: %d %q, want a 4xx with the error body", what, r.Status, r.Body)
	}
	var e api.ErrorBody
	json.Unmarshal(r.Body, &e)
	if e.Error.Message == "" || strings.Contains(strings.ToLower(e.Error.Message), "sql") || strings.Contains(e.Error.Message, "goroutine") {
		t.Fatalf("%s: message %q", what, e.Error.Message)
	}
}

// badBodies are malformed bodies that every JSON endpoint must refuse with
// a 4xx and change nothing.
func badBodies() map[string]string {
	return map[string]string{
		"empty":           "",
		"not JSON":        "hello",
		"truncated":       `{"username": "a`,
		"array":           `[1,2,3]`,
		"null":            `null`,
		"wrong types":     `{"username": 1, "password": true, "device": "x", "qr_payload": 7, "scan_token": [], "approve": "yes", "display_name": {}}`,
		"two values":      `{} {}`,
		"invalid UTF-8":   "{\"username\": \"\xff\xfe\", \"qr_payload\": \"\xc3\x28\"}",
		"deeply nested":   strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		"huge":            `{"username": "` + strings.Repeat("a", 70<<10) + `"}`,
		"control chars":   `{"username": "a\u0000b", "password": "x\u0007", "display_name": "\u001b[31m", "device": {"id": "\u0000", "name": "\u0000"}}`,
		"absurd numbers":  `{"approve": 1e999999}`,
		"unknown payload": `{"qr_payload": "https://evil.example/steal?x=1", "scan_token": "x", "approve": true}`,
	}
}

// Checklist 18: every endpoint answers malformed JSON, wrong types, huge or
// deeply nested bodies, invalid UTF-8 and absurd query or path values with a
// 4xx and the error body, never a 5xx, and changes nothing stored.
func TestChecklist18_BadInputGets4xxAndChangesNothing(t *testing.T) {
	h := start(t, func(c *node.Config) { c.NoRateLimits = true }) // so every call is judged, not refused
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	before := h.ticketCounts()

	type call struct {
		path string
		auth protocoltest.Auth
	}
	calls := []call{
		{api.PathAccounts, protocoltest.Auth{}},
		{api.PathMobileLogin, protocoltest.Auth{}},
		{api.PathTickets, protocoltest.Auth{}},
		{api.PathMobileScan, p.Auth},
		{api.PathMobileConfirm, p.Auth},
	}
	created := 0
	for _, c := range calls {
		for name, body := range badBodies() {
			r := h.Do("POST", c.path, c.auth, body)
			if c.path == api.PathTickets && r.Status == http.StatusCreated {
				created++ // an object whose fields the ticket request ignores is valid
				continue
			}
			wantClientError(t, c.path+" with "+name, r)
		}
	}
	paths := []string{
		"/q/" + tk.Ref + ".png?px=-1", "/q/" + tk.Ref + ".png?px=99999999999999999999", "/q/" + tk.Ref + ".png?px=abc",
		"/q/" + strings.Repeat("A", 5000) + ".png", "/q/%00%ff.png", "/q/" + tk.Ref + ".gif",
		api.PathTickets + "/" + tk.Ref + "/wait?after=nonsense",
		api.PathTickets + "/" + tk.Ref + "/wait?qr=%ff%fe",
		api.PathTickets + "/" + strings.Repeat("x", 10000) + "/wait",
		api.PathTickets + "/%E2%98%83/redeem",
		"/avatars/..%2f..%2fetc%2fpasswd.svg",
		"/api/v1/nope",
		api.PathTickets + "/" + tk.Ref + "/events", // without a WebSocket upgrade
		api.PathSessionEvents, api.PathMobileEvents,
	}
	for _, path := range paths {
		wantClientError(t, path, h.Do("GET", path, tk.Secret(), nil))
	}
	wantClientError(t, "redeem of a unicode ref", h.Do("POST", api.PathTickets+"/%E2%98%83/redeem", tk.Secret(), nil))
	wantClientError(t, "revoke of a huge id", h.Do("DELETE", api.PathMobileSessions+"/"+strings.Repeat("z", 9000), p.Auth, nil))

	// Nothing changed: the same tickets in the same states, no sessions.
	a, b := before, h.ticketCounts()
	if b[server.StatePending] == 0 {
		t.Fatalf("no pending tickets in the store: %v", b)
	}
	a[server.StatePending] += created
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("stored tickets changed: before (plus %d valid creations) %v, after %v", created, a, b)
	}
	var list api.SessionsBody
	h.Do("GET", api.PathMobileSessions, p.Auth, nil).JSON(t, &list)
	if len(list.Sessions) != 0 {
		t.Fatalf("sessions appeared: %+v", list)
	}
	r := h.Do("GET", api.PathTickets+"/"+tk.Ref+"/wait", tk.Secret(), nil)
	if r.Map()["state"] != "pending" {
		t.Fatalf("ticket moved: %s", r.Body)
	}
}
