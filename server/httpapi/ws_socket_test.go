package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/hub"
)

// event is what the test hub carries: a number, padded to a size.
type event struct {
	N   int    `json:"n"`
	Pad string `json:"pad,omitempty"`
}

// socketServer serves WebSockets as the handlers do (small buffers,
// wsSocket), each subscribed to topic "t" of its hub with a queue of max.
type socketServer struct {
	t       *testing.T
	h       *Handler
	hub     *hub.Hub[event]
	srv     *httptest.Server
	max     int
	encodes atomic.Int64 // calls of the encoding
	writes  atomic.Int64 // writes to the connections
	running sync.WaitGroup
}

// newSocketServer starts a socketServer that pings every ping.
func newSocketServer(t *testing.T, max int, ping time.Duration) *socketServer {
	return startSocketServer(t, max, Config{PingEvery: ping}, nil)
}

// startSocketServer starts a socketServer whose handler has cfg (as New
// makes it), on connections that wrap (if not nil) wraps.
func startSocketServer(t *testing.T, max int, cfg Config, wrap func(net.Conn) net.Conn) *socketServer {
	ss := &socketServer{
		t:   t,
		h:   &Handler{cfg: cfg, log: slog.New(slog.DiscardHandler)},
		hub: hub.New[event](),
		max: max,
	}
	ss.srv = httptest.NewUnstartedServer(http.HandlerFunc(ss.serve))
	ss.srv.Listener = &countingListener{Listener: ss.srv.Listener, writes: &ss.writes, wrap: wrap}
	ss.srv.Start()
	t.Cleanup(func() {
		ss.hub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ss.h.Drain(ctx); err != nil {
			t.Errorf("sockets did not end: %v", err)
		}
		ss.srv.Close()
	})
	return ss
}

func (ss *socketServer) serve(w http.ResponseWriter, r *http.Request) {
	s := ss.h.newSocket(ss.max)
	defer s.leave()
	subscribe(s, ss.hub, "t", "test", nil, func(e event) *wsMsg {
		ss.encodes.Add(1)
		return ss.h.encode(e, false, nil)
	})
	tw := ss.h.timedWriter(w, r)
	c, err := websocket.Accept(wsResponseWriter{tw}, r, nil)
	if err != nil {
		return
	}
	s.dropsDead = dropsDead(tw)
	c.SetReadLimit(4 << 10)
	s.run(c)
	ss.running.Done()
}

// dial opens n sockets and waits until the server runs them.
func (ss *socketServer) dial(n int, opts *websocket.DialOptions) []*websocket.Conn {
	ss.t.Helper()
	ss.running.Add(n)
	cs := make([]*websocket.Conn, n)
	for i := range cs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ss.srv.URL, "http"), opts)
		cancel()
		if err != nil {
			ss.t.Fatal(err)
		}
		c.SetReadLimit(-1)
		ss.t.Cleanup(func() { c.CloseNow() })
		cs[i] = c
	}
	ss.running.Wait()
	return cs
}

// read reads the next event from c within d.
func read(c *websocket.Conn, d time.Duration) (event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return event{}, err
	}
	var e event
	err = json.Unmarshal(b, &e)
	return e, err
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
	}
}

// Events published quickly, from several goroutines, reach each socket in
// the order the hub took them, across writers that end and start again
// whenever the queue runs dry.
func TestSocketKeepsOrder(t *testing.T) {
	const publishers, each = 4, 500
	ss := newSocketServer(t, publishers*each, time.Hour)
	cs := ss.dial(2, nil)
	var order []int // as the hub delivered them
	ss.hub.SubscribeFunc("t", func(m *hub.Message[event]) bool { order = append(order, m.Value.N); return true }, nil)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ss.hub.Publish("t", event{N: p*each + i})
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // let the queue run dry now and then
				}
			}
		})
	}
	wg.Wait()
	ss.hub.Publish("t", event{N: -1}) // the end
	for i, c := range cs {
		for j, want := range order {
			e, err := read(c, 5*time.Second)
			if err != nil {
				t.Fatalf("socket %d, event %d: %v", i, j, err)
			}
			if e.N != want {
				t.Fatalf("socket %d, event %d is %d, want %d", i, j, e.N, want)
			}
		}
	}
	// One encoding per publication, not per socket.
	if n := ss.encodes.Load(); n != publishers*each+1 {
		t.Fatalf("%d encodings of %d events to 2 sockets", n, publishers*each+1)
	}
}

// A client that stops reading fills its socket until writes block; then
// its queue fills and it is dropped, without the publisher ever waiting.
// When it reads again it gets what was queued, then 1013.
func TestSlowSocketDropped(t *testing.T) {
	ss := newSocketServer(t, 16, time.Hour)
	c := ss.dial(1, nil)[0]
	pad := strings.Repeat("x", 32<<10)
	var slowest time.Duration
	n := 0
	for ; ss.hub.Count("t") > 0; n++ {
		if n == 10000 {
			t.Fatal("not dropped after 10,000 events of 32 KiB")
		}
		start := time.Now()
		ss.hub.Publish("t", event{N: n, Pad: pad})
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("a publication took %v", slowest)
	}
	t.Logf("dropped after %d events; slowest publication %v", n, slowest)
	for i := range n - 1 { // the last found the queue full
		e, err := read(c, 5*time.Second)
		if err != nil {
			t.Fatalf("event %d of %d: %v", i, n-1, err)
		}
		if e.N != i {
			t.Fatalf("event %d is %d", i, e.N)
		}
	}
	_, err := read(c, 5*time.Second)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater || ce.Reason != "fell behind; reconnect" {
		t.Fatalf("after the events: %v, want close 1013 fell behind", err)
	}
}

// Hub.Close (at shutdown) closes an idle socket with 1001.
func TestSocketHubClosed(t *testing.T) {
	ss := newSocketServer(t, 16, time.Hour)
	c := ss.dial(1, nil)[0]
	ss.hub.Publish("t", event{N: 1})
	ss.hub.Close()
	if e, err := read(c, 5*time.Second); err != nil || e.N != 1 {
		t.Fatalf("read %v, %v; want event 1", e, err)
	}
	_, err := read(c, 5*time.Second)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after Hub.Close: %v, want close 1001", err)
	}
}

// Pings keep a socket whose client reads; a client that does not read
// (coder/websocket answers pings only while reading) is closed with 1001
// "no pong", and the socket ends.
func TestSocketPings(t *testing.T) {
	const every = 50 * time.Millisecond
	ss := newSocketServer(t, 16, every)
	var pings atomic.Int64
	cs := ss.dial(2, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pings.Add(1)
		return true
	}})
	live, silent := cs[0], cs[1]
	ctx := live.CloseRead(context.Background()) // reads, and so answers pings
	time.Sleep(10 * every)
	if n := pings.Load(); n < 5 {
		t.Fatalf("%d pings in %v at one per %v", n, 10*every, every)
	}
	_, err := read(silent, 5*time.Second) // answers the server's close
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "no pong" {
		t.Fatalf("silent socket: %v, want close 1001 no pong", err)
	}
	waitFor(t, time.Second, "the silent socket did not end", func() bool { return ss.hub.Count("t") == 1 })
	select {
	case <-ctx.Done():
		t.Fatal("the live socket was closed")
	default:
	}
}

// busy publishes an event every d until the test ends.
func (ss *socketServer) busy(d time.Duration) {
	stop := make(chan struct{})
	done := make(chan struct{})
	ss.t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(d):
				ss.hub.Publish("t", event{N: n})
			}
		}
	}()
}

// drain reads c's messages, and so answers its pings, until it closes.
func drain(c *websocket.Conn) {
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}

// A socket written to all the time is still pinged where TCP cannot drop
// its dead peer: behind a trusted proxy, whose acknowledgements say nothing
// of the client, or on a connection that is not a socket (or not Linux).
func TestBusySocketPingedWithoutTCPTimeout(t *testing.T) {
	t.Parallel()
	type opaqueConn struct{ net.Conn } // no NetConn: nothing to set an option on
	for name, tc := range map[string]struct {
		cfg  Config
		wrap func(net.Conn) net.Conn
	}{
		"trusted proxy": {cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		"not a socket":  {wrap: func(c net.Conn) net.Conn { return opaqueConn{c} }},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const every = 100 * time.Millisecond
			tc.cfg.PingEvery = every
			ss := startSocketServer(t, 16, tc.cfg, tc.wrap)
			var pings atomic.Int64
			c := ss.dial(1, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
				pings.Add(1)
				return true
			}})[0]
			drain(c)
			ss.busy(every / 10)
			waitFor(t, 100*every, "a busy socket was not pinged", func() bool { return pings.Load() >= 3 })
		})
	}
}

// An idle socket costs one goroutine: its reader. No writer, no pinger,
// and not the HTTP connection's goroutine, which returned.
func TestIdleSocketOneGoroutine(t *testing.T) {
	const n = 100
	ss := newSocketServer(t, 16, time.Hour)
	settle := func() int {
		prev := -1
		for range 100 {
			time.Sleep(20 * time.Millisecond)
			if g := runtime.NumGoroutine(); g == prev {
				return g
			} else {
				prev = g
			}
		}
		return prev
	}
	ss.dial(1, nil) // the client's and the server's goroutines that stay, if any
	before := settle()
	ss.dial(n, nil)
	ss.hub.Publish("t", event{N: 1}) // a writer starts, and ends
	if got := settle() - before; got != n {
		t.Fatalf("%d idle sockets added %d goroutines, want %d", n, got, n)
	}
}

// Messages larger than the buffers pass both ways, and an event goes out
// in one write.
func TestSocketBuffers(t *testing.T) {
	ss := newSocketServer(t, 16, time.Hour)
	c := ss.dial(1, nil)[0]
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("y", 3<<10))); err != nil {
		t.Fatal(err)
	}
	// 490 bytes of padding make a message of 508 bytes: with its frame's
	// header, 512.
	for _, size := range []int{200, 490, 491, 5 << 10} {
		pad := strings.Repeat("z", size)
		b, _ := json.Marshal(event{N: size, Pad: pad})
		before := ss.writes.Load()
		ss.hub.Publish("t", event{N: size, Pad: pad})
		e, err := read(c, 5*time.Second)
		if err != nil || e.N != size || e.Pad != pad {
			t.Fatalf("a %d-byte message: read %d (%d bytes of padding), %v", len(b), e.N, len(e.Pad), err)
		}
		want := int64(1)
		if len(b)+4 > wsWriteBuffer {
			want = 2
		}
		if got := ss.writes.Load() - before; got != want {
			t.Errorf("a %d-byte message took %d writes, want %d", len(b), got, want)
		}
	}
}

// What the client sends right behind its upgrade request, before the
// answer, is read ahead by net/http: the socket must still read it, be it
// smaller or larger than its own buffer.
func TestSocketPipelinedBytes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(wsResponseWriter{w}, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for { // echo
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			typ, b, err := c.Read(ctx)
			if err == nil {
				err = c.Write(ctx, typ, b)
			}
			cancel()
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	for _, sizes := range [][]int{{20}, {3 << 10}, {100, 200, 300}} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
		out := []byte(req)
		var msgs []string
		for i, n := range sizes {
			msg := strings.Repeat(string(rune('a'+i)), n)
			msgs = append(msgs, msg)
			out = append(out, maskedFrame(msg)...)
		}
		if _, err := conn.Write(out); err != nil { // one write: request and messages
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v, %v", res, err)
		}
		for _, msg := range msgs {
			got, err := readFrame(br)
			if err != nil || got != msg {
				t.Fatalf("sizes %v: echo of a %d-byte message: %d bytes, %v", sizes, len(msg), len(got), err)
			}
		}
	}
}

// maskedFrame is msg as a client's text frame (mask key 1, 2, 3, 4).
func maskedFrame(msg string) []byte {
	key := [4]byte{1, 2, 3, 4}
	f := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i := range len(msg) {
		f = append(f, msg[i]^key[i%4])
	}
	return f
}

// readFrame reads a server's unfragmented frame of up to 64 KiB and
// returns its payload.
func readFrame(br *bufio.Reader) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return "", err
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return "", err
		}
		n = int(l[0])<<8 | int(l[1])
	}
	b := make([]byte, n)
	_, err := io.ReadFull(br, b)
	return string(b), err
}

// countingListener counts the writes to the connections it accepts, and
// wraps them with wrap if not nil.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
	wrap   func(net.Conn) net.Conn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var cc net.Conn = &countingConn{Conn: c, writes: l.writes}
	if l.wrap != nil {
		cc = l.wrap(cc)
	}
	return cc, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// NetConn returns the TCP connection, as a TLS one does.
func (c *countingConn) NetConn() net.Conn { return c.Conn }
