package node

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With MetricsAddr, /metrics is served there and not on the public
// listener; without it, nowhere unless PublicMetrics asks for it.
func TestMetricsAddr(t *testing.T) {
	dir := t.TempDir()
	n, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "a.db"), MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, n.URL()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", code)
	}
	private := "http://" + n.MetricsAddr().String() + "/metrics"
	if code, body := get(t, private); code != http.StatusOK || !strings.Contains(body, "qrlogin_scan_to_push_seconds") {
		t.Errorf("private /metrics: %d %.80q", code, body)
	}
	if code, _ := get(t, n.URL()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(private); err == nil {
		resp.Body.Close()
		t.Error("the metrics listener still answers after Shutdown")
	}

	m, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	if m.MetricsAddr() != nil {
		t.Errorf("MetricsAddr = %v without one configured", m.MetricsAddr())
	}
	if code, _ := get(t, m.URL()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics by default: %d, want 404 (only when asked)", code)
	}

	p, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "c.db"), PublicMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	if code, body := get(t, p.URL()+"/metrics"); code != http.StatusOK || !strings.Contains(body, "qrlogin_scan_to_push_seconds") {
		t.Errorf("public /metrics with PublicMetrics: %d", code)
	}
}

// A metrics address that cannot be bound fails Start and leaves the public
// address free.
func TestMetricsAddrTaken(t *testing.T) {
	dir := t.TempDir()
	a, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer a.Shutdown(ctx)
	taken := a.Addr().String()
	if _, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "b.db"), MetricsAddr: taken}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("Start with a taken metrics address: %v, want a metrics listener error", err)
	}
	// The store was closed: it opens again.
	b, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	b.Shutdown(ctx)
}
