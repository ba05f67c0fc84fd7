package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// Item 3: a login whose username cannot be one (64 KB, or another
// alphabet) is refused without becoming a key of the username limiter, and
// ALICE and alice share one key.
func TestMalformedUsernamesMakeNoKeys(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	svc, err := service.New(store, service.Config{BaseURL: base, Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	h := New(svc, Config{Limits: Limits{Failures: 1000, BurstFailure: 1000}})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	login := func(username string) int {
		b, _ := json.Marshal(api.MobileLoginRequest{Username: username, Password: "wrong password", Device: api.MobileDevice{ID: "d"}})
		res, err := http.Post(base+api.PathMobileLogin, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, u := range []string{strings.Repeat("a", 64<<10-200), "ål", "a b c", "x"} {
		if s := login(u); s != http.StatusUnauthorized {
			t.Errorf("login as a malformed name of %d bytes: %d, want 401", len(u), s)
		}
	}
	if n := h.limits.login.Len(); n != 0 {
		t.Fatalf("malformed usernames left %d keys in the username limiter", n)
	}
	login("alice")
	login("ALICE")
	login("Alice")
	if n := h.limits.login.Len(); n != 1 {
		t.Fatalf("alice in three cases made %d keys, want 1", n)
	}
}

// An origin matches whatever way its default port and its case are
// written, and an IPv6 literal is not taken for a pattern.
func TestOriginsNormalized(t *testing.T) {
	h := &Handler{}
	for _, o := range []string{"https://login.example:443", "http://[::1]:8080", "https://*.example.org"} {
		u, _ := url.Parse(o)
		if strings.Contains(o, "*") {
			h.origins = append(h.origins, o)
		} else {
			h.origins = append(h.origins, normalOrigin(u))
		}
	}
	for origin, want := range map[string]bool{
		"https://login.example":      true,
		"HTTPS://Login.Example:443":  true,
		"http://[::1]:8080":          true,
		"http://[::2]:8080":          false,
		"https://a.example.org":      true,
		"https://login.example:8443": false,
		"https://evil.example":       false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Origin", origin)
		if got := h.originAllowed(r); got != want {
			t.Errorf("Origin %s: allowed %v, want %v", origin, got, want)
		}
	}
}
