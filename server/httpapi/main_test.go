package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// cheap makes password hashing fast for tests; the cost is not under test
// here.
var cheap = server.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// clock is a settable time for deadlines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects a node's logs, to check that no secret reaches them.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is a real server on loopback with a real SQLite file.
type harness struct {
	*protocoltest.Client
	node *node.Node
	logs *logBuffer
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// stores are the two databases a node runs on, as start's mod: SQLite
// (the default) and PostgreSQL (pgtest; skipped where it is not
// installed, unless QRLOGIN_REQUIRE_POSTGRES is set).
var stores = []struct {
	name string
	mod  func(t *testing.T) func(*node.Config)
}{
	{"sqlite", func(*testing.T) func(*node.Config) { return nil }},
	{"postgres", func(t *testing.T) func(*node.Config) {
		dsn := pgtest.Start(t)
		return func(c *node.Config) { c.DBPath = dsn }
	}},
}

// onBothStores runs test on a node of each store.
func onBothStores(t *testing.T, test func(t *testing.T, h *harness)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { test(t, start(t, st.mod(t))) })
	}
}

// start runs a node on 127.0.0.1:0 with a temporary database; mod may change
// its configuration first.
func start(t testing.TB, mod func(*node.Config)) *harness {
	t.Helper()
	logs := &logBuffer{}
	cfg := node.Config{
		Addr:     "127.0.0.1:0",
		DBPath:   filepath.Join(t.TempDir(), "qrlogin.db"),
		Match:    "never",
		Password: cheap,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &harness{Client: protocoltest.New(t, n.URL()), node: n, logs: logs}
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

// ticketCounts returns the stored tickets by state.
func (h *harness) ticketCounts() map[server.State]int {
	h.TB.Helper()
	counts, err := h.node.Store().CountTicketsByState(context.Background())
	if err != nil {
		h.TB.Fatal(err)
	}
	return counts
}
