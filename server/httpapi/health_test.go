//go:build linux

package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// failWrites makes every write of this process to a regular file fail
// (RLIMIT_FSIZE 0: EFBIG, which binds root too; Go ignores SIGXFSZ), as a
// full or failing disk does, until the returned func is called.
func failWrites(t *testing.T) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

// /healthz answers 503, saying why, while the database takes no writes,
// and 200 again once it does; between its write probes (one every few
// seconds of the server's clock, however many ask) it repeats the last
// probe's outcome.
func TestHealthReportsFailingWrites(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := start(t, func(c *node.Config) { c.Now = clk.Now })
	health := func(want int) string {
		t.Helper()
		r := h.Do("GET", api.PathHealth, protocoltest.Auth{}, nil)
		var body api.Health
		r.JSON(t, &body)
		if r.Status != want {
			t.Fatalf("/healthz: %d %s, want %d", r.Status, r.Body, want)
		}
		return body.Status
	}
	health(http.StatusOK)

	restore := failWrites(t)
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{}), http.StatusInternalServerError, "internal")
	health(http.StatusOK) // the probe of a moment ago
	clk.Add(time.Minute)
	if why := health(http.StatusServiceUnavailable); !strings.Contains(why, "writes") {
		t.Fatalf("/healthz says %q, which does not say that writes fail", why)
	}
	restore()

	health(http.StatusServiceUnavailable) // until the next probe
	clk.Add(time.Minute)
	health(http.StatusOK)
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{}), http.StatusCreated, "")
}

// A server refuses to start on a damaged database file, and says which.
func TestStartRefusesDamagedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	h := start(t, func(c *node.Config) { c.DBPath = path })
	h.NewPhone("Alice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", page)), fi.Size()/2/page*page); err != nil {
		t.Fatal(err)
	}
	f.Close()

	n, err := node.Start(context.Background(), node.Config{Addr: "127.0.0.1:0", DBPath: path, Password: cheap})
	if err == nil {
		n.Shutdown(ctx)
		t.Fatal("a server started on a damaged database")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("the error does not name the file: %v", err)
	}
}
