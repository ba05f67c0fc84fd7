package main

import (
	"context"
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

	"qrlogin/server/api"
	"qrlogin/server/client"
	"qrlogin/server/internal/pgtest"
	"qrlogin/server/internal/protocoltest"
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
		wg.Add(1)
		go func() { // started at once: migrations must cope
			defer wg.Done()
			procs[i] = startServer(t, dsn, append([]string{"-base-url", front.URL}, shortTimes...)...)
		}()
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
	next := func(state string) {
		t.Helper()
		ended := watchErr
		for {
			select {
			case ev := <-events:
				if ev.Type == api.EventState && ev.State == state {
					return
				}
				if ev.Type == api.EventState && ev.State != api.StatePending {
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
	next(api.StatePending)

	var sr api.ScanResponse
	c.Scan(alice, tk.QRPayload).JSON(t, &sr)
	next(api.StateScanned)

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
	next(api.StateConfirmed)
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
