package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read the peak RSS from: %v", err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// Issue 10, item 1: 150 concurrent registrations from one address, each an
// argon2id hash of 19 MiB at the default costs, took the server from 41 MB
// to 2.9 GB. The hashes in flight are bounded for the whole server; the
// rest wait briefly, then get 429 with Retry-After. This measures the
// command's peak RSS (a memory figure, not a time): it must stay under
// 512 MiB, and /healthz from elsewhere is answered during the burst.
func TestRegistrationBurstBoundsMemory(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	c := protocoltest.New(t, p.url)
	const n = 150
	var mu sync.Mutex
	statuses := map[int]int{}
	retryAfter := true
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := c.Do("POST", api.PathAccounts, protocoltest.Auth{}, api.RegisterRequest{
				Username: fmt.Sprintf("burst%d", i), Password: "correct horse battery",
			})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
				retryAfter = false
			}
		})
	}
	// Another client asks for /healthz meanwhile; how long it took is
	// logged, not judged (the machine is shared).
	health := protocoltest.New(t, p.url)
	var slowest time.Duration
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		default:
			start := time.Now()
			protocoltest.Want(t, health.Do("GET", api.PathHealth, protocoltest.Auth{}, nil), http.StatusOK, "")
			slowest = max(slowest, time.Since(start))
			time.Sleep(50 * time.Millisecond)
		}
	}
	peak := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("%d concurrent registrations: %v; peak RSS %d MiB; slowest /healthz meanwhile %v", n, statuses, peak>>20, slowest)
	if statuses[http.StatusCreated] == 0 {
		t.Fatalf("no registration succeeded: %v", statuses)
	}
	if statuses[http.StatusCreated]+statuses[http.StatusTooManyRequests] != n {
		t.Fatalf("statuses %v, want only 201 and 429", statuses)
	}
	if !retryAfter {
		t.Error("a 429 without Retry-After")
	}
	if peak > 512<<20 {
		t.Fatalf("peak RSS %d MiB under the burst, want under 512 MiB", peak>>20)
	}
}
