// Package tcpfault is a TCP proxy for tests that breaks the connections
// through it on demand, as a network or a database restart would: Cut
// closes every open connection and refuses new ones until Restore; Freeze
// leaves the open connections open but silent, as a peer that vanished
// without a reset does, while new connections go through.
//
// Put it between a client and its server (a node and PostgreSQL, say) by
// giving the client Addr instead of the server's address.
package tcpfault

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards the connections made to Addr to its target. Its methods
// are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[*pair]struct{} // the open connections
	cut    bool               // refuse new connections
	closed bool
	wg     sync.WaitGroup // the accept loop and the copiers
}

// pair is one proxied connection: the client's side and the target's.
type pair struct {
	client, server net.Conn
	frozen         atomic.Bool // drop what either side sends
	once           sync.Once
}

// close closes both sides, once.
func (c *pair) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// Start listens on a free loopback port and forwards every connection to
// target (host:port), until tb's test ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("tcpfault: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Addr is the address (host:port) to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection, both ways, and closes each new one as
// soon as it is accepted, until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.close()
	}
}

// Restore lets new connections through again after Cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Freeze makes every open connection silent for good: what either side
// sends is dropped, and neither side is told. They are closed (both ways)
// only when one side closes its end, or by Cut or Close. Connections made
// after Freeze are forwarded as usual.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.frozen.Store(true)
	}
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines. Safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.ln.Close()
		for c := range p.conns {
			c.close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		p.mu.Unlock()
		if refuse {
			conn.Close()
			continue
		}
		server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
		if err != nil {
			conn.Close()
			continue
		}
		c := &pair{client: conn, server: server}
		p.mu.Lock()
		if p.cut || p.closed { // cut while dialing
			p.mu.Unlock()
			c.close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.copy(c, c.server, c.client)
		go p.copy(c, c.client, c.server)
	}
}

// copy forwards what src sends to dst, or drops it while c is frozen,
// until either side fails or ends; then it closes both and forgets c.
func (p *Proxy) copy(c *pair, dst, src net.Conn) {
	defer p.wg.Done()
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
