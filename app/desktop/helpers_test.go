package desktop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/node"
)

// TestMain keeps the tests off the OS keyring of the machine they run on:
// there is none, unless a test mocks one.
func TestMain(m *testing.M) {
	noKeyring()
	os.Exit(m.Run())
}

func noKeyring() { keyring.MockInitWithError(errors.New("no keyring in tests")) }

// cheap password costs keep account set-up fast under -race.
var cheap = server.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// testLog logs through t when QRLOGIN_TEST_LOG is set, else nowhere.
func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("QRLOGIN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// mustStartNode starts a real server on loopback with a database in a
// temporary folder, and stops it when the test ends. cfg may shorten TTLs.
func mustStartNode(t testing.TB, cfg node.Config) *node.Node {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(t.TempDir(), "qrlogin.db")
	}
	cfg.Password = cheap
	cfg.NoRateLimits = true
	cfg.PublicMetrics = true // waitSessionSocket reads the socket gauge
	cfg.Logger = testLog(t).With("component", "server")
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return n
}

// phone is a logged-in mobile of a new account.
type phone struct {
	*client.Mobile
	name string // the account's display name
}

var accounts struct {
	sync.Mutex
	n int
}

// mustPhone registers an account on the server at base and logs a phone in.
func mustPhone(t testing.TB, base string) phone {
	t.Helper()
	accounts.Lock()
	accounts.n++
	i := accounts.n
	accounts.Unlock()
	ctx := context.Background()
	c := client.New(base)
	user := fmt.Sprintf("alice%d", i)
	const pass = "correct horse battery staple"
	if _, err := c.Register(ctx, api.RegisterRequest{Username: user, Password: pass, DisplayName: "Alice"}); err != nil {
		t.Fatalf("register: %v", err)
	}
	r, err := c.MobileLogin(ctx, api.MobileLoginRequest{Username: user, Password: pass,
		Device: api.MobileDevice{ID: fmt.Sprintf("phone-%d-0123456789abcdef", i), Name: "Test phone", Platform: "test"}})
	if err != nil {
		t.Fatalf("mobile login: %v", err)
	}
	return phone{Mobile: c.Mobile(r.DeviceToken, r.DeviceID), name: "Alice"}
}

// approve scans payload and confirms it, with the match code if asked.
func (p phone) approve(t testing.TB, payload, matchCode string) {
	t.Helper()
	ctx := context.Background()
	s, err := p.Scan(ctx, payload)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	yes := true
	req := api.ConfirmRequest{ScanToken: s.ScanToken, Approve: &yes}
	if s.MatchRequired {
		req.MatchCode = matchCode
	}
	if st, err := p.Confirm(ctx, req); err != nil || st != server.StateConfirmed {
		t.Fatalf("confirm: %q, %v", st, err)
	}
}

// recorder collects the views a controller emits.
type recorder struct {
	mu    sync.Mutex
	views []View
}

func (r *recorder) emit(event string, data ...any) {
	if event != EventView || len(data) != 1 {
		panic(fmt.Sprintf("unexpected event %q with %d arguments", event, len(data)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.views = append(r.views, data[0].(View))
}

// states returns the states emitted, without repeats of the same state.
func (r *recorder) states() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, v := range r.views {
		if len(out) == 0 || out[len(out)-1] != v.State {
			out = append(out, v.State)
		}
	}
	return out
}

// fixture is a controller on a real server, with a phone of its own.
type fixture struct {
	node  *node.Node
	store Vault
	rec   *recorder
	ctrl  *Controller
	phone phone
}

// newFixture starts a server with cfg and a controller on it that keeps its
// session in a file of a temporary folder.
func newFixture(t *testing.T, cfg node.Config) *fixture {
	t.Helper()
	n := mustStartNode(t, cfg)
	f := &fixture{node: n, store: FileVault{Path: filepath.Join(t.TempDir(), "session.json")}}
	f.phone = mustPhone(t, n.URL())
	f.start(t)
	return f
}

// start starts a new controller on the fixture's server and store.
func (f *fixture) start(t *testing.T) {
	t.Helper()
	f.rec = &recorder{}
	f.ctrl = newTestController(t, f.node.URL(), f.store, f.rec)
	f.ctrl.Start()
}

func newTestController(t *testing.T, base string, store Vault, rec *recorder, opts ...client.Option) *Controller {
	c := NewController(Config{
		Client: client.New(base, append([]client.Option{client.WithOutageLimit(OutageLimit)}, opts...)...), Server: ServerInfo{Mode: ModeRemote, URL: base}, Vault: store,
		Device: api.DesktopDevice{Name: "test-desktop", OS: "Linux", App: "qrlogin desktop test"},
		Emit:   rec.emit, Log: testLog(t), Reconnect: 50 * time.Millisecond, Retry: time.Hour,
	})
	t.Cleanup(c.Close)
	return c
}

// waitView waits until the controller shows state and ok (if not nil)
// holds for the view, and returns it.
func waitView(t *testing.T, c *Controller, state string, ok func(View) bool) View {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := c.View()
		if v.State == state && (ok == nil || ok(v)) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view is %q (%q), want %q", v.State, v.Message, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSessionSocket waits until the server at base reports a session
// WebSocket open (its qrlogin_sockets_open metric).
func waitSessionSocket(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `qrlogin_sockets_open{kind="session_ws"} 1`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session socket open after 10 s (%v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
