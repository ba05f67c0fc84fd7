package httpapi_test

import (
	"crypto/ecdsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

func mustProof(t *testing.T, key *ecdsa.PrivateKey, method, url, token string) string {
	t.Helper()
	return proofAt(t, key, method, url, token, time.Now())
}

// proofAt is a proof made at at.
func proofAt(t *testing.T, key *ecdsa.PrivateKey, method, url, token string, at time.Time) string {
	t.Helper()
	p, err := dpop.Proof(key, method, url, token, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A session bound to the desktop's key at redeem answers only calls that
// prove that key: its token copied elsewhere, alone, as Bearer, with
// another key's proof, with a proof for another request or with a replayed
// proof, gets 401.
func TestBoundSessionNeedsItsKey(t *testing.T) { onBothStores(t, testBoundSessionNeedsItsKey) }

func testBoundSessionNeedsItsKey(t *testing.T, h *harness) {
	key, thief := mustKey(t), mustKey(t)
	tok := enrolled(t, h, h.NewPhone("Alice"), key)
	me := h.Base + api.PathMe

	good := mustProof(t, key, "GET", me, tok)
	r := h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: good}, nil)
	protocoltest.Want(t, r, http.StatusOK, "")

	for name, auth := range map[string]protocoltest.Auth{
		"Bearer, no proof":        {Bearer: tok},
		"Bearer with a proof":     {Bearer: tok, DPoP: mustProof(t, key, "GET", me, tok)},
		"DPoP, no proof":          {Bearer: tok, Scheme: "DPoP"},
		"another key's proof":     {Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, thief, "GET", me, tok)},
		"a proof for logout":      {Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "POST", h.Base+api.PathLogout, tok)},
		"a proof for other token": {Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", me, "other")},
		"the proof replayed":      {Bearer: tok, Scheme: "DPoP", DPoP: good},
		"an expired proof":        {Bearer: tok, Scheme: "DPoP", DPoP: proofAt(t, key, "GET", me, tok, time.Now().Add(-2*time.Minute))},
	} {
		r := h.Do("GET", api.PathMe, auth, nil)
		protocoltest.Want(t, r, http.StatusUnauthorized, "unauthorized")
		if name == "Bearer, no proof" && !strings.Contains(r.Map()["error"].(map[string]any)["message"].(string), "bound to a key") {
			t.Errorf("%s: %s, want the reason", name, r.Body)
		}
	}

	// The session socket: a proof at the upgrade, or in the first message.
	events := h.Base + api.PathSessionEvents
	if _, status := h.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: tok, Scheme: "DPoP"}, ""); status != http.StatusUnauthorized {
		t.Errorf("socket without a proof: %d, want 401", status)
	}
	if _, status := h.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", events, tok)}, ""); status != http.StatusSwitchingProtocols {
		t.Errorf("socket with a proof: %d, want 101", status)
	}
	ws, _ := h.Dial(api.PathSessionEvents, protocoltest.Auth{}, "")
	ws.Send(api.AuthMessage{Type: api.EventAuth, Token: tok, DPoP: mustProof(t, thief, "GET", events, tok)})
	if code := ws.Closed(5 * time.Second); code != 4401 {
		t.Errorf("socket authenticated by a message with another key's proof: closed %d, want 4401", code)
	}

	// Logout with a proof ends the session.
	r = h.Do("POST", api.PathLogout, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "POST", h.Base+api.PathLogout, tok)}, nil)
	protocoltest.Want(t, r, http.StatusNoContent, "")
	r = h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", me, tok)}, nil)
	protocoltest.Want(t, r, http.StatusUnauthorized, "unauthorized")
}

// A redeem with a proof that does not check out is refused and leaves the
// ticket confirmed, so the desktop can redeem again with a good one; a
// redeem without a proof gets a bearer session, as before.
func TestRedeemProof(t *testing.T) {
	h := start(t, nil)
	key := mustKey(t)
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	r := h.Scan(p, tk.QRPayload)
	var sr api.ScanResponse
	r.JSON(t, &sr)
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusOK, "")
	path := api.PathTickets + "/" + tk.Ref + "/redeem"
	auth := tk.Secret()
	auth.DPoP = mustProof(t, key, "POST", h.Base+api.PathMe, "") // made for another URL
	protocoltest.Want(t, h.Do("POST", path, auth, nil), http.StatusBadRequest, "invalid_request")
	auth.DPoP = mustProof(t, key, "POST", h.Base+path, "")
	protocoltest.Want(t, h.Do("POST", path, auth, nil), http.StatusOK, "")

	rr := h.SignIn(p, h.NewTicket())
	if rr.TokenType != api.TokenBearer {
		t.Fatalf("redeem without a proof: token_type %q, want Bearer", rr.TokenType)
	}
	for _, auth := range []protocoltest.Auth{{Bearer: rr.SessionToken}, {Bearer: rr.SessionToken, Scheme: "DPoP"}} {
		protocoltest.Want(t, h.Do("GET", api.PathMe, auth, nil), http.StatusOK, "")
	}
}

// Behind a balancer that sends its own Host, the desktop's proof names the
// server's public URL (an alias, or the base URL): it is accepted for the
// same path; a proof for a host the server is not known by is not.
func TestProofNamesAnyOwnOrigin(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Aliases = []string{"https://login.example"} })
	key := mustKey(t)
	tok := enrolled(t, h, h.NewPhone("Alice"), key)
	for url, want := range map[string]int{
		"https://login.example" + api.PathMe:  http.StatusOK,
		"https://evil.example" + api.PathMe:   http.StatusUnauthorized,
		"https://login.example/api/v1/logout": http.StatusUnauthorized,
	} {
		r := h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", url, tok)}, nil)
		if r.Status != want {
			t.Errorf("proof for %s: %d %s, want %d", url, r.Status, r.Body, want)
		}
	}
}
