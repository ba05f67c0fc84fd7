package desktop

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/node"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openDesktop opens a Desktop on data folder dir, closed at the end.
func openDesktop(t *testing.T, dir, server string, log *syncBuffer) *Desktop {
	t.Helper()
	d, err := Open(Options{
		DataDir: dir, ServerURL: server, Log: slog.New(slog.NewTextHandler(log, nil)),
		Node: node.Config{Password: cheap}, Reconnect: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func waitDesktop(t *testing.T, d *Desktop, state string) View {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := d.View()
		if v.State == state {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view is %q (%q), want %q", v.State, v.Message, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var usingServer = regexp.MustCompile(`server=(http://127\.0\.0\.1:\d+) mode=embedded`)

// The embedded server keeps its database in the data folder, so that a
// session survives a restart even though the port changes; the server in use
// is logged as the e2e test and a person read it.
func TestEmbeddedSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	var log syncBuffer
	d := openDesktop(t, dir, "", &log)
	m := usingServer.FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no server=URL mode=embedded in the log:\n%s", log.String())
	}
	v := waitDesktop(t, d, ViewPending)
	if v.Server != (ServerInfo{Mode: ModeEmbedded, URL: m[1]}) {
		t.Errorf("server = %+v, logged %s", v.Server, m[1])
	}
	if _, err := os.Stat(filepath.Join(dir, "qrlogin.db")); err != nil {
		t.Errorf("embedded database: %v", err)
	}
	mustPhone(t, m[1]).approve(t, v.QR.Payload, "")
	waitDesktop(t, d, ViewSignedIn)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	d = openDesktop(t, dir, "", &syncBuffer{})
	if v := waitDesktop(t, d, ViewSignedIn); v.Server.URL == m[1] || v.Session.DisplayName != "Alice" {
		t.Errorf("after restart: %+v on %+v", v.Session, v.Server)
	}
}

// The window's server setting switches between a remote server and the
// embedded one, and is kept; --server overrides it for one run.
func TestUseServer(t *testing.T) {
	dir := t.TempDir()
	remote := mustStartNode(t, node.Config{})
	d := openDesktop(t, dir, "", &syncBuffer{})
	waitDesktop(t, d, ViewPending)

	if err := d.UseServer("ftp://nowhere"); err == nil {
		t.Error("a non-http server address was accepted")
	}
	if err := d.UseServer(remote.URL() + "/"); err != nil {
		t.Fatal(err)
	}
	v := waitDesktop(t, d, ViewPending)
	if v.Server != (ServerInfo{Mode: ModeRemote, URL: remote.URL()}) {
		t.Errorf("server = %+v", v.Server)
	}
	if s, err := LoadSettings(dir); err != nil || s.ServerURL != remote.URL() {
		t.Errorf("settings = %+v, %v", s, err)
	}
	d.Close(context.Background())

	d = openDesktop(t, dir, "", &syncBuffer{})
	if v := waitDesktop(t, d, ViewPending); v.Server.URL != remote.URL() {
		t.Errorf("after restart, server = %+v, want the chosen %s", v.Server, remote.URL())
	}
	if err := d.UseServer(""); err != nil {
		t.Fatal(err)
	}
	if v := waitDesktop(t, d, ViewPending); v.Server.Mode != ModeEmbedded {
		t.Errorf("server = %+v, want embedded", v.Server)
	}
	d.Close(context.Background())

	d = openDesktop(t, dir, remote.URL(), &syncBuffer{})
	if v := waitDesktop(t, d, ViewPending); v.Server.URL != remote.URL() {
		t.Errorf("with --server, server = %+v", v.Server)
	}
	if s, _ := LoadSettings(dir); s.ServerURL != "" {
		t.Errorf("--server changed the settings: %+v", s)
	}
}

// An embedded server that cannot start shows an error, and the retry starts
// it once the cause is gone.
func TestEmbeddedServerFails(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "qrlogin.db")
	if err := os.Mkdir(db, 0o700); err != nil { // a folder where the database file goes
		t.Fatal(err)
	}
	d := openDesktop(t, dir, "", &syncBuffer{})
	if v := waitDesktop(t, d, ViewError); v.Message == "" || v.Server.Mode != ModeEmbedded {
		t.Errorf("view = %+v", v)
	}
	os.Remove(db)
	d.Refresh()
	waitDesktop(t, d, ViewPending)
}

// A closed Desktop stays closed: no call starts a server again.
func TestClosedDesktop(t *testing.T) {
	d := openDesktop(t, t.TempDir(), "", &syncBuffer{})
	waitDesktop(t, d, ViewPending)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Refresh()
	d.Cancel()
	d.Logout()
	if err := d.UseServer(""); err != nil {
		t.Error(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if v := d.View(); v.State != ViewLoading || d.node != nil || d.ctrl != nil {
		t.Errorf("after Close: view %q, node %v, controller %v", v.State, d.node, d.ctrl)
	}
}

func TestNormalizeServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":      "http://127.0.0.1:8080",
		" https://login.example/ ":   "https://login.example",
		"https://login.example/app/": "https://login.example/app",
		"login.example":              "",
		"ftp://login.example":        "",
		"https://u:p@login.example":  "",
		"https://login.example/?x=1": "",
		"http://":                    "",
	} {
		got, err := NormalizeServerURL(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeServerURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
