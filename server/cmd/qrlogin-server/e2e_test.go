package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// binary is the command built once for these tests.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qrlogin-server-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "qrlogin-server")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: out, err: err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	out []byte
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }

// proc is the real command running.
type proc struct {
	cmd    *exec.Cmd
	url    string // the public base URL
	addr   string // where it listens
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

var listening = regexp.MustCompile(`msg=listening url=(\S+) addr=(\S+)`)

// startServer starts the command with args on a free loopback port and the database
// db, and waits for it to listen.
func startServer(t *testing.T, db string, args ...string) *proc {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-db", db, "-log-level", "debug"}, args...)
	p := &proc{cmd: exec.Command(binary(t), args...), exited: make(chan struct{})}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan []string, 1)
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1:]
			}
		}
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	select {
	case m := <-urls:
		p.url, p.addr = m[0], m[1]
	case <-p.exited:
		t.Fatalf("server exited: %s", p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not listen: %s", p.log())
	}
	return p
}

const (
	ttl       = 2 * time.Second
	withinTTL = 3 * time.Second
)

// TestEndToEnd walks the whole flow against the real command over real
// HTTP and WebSockets, with -ticket-ttl 2s -rotate-every 1s -rotate-max 4s.
func TestEndToEnd(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "qrlogin.db"), append([]string{"-public-metrics"}, shortTimes...)...)
	walk(t, p.url, p.log)
	// One node's metrics saw the whole walk.
	t.Run("metrics", func(t *testing.T) {
		page := string(protocoltest.New(t, p.url).Do("GET", api.PathMetrics, protocoltest.Auth{}, nil).Body)
		for _, want := range []string{`qrlogin_tickets{state="redeemed"} `, `qrlogin_sockets_open{kind="ticket_ws"} `, "qrlogin_scan_to_push_seconds_count ", `qrlogin_http_requests_total{code="200",route="POST /api/v1/mobile/scan"}`} {
			if !strings.Contains(page, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if strings.Contains(page, "qrlogin_scan_to_push_seconds_count 0\n") {
			t.Error("no scan-to-push latency was observed")
		}
	})
}

// shortTimes are the flags of the end-to-end walks.
var shortTimes = []string{"-ticket-ttl", "2s", "-rotate-every", "1s", "-rotate-max", "4s", "-match", "never"}

// walk drives the whole protocol against the server at base; log returns
// what the server has logged so far.
func walk(t *testing.T, base string, log func() string) {
	c := protocoltest.New(t, base)
	protocoltest.Want(t, c.Do("GET", api.PathHealth, protocoltest.Auth{}, nil), http.StatusOK, "")
	alice := c.NewPhone("Alice")
	var secrets []string

	t.Run("login over WebSocket", func(t *testing.T) {
		c := protocoltest.New(t, base)
		tk := c.NewTicket()
		ws, _ := c.Dial(events(tk.Ref), tk.Secret(), "")
		ws.Expect("state", "pending", withinTTL)
		var sr api.ScanResponse
		c.Scan(alice, tk.QRPayload).JSON(t, &sr)
		ws.Expect("state", "scanned", withinTTL)
		protocoltest.Want(t, c.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
		ws.Expect("state", "confirmed", withinTTL)
		var rr api.RedeemResponse
		c.Redeem(tk.Ref, tk.Secret()).JSON(t, &rr)
		ws.Expect("state", "redeemed", withinTTL)
		if code := ws.Closed(withinTTL); code != websocket.StatusNormalClosure {
			t.Fatalf("socket after redeem: %d", code)
		}
		var me api.UserBody
		c.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}, nil).JSON(t, &me)
		if me.User.ID != alice.User.ID {
			t.Fatalf("me = %+v", me.User)
		}
		secrets = append(secrets, tk.PollSecret, sr.ScanToken, rr.SessionToken, alice.Bearer)
	})

	t.Run("100 concurrent scans of one ticket", func(t *testing.T) {
		c := protocoltest.New(t, base)
		phones := make([]protocoltest.Phone, 100)
		for i := range phones {
			phones[i] = c.NewPhone("Racer")
		}
		tk := c.NewTicket()
		var wg sync.WaitGroup
		statuses := make([]int, len(phones))
		for i := range phones {
			wg.Go(func() { ; statuses[i] = c.Scan(phones[i], tk.QRPayload).Status })
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != 99 {
			t.Fatalf("statuses: %v, want one 200 and 99 409", counts)
		}
	})

	t.Run("long-poll", func(t *testing.T) {
		c := protocoltest.New(t, base)
		tk := c.NewTicket()
		r := c.Do("GET", wait(tk.Ref, ""), tk.Secret(), nil)
		if m := r.Map(); m["state"] != "pending" || m["qr_payload"] != tk.QRPayload {
			t.Fatalf("first long-poll: %s", r.Body)
		}
		got := make(chan protocoltest.Resp, 1)
		go func() { got <- c.Do("GET", wait(tk.Ref, "?after=pending&qr="+tk.Ref), tk.Secret(), nil) }()
		time.Sleep(100 * time.Millisecond) // let the poll be held
		var sr api.ScanResponse
		r = c.Scan(alice, tk.QRPayload)
		protocoltest.Want(t, r, http.StatusOK, "")
		r.JSON(t, &sr)
		select {
		case r := <-got:
			if m := r.Map(); m["state"] != "scanned" || m["user"] == nil {
				t.Fatalf("held long-poll answered %s", r.Body)
			}
		case <-time.After(withinTTL):
			t.Fatal("the held long-poll was not woken by the scan")
		}
		go func() { got <- c.Do("GET", wait(tk.Ref, "?after=scanned"), tk.Secret(), nil) }()
		time.Sleep(100 * time.Millisecond)
		protocoltest.Want(t, c.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
		if r := <-got; r.Map()["state"] != "confirmed" {
			t.Fatalf("long-poll after confirm: %s", r.Body)
		}
		protocoltest.Want(t, c.Redeem(tk.Ref, tk.Secret()), http.StatusOK, "")
	})

	t.Run("rotation and expiry", func(t *testing.T) {
		c := protocoltest.New(t, base)
		tk := c.NewTicket()
		ws, _ := c.Dial(events(tk.Ref), tk.Secret(), "")
		ws.Expect("state", "pending", withinTTL)
		rot := ws.Expect("rotated", "", withinTTL)
		protocoltest.Want(t, c.Scan(alice, tk.QRPayload), http.StatusGone, "expired")
		// A long-poll that shows the old QR is answered at once with the new.
		r := c.Do("GET", wait(tk.Ref, "?after=pending&qr="+tk.Ref), tk.Secret(), nil)
		if m := r.Map(); m["ref"] == tk.Ref || m["qr_payload"] == nil {
			t.Fatalf("long-poll with the old QR: %s (rotated to %v)", r.Body, rot["ref"])
		}
		ws.Expect("state", "expired", 5*time.Second)
		if code := ws.Closed(withinTTL); code != websocket.StatusNormalClosure {
			t.Fatalf("socket after rotate-max: %d", code)
		}
		protocoltest.Want(t, c.Scan(alice, r.Map()["qr_payload"].(string)), http.StatusGone, "expired")
	})

	t.Run("deny and cancel", func(t *testing.T) {
		c := protocoltest.New(t, base)
		tk := c.NewTicket()
		ws, _ := c.Dial(events(tk.Ref), tk.Secret(), "")
		ws.Expect("state", "pending", withinTTL)
		var sr api.ScanResponse
		c.Scan(alice, tk.QRPayload).JSON(t, &sr)
		ws.Expect("state", "scanned", withinTTL)
		protocoltest.Want(t, c.Confirm(alice, sr.ScanToken, false, ""), http.StatusOK, "")
		ws.Expect("state", "denied", withinTTL)
		protocoltest.Want(t, c.Redeem(tk.Ref, tk.Secret()), http.StatusConflict, "conflict")

		tk = c.NewTicket()
		ws, _ = c.Dial(events(tk.Ref), tk.Secret(), "")
		ws.Expect("state", "pending", withinTTL)
		protocoltest.Want(t, c.Do("POST", api.PathTickets+"/"+tk.Ref+"/cancel", tk.Secret(), nil), http.StatusOK, "")
		ws.Expect("state", "cancelled", withinTTL)
	})

	t.Run("remote revoke and mobile logout", func(t *testing.T) {
		c := protocoltest.New(t, base)
		bob := c.NewPhone("Bob")
		rr := c.SignIn(bob, c.NewTicket())
		sws, _ := c.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: rr.SessionToken}, "")
		var list api.SessionsBody
		c.Do("GET", api.PathMobileSessions, bob.Auth, nil).JSON(t, &list)
		if len(list.Sessions) != 1 {
			t.Fatalf("sessions: %+v", list)
		}
		c.Do("DELETE", api.PathMobileSessions+"/"+list.Sessions[0].ID, bob.Auth, nil)
		sws.Expect(api.EventRevoked, "", time.Second)
		protocoltest.Want(t, c.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}, nil), http.StatusUnauthorized, "unauthorized")

		rr = c.SignIn(bob, c.NewTicket())
		sws, _ = c.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: rr.SessionToken}, "")
		c.Do("POST", api.PathMobileLogout, bob.Auth, nil)
		sws.Expect(api.EventRevoked, "", time.Second)
		protocoltest.Want(t, c.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}, nil), http.StatusUnauthorized, "unauthorized")
	})

	t.Run("no secret in the log", func(t *testing.T) {
		log := log()
		if !strings.Contains(log, "desktop signed in") {
			t.Fatalf("the log is not being read: %s", log)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Fatalf("a secret is in the log: %s…", s[:6])
			}
		}
		if strings.Contains(log, "correct horse") {
			t.Fatal("a password is in the log")
		}
	})
}

// TestCrashAfterConfirm kills the server with SIGKILL between confirm and
// redeem, starts it again on the same file, and redeems: nothing it
// answered is lost.
func TestCrashAfterConfirm(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	p := startServer(t, db, "-match", "never")
	c := protocoltest.New(t, p.url)
	alice := c.NewPhone("Alice")
	tk := c.NewTicket()
	var sr api.ScanResponse
	c.Scan(alice, tk.QRPayload).JSON(t, &sr)
	protocoltest.Want(t, c.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited

	p = startServer(t, db, "-match", "never")
	c = protocoltest.New(t, p.url)
	var rr api.RedeemResponse
	r := c.Redeem(tk.Ref, tk.Secret())
	protocoltest.Want(t, r, http.StatusOK, "")
	r.JSON(t, &rr)
	protocoltest.Want(t, c.Redeem(tk.Ref, tk.Secret()), http.StatusGone, "expired")
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited

	p = startServer(t, db, "-match", "never")
	c = protocoltest.New(t, p.url)
	protocoltest.Want(t, c.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}, nil), http.StatusOK, "")
	protocoltest.Want(t, c.Redeem(tk.Ref, tk.Secret()), http.StatusGone, "expired")
}

// TestGracefulShutdown sends SIGTERM with a desktop watching: the socket is
// told and closed, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	c := protocoltest.New(t, p.url)
	tk := c.NewTicket()
	ws, _ := c.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", withinTTL)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := ws.Closed(5 * time.Second); code != websocket.StatusGoingAway {
		t.Fatalf("socket on shutdown: close %d, want 1001 going away", code)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d: %s", code, p.log())
	}
}

func events(ref string) string { return api.PathTickets + "/" + ref + "/events" }

func wait(ref, q string) string { return api.PathTickets + "/" + ref + "/wait" + q }
