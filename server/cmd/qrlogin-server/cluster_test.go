package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/internal/tcpfault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// randomProxy sends each request (WebSocket upgrades included) to a random
// live node, like a load balancer without sticky sessions. It remembers
// which node took each upgrade.
type randomProxy struct {
	mu       sync.Mutex
	nodes    []*url.URL
	upgrades map[string]*url.URL // request path -> node
	nextWait *url.URL            // where the next long-poll goes, once, if set
}

func (p *randomProxy) pick(path string) *url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nextWait != nil && strings.HasSuffix(path, "/wait") {
		to := p.nextWait
		p.nextWait = nil
		return to
	}
	return p.nodes[rand.N(len(p.nodes))]
}

func (p *randomProxy) remove(u *url.URL) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, n := range p.nodes {
		if n == u {
			p.nodes = append(p.nodes[:i], p.nodes[i+1:]...)
			return
		}
	}
}

func (p *randomProxy) handler() http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		to := p.pick(r.In.URL.Path)
		if r.In.Header.Get("Upgrade") != "" {
			p.mu.Lock()
			p.upgrades[r.In.URL.Path] = to
			p.mu.Unlock()
		}
		r.SetURL(to)
		r.Out.Host = r.In.Host // the nodes see the public host, as behind nginx
		r.SetXForwarded()
	}}
}

// cluster starts n server processes on one fresh PostgreSQL database behind a
// random proxy whose URL is their public base URL.
func cluster(t *testing.T, n int) (*randomProxy, string, []*proc) {
	t.Helper()
	dsn := pgtest.Start(t)
	rp := &randomProxy{upgrades: map[string]*url.URL{}}
	front := httptest.NewServer(rp.handler())
	t.Cleanup(front.Close)
	procs := make([]*proc, n)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() { // started at once: migrations must cope
			procs[i] = startServer(t, dsn, append([]string{"-base-url", front.URL}, shortTimes...)...)
		})
	}
	wg.Wait()
	for _, p := range procs {
		rp.nodes = append(rp.nodes, &url.URL{Scheme: "http", Host: p.addr})
	}
	return rp, front.URL, procs
}

// TestClusterOfThreeNodes walks the whole protocol against three nodes on
// one PostgreSQL database, each request to a random node: a scan on one node
// reaches the desktop whose socket is on another.
func TestClusterOfThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	_, base, procs := cluster(t, 3)
	walk(t, base, func() string {
		var b strings.Builder
		for _, p := range procs {
			b.WriteString(p.log())
		}
		return b.String()
	})
}

// TestClusterNodeDiesMidFlow kills, with SIGKILL, the node that holds the
// desktop's WebSocket after the scan; the desktop's client carries on through
// another node (long-poll) and the login completes. The balancer sends the
// client's first long-poll to the dead node, as one does before its health
// check notices, so the client must ride out the 502.
func TestClusterNodeDiesMidFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	rp, base, procs := cluster(t, 3)
	c := protocoltest.New(t, base)
	alice := c.NewPhone("Alice")
	desk := client.New(base)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tk, err := desk.CreateTicket(ctx, api.DesktopDevice{Name: "PC"})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan api.TicketEvent, 64)
	watchErr := make(chan error, 1)
	go func() { watchErr <- desk.Watch(ctx, tk.Ref, tk.PollSecret, func(ev api.TicketEvent) { events <- ev }) }()
	next := func(state server.State) {
		t.Helper()
		ended := watchErr
		for {
			select {
			case ev := <-events:
				if ev.Type == api.EventState && ev.State == state {
					return
				}
				if ev.Type == api.EventState && ev.State != server.StatePending {
					t.Fatalf("waiting for %s, got %+v", state, ev)
				}
			case err := <-ended:
				if err != nil {
					t.Fatalf("waiting for %s, Watch ended: %v", state, err)
				}
				// Watch ended after a final event, which is in events.
				watchErr <- nil
				ended = nil
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s event", state)
			}
		}
	}
	next(server.StatePending)

	var sr api.ScanResponse
	c.Scan(alice, tk.QRPayload).JSON(t, &sr)
	next(server.StateScanned)

	// Kill the node that holds the desktop's socket.
	rp.mu.Lock()
	holder := rp.upgrades[api.PathTickets+"/"+tk.Ref+"/events"]
	rp.nextWait = holder
	rp.mu.Unlock()
	if holder == nil {
		t.Fatal("the desktop's socket went to no node")
	}
	for _, p := range procs {
		if p.addr == holder.Host {
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	}
	rp.remove(holder)

	protocoltest.Want(t, c.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
	next(server.StateConfirmed)
	rp.mu.Lock()
	if rp.nextWait != nil {
		t.Error("the desktop's client never long-polled after its node died")
	}
	rp.mu.Unlock()
	if err := <-watchErr; err != nil {
		t.Fatalf("watch: %v", err)
	}
	rr, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Me(ctx, rr.SessionToken); err != nil {
		t.Fatal(err)
	}
}

// frontFor is a balancer that sends every request to node p with the
// public host, so that the test chooses the node each client talks to. It
// returns its URL.
func frontFor(t *testing.T, p *proc, host string) string {
	t.Helper()
	to := &url.URL{Scheme: "http", Host: p.addr}
	front := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(to)
		r.Out.Host = host
		r.SetXForwarded()
	}})
	t.Cleanup(front.Close)
	return front.URL
}

// TestClusterResyncAfterDatabaseCut runs two nodes on one database, node A
// through a TCP proxy that the test cuts: every connection of A to
// PostgreSQL, its LISTEN included, is closed, and new ones are refused for
// 3 s. A desktop watches its ticket and its earlier session over WebSockets
// on A; during the cut the phone, on B, confirms the ticket and revokes the
// session, and B's notices of both are lost to A. Once A listens again it
// must read what changed and tell both sockets; the desktop then redeems
// on A.
func TestClusterResyncAfterDatabaseCut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	const host = "qrlogin.test"
	dsn := pgtest.Start(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpfault.Start(t, u.Host)
	u.Host = proxy.Addr()
	args := []string{"-base-url", "http://" + host, "-match", "never"}
	a := startServer(t, u.String(), args...)
	b := startServer(t, dsn, args...)
	frontA := frontFor(t, a, host)
	phone := protocoltest.New(t, frontFor(t, b, host))
	desk := client.New(frontA)
	alice := phone.NewPhone("Alice")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The desktop's session, from an earlier login, and its socket on A,
	// open (and subscribed) once Dial returns.
	earlier := phone.SignIn(alice, phone.NewTicket())
	sessionWS, status := protocoltest.New(t, frontA).Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: earlier.SessionToken}, "")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("session socket: HTTP %d", status)
	}
	var list api.SessionsBody
	phone.Do("GET", api.PathMobileSessions, alice.Auth, nil).JSON(t, &list)
	if len(list.Sessions) != 1 {
		t.Fatalf("sessions: %+v", list)
	}

	// A new ticket, watched on A, scanned on B: A hears B.
	tk, err := desk.CreateTicket(ctx, api.DesktopDevice{Name: "PC"})
	if err != nil {
		t.Fatal(err)
	}
	ticketEvents := make(chan api.TicketEvent, 64)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- desk.Watch(ctx, tk.Ref, tk.PollSecret, func(ev api.TicketEvent) { ticketEvents <- ev })
	}()
	// next waits up to 15 s from now for the state event state, skipping
	// rotated events and repeats of earlier states; after names the moment
	// it waits from, for the error.
	next := func(state server.State, after string) error {
		ended := watchErr
		deadline := time.After(15 * time.Second)
		for {
			select {
			case ev := <-ticketEvents:
				switch {
				case ev.Type != api.EventState:
				case ev.State == state:
					return nil
				case ev.State != server.StatePending && ev.State != server.StateScanned:
					return fmt.Errorf("waiting for %s, the desktop heard %+v", state, ev)
				}
			case err := <-ended:
				if err != nil {
					return fmt.Errorf("waiting for %s, Watch ended: %v", state, err)
				}
				// Watch ended after a final event, which is in ticketEvents.
				watchErr <- nil
				ended = nil
			case <-deadline:
				return fmt.Errorf("the desktop did not hear %s within 15 s of %s", state, after)
			}
		}
	}
	if err := next(server.StatePending, "watching"); err != nil {
		t.Fatal(err)
	}
	var sr api.ScanResponse
	phone.Scan(alice, tk.QRPayload).JSON(t, &sr)
	if err := next(server.StateScanned, "the scan"); err != nil {
		t.Fatal(err)
	}

	// Cut A off the database; B confirms and revokes meanwhile.
	cut := time.Now()
	proxy.Cut()
	protocoltest.Want(t, phone.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
	protocoltest.Want(t, phone.Do("DELETE", api.PathMobileSessions+"/"+list.Sessions[0].ID, alice.Auth, nil), http.StatusNoContent, "")
	time.Sleep(3*time.Second - time.Since(cut))
	proxy.Restore()

	if err := next(server.StateConfirmed, "the database coming back"); err != nil {
		t.Error(err)
	}
	if m, err := sessionWS.Next(15 * time.Second); err != nil {
		t.Errorf("the desktop's session socket heard nothing within 15 s of the database coming back: %v", err)
	} else if m["type"] != api.EventRevoked {
		t.Errorf("the desktop's session socket heard %v, want revoked", m)
	}
	if t.Failed() {
		t.Fatalf("node A:\n%s", a.log())
	}
	if err := <-watchErr; err != nil {
		t.Fatalf("watch: %v", err)
	}
	rr, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret)
	if err != nil {
		t.Fatalf("redeem on A after the cut: %v", err)
	}
	if _, err := desk.Me(ctx, rr.SessionToken); err != nil {
		t.Fatal(err)
	}
}
