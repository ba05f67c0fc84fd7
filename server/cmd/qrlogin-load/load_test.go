package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real server, built once for these tests.
var (
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if serverBin != "" {
		os.RemoveAll(filepath.Dir(serverBin))
	}
	os.Exit(code)
}

func buildServer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qrlogin-load-test")
		if err != nil {
			buildErr = err
			return
		}
		serverBin = filepath.Join(dir, "qrlogin-server")
		// Built in the product's own module, with its go.mod, not this
		// tool's: the server is measured as it ships.
		cmd := exec.Command("go", "build", "-o", serverBin, "./server/cmd/qrlogin-server")
		cmd.Dir = filepath.Join("..", "..", "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build qrlogin-server: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return serverBin
}

var listening = regexp.MustCompile(`msg=listening url=(\S+)`)

// startServer runs the real server on a free loopback port with args and
// returns its URL and pid; it is stopped when the test ends.
func startServer(t *testing.T, args ...string) (url string, pid int) {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "load.db")}, args...)
	cmd := exec.Command(buildServer(t), args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log bytes.Buffer
	found := make(chan string, 1)
	go func() { // keeps reading, so the server never blocks on its log
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("server log:\n%s", log.String())
			mu.Unlock()
		}
	})
	select {
	case url = <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not log msg=listening within 20s")
	}
	return url, cmd.Process.Pid
}

// The smoke test: a short run against the real server, with rotation and
// expiry short enough that the waiting desktops follow rotated events and
// renew expired tickets during it (the idle window and the logins take
// them past -rotate-max).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real server")
	}
	url, pid := startServer(t, "-no-rate-limits", "-match", "never",
		"-ticket-ttl", "2s", "-rotate-every", "1s", "-rotate-max", "4s")
	const (
		waiting  = 50
		rate     = 20
		duration = 3 * time.Second
	)
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Server: url, Waiting: waiting, Rate: rate, Duration: duration, LongPoll: 0.3,
		Phones: 8, ServerPID: pid, Idle: 1500 * time.Millisecond, Progress: time.Second, Log: &syncWriter{w: &log},
	})
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report: %s", js)
	if rep.Errors != 0 {
		t.Errorf("errors = %d %v, want 0", rep.Errors, rep.ErrorsByKind)
	}
	want := rate * duration.Seconds()
	if math.Abs(float64(rep.Logins)-want) > 0.3*want {
		t.Errorf("logins = %d, want %.0f ± 30%%", rep.Logins, want)
	}
	if rep.Waiting != waiting || rep.WaitingTarget != waiting {
		t.Errorf("waiting = %d of %d, want %d", rep.Waiting, rep.WaitingTarget, waiting)
	}
	if rep.WaitingLongPoll != 15 {
		t.Errorf("waiting by long-poll = %d, want 15 (30%% of 50)", rep.WaitingLongPoll)
	}
	if rep.Rotations == 0 || rep.Renewals == 0 {
		t.Errorf("rotations = %d, renewals = %d: want both > 0 with -rotate-every 1s -rotate-max 4s", rep.Rotations, rep.Renewals)
	}
	for name, s := range map[string]Summary{
		"push": rep.PushLatency, "scan_push": rep.ScanPushLatency, "push_ws": rep.PushLatencyWS,
		"push_longpoll": rep.PushLatencyLP, "login": rep.LoginLatency,
	} {
		if s.N == 0 || s.P50 <= 0 || s.P95 < s.P50 || s.P99 < s.P95 || s.Max < s.P99 {
			t.Errorf("%s latency = %+v, want n > 0 and 0 < p50 <= p95 <= p99 <= max", name, s)
		}
	}
	if rep.LoginsPerS <= 0 {
		t.Errorf("logins_per_s = %v", rep.LoginsPerS)
	}
	for name, v := range map[string]*float64{
		"server_peak_rss_mib": rep.ServerPeakRSSMiB, "server_rss_mib": rep.ServerRSSMiB,
		"server_cpu_s": rep.ServerCPUSeconds, "server_cpu_percent": rep.ServerCPUPercent,
	} {
		if v == nil || *v <= 0 {
			t.Errorf("%s missing or not > 0", name)
		}
	}
	// 50 idle sockets for 1.5 s may well take less than one 10 ms clock
	// tick of CPU: 0 is a measurement.
	if v := rep.IdleCPUPercent; v == nil || *v < 0 {
		t.Errorf("idle_cpu_percent missing or negative")
	}
}

// A server that logs nothing the tool's way is no reason to hang: an
// unreachable one is an error at once, and so is one off loopback.
func TestRunRefuses(t *testing.T) {
	limit, err := fileLimit()
	if err != nil {
		limit = 0 // no limit to pass off Unix: that case is skipped
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"remote", Config{Server: "http://192.0.2.1:8080", Rate: 1}, "not a loopback address"},
		{"remote name", Config{Server: "http://example.com", Waiting: 1}, "not a loopback address"},
		{"nothing to do", Config{Server: "http://127.0.0.1:1"}, "nothing to do"},
		{"bad share", Config{Server: "http://127.0.0.1:1", Rate: 1, LongPoll: 1.5}, "-longpoll"},
		{"past the fd limit", Config{Server: "http://127.0.0.1:1", Waiting: limit}, "file descriptors"},
		{"unreachable", Config{Server: "http://127.0.0.1:1", Waiting: 1, RequestTimeout: 2 * time.Second}, "not answering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "file descriptors" && limit == 0 {
				t.Skip("no RLIMIT_NOFILE here")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Run(ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-server", "http://10.1.2.3:80", "-rate", "1"}, &out, &errb); code != 1 {
		t.Errorf("remote target: exit %d, want 1 (%s)", code, errb.String())
	}
	if !strings.Contains(errb.String(), "-allow-remote") {
		t.Errorf("stderr %q does not say how to override", errb.String())
	}
	if code := run([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing without a report", out.String())
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url        string
		remote     bool
		ok, v4loop bool
	}{
		{"http://127.0.0.1:8080", false, true, true},
		{"http://127.9.8.7:8080/", false, true, true},
		{"http://localhost:8080", false, true, true},
		{"http://LOCALHOST:8080", false, true, true},
		{"http://[::1]:8080", false, true, false},
		{"https://127.0.0.1", false, true, true},
		{"http://10.0.0.1:8080", false, false, false},
		{"http://localhost.example.com", false, false, false},
		{"http://128.0.0.1", false, false, false},
		{"http://[::2]:80", false, false, false},
		{"http://10.0.0.1:8080", true, true, false},
		{"ftp://127.0.0.1", false, false, false},
		{"127.0.0.1:8080", false, false, false},
	} {
		_, v4, err := checkTarget(tc.url, tc.remote)
		if (err == nil) != tc.ok || (err == nil && v4 != tc.v4loop) {
			t.Errorf("checkTarget(%q, %v) = v4loop %v, err %v; want ok %v, v4loop %v", tc.url, tc.remote, v4, err, tc.ok, tc.v4loop)
		}
	}
}

func TestSourceAddrs(t *testing.T) {
	got, err := sourceAddrs("127.0.0.253", 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.253", "127.0.0.254", "127.0.1.1", "127.0.1.2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sourceAddrs = %v, want %v (skipping .255 and .0)", got, want)
	}
	for _, bad := range []string{"10.0.0.1", "::1", "nonsense"} {
		if _, err := sourceAddrs(bad, 1); err == nil {
			t.Errorf("sourceAddrs(%q) accepted a non-127/8 address", bad)
		}
	}
	if _, err := sourceAddrs("127.255.255.254", 2); err == nil {
		t.Error("sourceAddrs ran past 127.255.255.254")
	}
}

func TestLongPollSlot(t *testing.T) {
	for _, share := range []float64{0, 0.1, 0.3, 0.5, 0.77, 1} {
		for _, n := range []int{10, 50, 1000} {
			got := 0
			for i := range n {
				if longPollSlot(i, share) {
					got++
				}
			}
			if want := int(float64(n) * share); got != want {
				t.Errorf("share %v of %d: %d long-poll, want %d", share, n, got, want)
			}
		}
	}
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
