package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// connPool is the tool's HTTP/1.1 client: an http.RoundTripper on
// keep-alive connections of its own, where the goroutine that makes a call
// writes the request and reads the answer itself. net/http's Transport
// hands each request to a writing goroutine and its answer over from a
// reading one, three wake-ups a call where one does, which at a few
// thousand calls a second was a good share of the tool's CPU. The bytes on
// the wire are net/http's own (http.Request.Write, http.ReadResponse); an
// upgrade (101, the WebSockets) gets the connection as its body, as with
// net/http. Anything but plain http goes to fallback.
type connPool struct {
	dialer   *net.Dialer
	maxIdle  int // idle connections kept per host:port
	fallback http.RoundTripper

	mu     sync.Mutex
	idle   map[string][]*poolConn
	closed bool
}

// idleLimit is how long an idle connection may be reused: under the
// server's 30 s IdleTimeout, so that the server has not closed it.
const idleLimit = 20 * time.Second

// poolConn is a connection of the pool.
type poolConn struct {
	c      *countConn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// countConn counts the bytes written to and read from a connection, to
// tell whether a failed call may be made again.
type countConn struct {
	net.Conn
	n, nw int64 // read, written
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.nw += int64(n)
	return n, err
}

var errPoolClosed = errors.New("connection pool closed")

// aLongTimeAgo is a deadline that ends a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// get returns an idle connection to addr, or a new one dialed by dl (if
// not zero); reused says which.
func (p *connPool) get(ctx context.Context, addr string, dl time.Time) (pc *poolConn, reused bool, err error) {
	now := time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errPoolClosed
	}
	var stale []*poolConn
	for l := p.idle[addr]; len(l) > 0; l = p.idle[addr] {
		pc = l[len(l)-1]
		l[len(l)-1] = nil
		p.idle[addr] = l[:len(l)-1]
		// Where net/http's reading goroutine would have seen the server
		// close an idle connection, a look at the socket does.
		if now.Sub(pc.idleAt) < idleLimit && connOpen(pc.c.Conn) {
			break
		}
		stale, pc = append(stale, pc), nil
	}
	p.mu.Unlock()
	for _, s := range stale {
		s.c.Close()
	}
	if pc != nil {
		return pc, true, nil
	}
	d := *p.dialer
	if !dl.IsZero() {
		d.Deadline = dl
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	cc := &countConn{Conn: c}
	return &poolConn{c: cc, br: bufio.NewReader(cc), bw: bufio.NewWriter(cc)}, false, nil
}

// put keeps pc for reuse, or closes it when the pool is full or closed.
func (p *connPool) put(addr string, pc *poolConn) {
	pc.idleAt = time.Now()
	p.mu.Lock()
	if !p.closed && len(p.idle[addr]) < p.maxIdle {
		if p.idle == nil {
			p.idle = map[string][]*poolConn{}
		}
		p.idle[addr] = append(p.idle[addr], pc)
		pc = nil
	}
	p.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
}

// closeIdle closes the idle connections and those that come back; the
// pool makes no more.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, l := range idle {
		for _, pc := range l {
			pc.c.Close()
		}
	}
	if t, ok := p.fallback.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// RoundTrip sends req and reads the answer's head. The body must be read
// to its end and closed for the connection to be reused; a 101's body is
// the connection. req's context bounds the whole exchange, body included.
func (p *connPool) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.URL.Host == "" {
		return p.fallback.RoundTrip(req)
	}
	return p.roundTrip(req, time.Time{})
}

// roundTrip is RoundTrip for plain http, within dl too if it is not zero:
// a deadline of a call's own, without a context to carry it (a context
// with a deadline costs a timer and a place among its parent's children).
func (p *connPool) roundTrip(req *http.Request, dl time.Time) (*http.Response, error) {
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	ctx := req.Context()
	if cdl, ok := ctx.Deadline(); ok && (dl.IsZero() || cdl.Before(dl)) {
		dl = cdl
	}
	for attempt := 0; ; attempt++ {
		res, retry, err := p.try(ctx, addr, req, dl)
		if err == nil || !retry || attempt > 0 || ctx.Err() != nil {
			if err != nil && req.Body != nil {
				req.Body.Close()
			}
			return res, err
		}
		// Failed on a reused connection with nothing sent, or with nothing
		// answered to a request that may be sent twice: once more on a
		// new one, as net/http does, if the body can be sent again.
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			b, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			req.Body = b
		}
	}
}

// ctxErr is the error of a call that failed: ctx's, if it ended.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded // the connection's deadline came first
	}
	return err
}

// try makes one attempt at req on a connection of the pool, within dl.
// retry says that it failed on a reused connection before a byte of the
// request went out, or, for a request that may be sent twice (GET, HEAD:
// not the API's POSTs), before a byte of the answer came.
func (p *connPool) try(ctx context.Context, addr string, req *http.Request, dl time.Time) (_ *http.Response, retry bool, err error) {
	pc, reused, err := p.get(ctx, addr, dl)
	if err != nil {
		return nil, false, ctxErr(ctx, err)
	}
	pc.c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(aLongTimeAgo) })
	read0, written0 := pc.c.n, pc.c.nw
	replayable := req.Method == http.MethodGet || req.Method == http.MethodHead
	fail := func(err error) (*http.Response, bool, error) {
		stop()
		pc.c.Close()
		retry := reused && (pc.c.nw == written0 || (replayable && pc.c.n == read0))
		return nil, retry, ctxErr(ctx, err)
	}
	if err := req.Write(pc.bw); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	res, err := http.ReadResponse(pc.br, req)
	if err != nil {
		return fail(err)
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// The connection is the upgrade's, without the exchange's
		// deadline.
		if !stop() {
			pc.c.Close()
			return nil, false, ctxErr(ctx, context.Canceled)
		}
		pc.c.SetDeadline(time.Time{})
		res.Body = &upgradedConn{br: pc.br, Conn: pc.c.Conn}
		return res, false, nil
	}
	res.Body = &poolBody{ReadCloser: res.Body, p: p, pc: pc, addr: addr, stop: stop, ctx: ctx, keep: !res.Close}
	return res, false, nil
}

// poolBody is an answer's body: read to its end and closed, its
// connection goes back to the pool.
type poolBody struct {
	io.ReadCloser
	p    *connPool
	pc   *poolConn
	addr string
	stop func() bool
	ctx  context.Context
	keep bool // the server keeps the connection open
	eof  bool
	done bool
}

func (b *poolBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		err = ctxErr(b.ctx, err)
	}
	return n, err
}

func (b *poolBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.ReadCloser.Close()
	if b.stop() && b.eof && b.keep && err == nil {
		b.p.put(b.addr, b.pc)
	} else {
		b.pc.c.Close()
	}
	return nil
}

// upgradedConn is a 101's body: the connection, its first bytes maybe
// already read into br.
type upgradedConn struct {
	net.Conn
	br *bufio.Reader
}

func (u *upgradedConn) Read(p []byte) (int, error) { return u.br.Read(p) }
