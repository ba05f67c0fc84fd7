package client

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
)

// boundServer answers as the protocol asks of a session bound to a key,
// with a clock of its own: a redeem with a proof that checks out (none:
// 400), and /me, /logout and the session socket with "DPoP <token>" and a
// proof for the token from the bound key (else 401). It stamps every
// answer's Date with its clock. It records each request's Authorization
// and DPoP headers.
type boundServer struct {
	srv     *httptest.Server
	checker *dpop.Checker
	now     func() time.Time

	mu   sync.Mutex
	jkt  string // the key the redeem bound the session to
	seen []http.Header
}

const boundToken = "session-token"

func newBoundServer(t *testing.T, offset time.Duration) *boundServer {
	t.Helper()
	b := &boundServer{now: func() time.Time { return time.Now().Add(offset) }}
	b.checker = dpop.NewChecker(time.Minute, b.now)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tickets/ref1/redeem", func(w http.ResponseWriter, r *http.Request) {
		jkt, err := b.checker.Check(r.Header.Get(dpop.Header), r.Method, b.srv.URL+r.URL.Path, "")
		if err != nil || r.Header.Get("Authorization") != "Bearer poll" {
			b.fail(w, http.StatusBadRequest, "invalid_request")
			return
		}
		b.mu.Lock()
		b.jkt = jkt
		b.mu.Unlock()
		io.WriteString(w, `{"session_token":"`+boundToken+`","token_type":"DPoP"}`)
	})
	mux.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
		if b.authorized(w, r) {
			io.WriteString(w, `{"user":{"id":"u1","display_name":"Alice"}}`)
		}
	})
	mux.HandleFunc("POST /api/v1/logout", func(w http.ResponseWriter, r *http.Request) {
		if b.authorized(w, r) {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("GET /api/v1/session/events", func(w http.ResponseWriter, r *http.Request) {
		if !b.authorized(w, r) {
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wsjson.Write(r.Context(), conn, api.SessionEvent{Type: api.EventRevoked})
		conn.Close(websocket.StatusNormalClosure, "")
	})
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Clone())
		b.mu.Unlock()
		w.Header().Set("Date", b.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// authorized checks a session call, and answers 401 if it fails.
func (b *boundServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	b.mu.Lock()
	want := b.jkt
	b.mu.Unlock()
	jkt, err := b.checker.Check(r.Header.Get(dpop.Header), r.Method, b.srv.URL+r.URL.Path, boundToken)
	if err != nil || jkt != want || r.Header.Get("Authorization") != dpop.Scheme+" "+boundToken {
		b.fail(w, http.StatusUnauthorized, "unauthorized")
		return false
	}
	return true
}

func (b *boundServer) fail(w http.ResponseWriter, status int, code string) {
	w.WriteHeader(status)
	io.WriteString(w, `{"error":{"code":"`+code+`","message":"no"}}`)
}

// requests returns how many requests reached the server.
func (b *boundServer) requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.seen)
}

func (b *boundServer) last(t *testing.T) http.Header {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		t.Fatal("no request reached the server")
	}
	return b.seen[len(b.seen)-1]
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// With a key, the redeem binds the session and each session call sends
// the DPoP scheme with a fresh proof (the server takes each proof once).
func TestDPoPSessionCalls(t *testing.T) {
	b := newBoundServer(t, 0)
	ctx := context.Background()
	c := New(b.srv.URL, WithDPoP(mustKey(t)))
	r, err := c.Redeem(ctx, "ref1", "poll")
	if err != nil || r.TokenType != api.TokenDPoP {
		t.Fatalf("Redeem = %+v, %v", r, err)
	}
	for i := range 2 {
		if u, err := c.Me(ctx, boundToken); err != nil || u.DisplayName != "Alice" {
			t.Fatalf("Me #%d = %+v, %v", i+1, u, err)
		}
	}
	if err := c.WatchSession(ctx, boundToken, func(api.SessionEvent) {}); err != nil {
		t.Errorf("WatchSession = %v, want nil after revoked", err)
	}
	if err := c.Logout(ctx, boundToken); err != nil {
		t.Errorf("Logout = %v", err)
	}
	if n := b.requests(); n != 5 {
		t.Errorf("%d requests, want 5: one per call", n)
	}

	// Another key's proofs do not pass.
	other := New(b.srv.URL, WithDPoP(mustKey(t)))
	if _, err := other.Me(ctx, boundToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me with another key = %v, want unauthorized", err)
	}
}

// Without the option, the client sends what it always sent: the bearer,
// no proof, on the session calls and the redeem alike.
func TestNoDPoPWithoutKey(t *testing.T) {
	b := newBoundServer(t, 0)
	ctx := context.Background()
	c := New(b.srv.URL)
	if _, err := c.Redeem(ctx, "ref1", "poll"); !errors.Is(err, server.ErrInvalid) {
		t.Errorf("Redeem without a proof = %v, want invalid_request from this server", err)
	}
	if h := b.last(t); h.Get("Authorization") != "Bearer poll" || h.Get(dpop.Header) != "" {
		t.Errorf("redeem headers: Authorization %q, DPoP %q", h.Get("Authorization"), h.Get(dpop.Header))
	}
	if _, err := c.Me(ctx, boundToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me without a key = %v, want unauthorized", err)
	}
	if h := b.last(t); h.Get("Authorization") != "Bearer "+boundToken || h.Get(dpop.Header) != "" {
		t.Errorf("me headers: Authorization %q, DPoP %q", h.Get("Authorization"), h.Get(dpop.Header))
	}
	if n := b.requests(); n != 2 {
		t.Errorf("%d requests, want 2: no retries without a key", n)
	}
}

// A desktop whose clock is minutes off still gets through: the first
// refused call teaches it the server's clock from the Date header and is
// sent once more; later calls are right the first time.
func TestDPoPLearnsServerClock(t *testing.T) {
	for _, offset := range []time.Duration{7 * time.Minute, -7 * time.Minute} {
		b := newBoundServer(t, offset)
		ctx := context.Background()
		key := mustKey(t)
		if _, err := New(b.srv.URL, WithDPoP(key)).Redeem(ctx, "ref1", "poll"); err != nil {
			t.Fatalf("server clock %v: Redeem = %v", offset, err)
		}
		if n := b.requests(); n != 2 {
			t.Errorf("server clock %v: the redeem took %d requests, want 2", offset, n)
		}
		c := New(b.srv.URL, WithDPoP(key))
		if err := c.WatchSession(ctx, boundToken, func(api.SessionEvent) {}); err != nil {
			t.Errorf("server clock %v: WatchSession = %v", offset, err)
		}
		if n := b.requests(); n != 4 {
			t.Errorf("server clock %v: the handshake took %d requests, want 2", offset, n-2)
		}
		for i := range 2 {
			if _, err := c.Me(ctx, boundToken); err != nil {
				t.Errorf("server clock %v: Me #%d = %v", offset, i+1, err)
			}
		}
		if n := b.requests(); n != 6 {
			t.Errorf("server clock %v: two Me after the clock was learned took %d requests, want 2", offset, n-4)
		}
	}
}

// A refusal that the clock does not explain is not retried, and one that
// it does is retried once only.
func TestDPoPRetriesOnce(t *testing.T) {
	b := newBoundServer(t, 0)
	ctx := context.Background()
	c := New(b.srv.URL, WithDPoP(mustKey(t))) // no redeem: the session is bound to no key of its
	if _, err := c.Me(ctx, boundToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Fatalf("Me = %v, want unauthorized", err)
	}
	if n := b.requests(); n != 1 {
		t.Errorf("a refusal with the clock right took %d requests, want 1", n)
	}

	// A server whose Date moves ahead with every answer: never in step.
	var mu sync.Mutex
	ahead := time.Duration(0)
	b.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		ahead += 5 * time.Minute
		return time.Now().Add(ahead)
	}
	c = New(b.srv.URL, WithDPoP(mustKey(t)))
	if _, err := c.Me(ctx, boundToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Fatalf("Me = %v, want unauthorized", err)
	}
	if n := b.requests(); n != 3 {
		t.Errorf("a refusal with the clock off took %d requests, want 2", n-1)
	}
}
