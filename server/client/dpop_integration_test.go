package client_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/dpop"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// confirmedTicket has the phone m scan and approve a new ticket of c, and
// returns it, ready to redeem.
func confirmedTicket(t *testing.T, c *client.Client, m *client.Mobile) api.CreateTicketResponse {
	t.Helper()
	ctx := context.Background()
	tk, err := c.CreateTicket(ctx, api.DesktopDevice{Name: "d", OS: "linux", App: "t"})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := m.Scan(ctx, tk.QRPayload)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	req := api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &yes}
	if scan.MatchRequired {
		req.MatchCode = tk.MatchCode
	}
	if _, err := m.Confirm(ctx, req); err != nil {
		t.Fatal(err)
	}
	return tk
}

// meStatus is the status of GET /api/v1/me with these headers, from a
// plain http.Client: a thief who copied the token.
func meStatus(t *testing.T, base string, h http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+api.PathMe, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A session redeemed with a key works only with proofs from that key: its
// token alone, as a bearer or with the DPoP scheme, or with another key's
// proofs, gets 401 from every session endpoint.
func TestAgainstServerDPoPBound(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain := client.New(n.URL(), client.WithUserAgent("client-test/1"))
	desk := client.New(n.URL(), client.WithUserAgent("client-test/1"), client.WithDPoP(newKey(t)))
	thief := client.New(n.URL(), client.WithDPoP(newKey(t)))
	m := login(t, plain, "carol", "carol-phone-000000000000")

	s := signIn(t, desk, m)
	if s.TokenType != api.TokenDPoP {
		t.Fatalf("token type %q, want %q", s.TokenType, api.TokenDPoP)
	}
	if me, err := desk.Me(ctx, s.SessionToken); err != nil || me.DisplayName != "carol" {
		t.Fatalf("Me with the key = %+v, %v", me, err)
	}
	for _, c := range []struct {
		name string
		c    *client.Client
	}{{"without a key", plain}, {"with another key", thief}} {
		if _, err := c.c.Me(ctx, s.SessionToken); !errors.Is(err, server.ErrUnauthorized) {
			t.Errorf("Me %s = %v, want unauthorized", c.name, err)
		}
		if err := c.c.WatchSession(ctx, s.SessionToken, func(api.SessionEvent) {}); !errors.Is(err, server.ErrUnauthorized) {
			t.Errorf("WatchSession %s = %v, want unauthorized", c.name, err)
		}
		if err := c.c.Logout(ctx, s.SessionToken); !errors.Is(err, server.ErrUnauthorized) {
			t.Errorf("Logout %s = %v, want unauthorized", c.name, err)
		}
	}
	if got := meStatus(t, n.URL(), http.Header{"Authorization": {"DPoP " + s.SessionToken}}); got != http.StatusUnauthorized {
		t.Errorf("GET /me with the DPoP scheme and no proof: %d, want 401", got)
	}

	// The session's channel and log-out, with the key.
	done := watchSession(ctx, desk, s.SessionToken)
	list, err := m.Sessions(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	if err := m.RevokeSession(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	seesRevoked(t, done, "RevokeSession of a bound session")

	s = signIn(t, desk, m)
	if err := desk.Logout(ctx, s.SessionToken); err != nil {
		t.Fatalf("Logout with the key = %v", err)
	}
	if _, err := desk.Me(ctx, s.SessionToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me after Logout = %v, want unauthorized", err)
	}
}

// A session redeemed without a key (a desktop from before DPoP) goes on
// working through a client with a key.
func TestAgainstServerDPoPUnbound(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain := client.New(n.URL(), client.WithUserAgent("client-test/1"))
	desk := client.New(n.URL(), client.WithUserAgent("client-test/1"), client.WithDPoP(newKey(t)))
	m := login(t, plain, "dave", "dave-phone-0000000000000")

	s := signIn(t, plain, m)
	if s.TokenType != api.TokenBearer {
		t.Fatalf("token type %q, want %q", s.TokenType, api.TokenBearer)
	}
	if _, err := desk.Me(ctx, s.SessionToken); err != nil {
		t.Errorf("Me of a bearer session with a key = %v", err)
	}
	done := watchSession(ctx, desk, s.SessionToken)
	if err := m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	seesRevoked(t, done, "mobile Logout of a bearer session")
}

// A desktop whose clock is five minutes slow signs in, and reaches its
// session, on the first try that it is asked to: the refused proof teaches
// it the server's clock.
func TestAgainstServerDPoPClockOff(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain := client.New(n.URL())
	m := login(t, plain, "erin", "erin-phone-0000000000000")
	key := newKey(t)
	slow := func() time.Time { return time.Now().Add(-5 * time.Minute) }
	fresh := func() *client.Client { // knows nothing of the server's clock yet
		return client.New(n.URL(), client.WithDPoP(key), client.WithClock(slow))
	}

	tk := confirmedTicket(t, plain, m)
	s, err := fresh().Redeem(ctx, tk.Ref, tk.PollSecret)
	if err != nil || s.TokenType != api.TokenDPoP {
		t.Fatalf("Redeem with a slow clock = %+v, %v", s, err)
	}
	if _, err := fresh().Me(ctx, s.SessionToken); err != nil {
		t.Errorf("Me with a slow clock = %v", err)
	}
	done := watchSession(ctx, fresh(), s.SessionToken)
	if err := m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	seesRevoked(t, done, "WatchSession with a slow clock")

}
