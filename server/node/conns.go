package node

import (
	"net"
	"net/netip"
	"sync"
)

// capListener accepts at most limit connections open at once from one
// address (IPv4) or one IPv6 /64, so that one client cannot hold every
// socket the process has. A connection over the cap is closed as soon as
// it is accepted. Peers in exempt (trusted proxies, which carry many
// clients) are not capped.
type capListener struct {
	net.Listener
	limit  int
	exempt []netip.Prefix

	mu   sync.Mutex
	open map[netip.Prefix]int
}

func capConns(ln net.Listener, limit int, exempt []netip.Prefix) *capListener {
	return &capListener{Listener: ln, limit: limit, exempt: exempt, open: map[netip.Prefix]int{}}
}

// Accept returns the next connection within its address's cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, capped := l.key(c.RemoteAddr())
		if !capped {
			return c, nil
		}
		l.mu.Lock()
		over := l.open[key] >= l.limit
		if !over {
			l.open[key]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			continue
		}
		return &cappedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

// key is the address's /32 or /64, and whether it is capped.
func (l *capListener) key(a net.Addr) (netip.Prefix, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range l.exempt {
		if p.Contains(ip) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

func (l *capListener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// cappedConn gives its slot back once, when closed.
type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// NetConn returns the connection c wraps (a WebSocket sets a TCP option on
// it).
func (c *cappedConn) NetConn() net.Conn { return c.Conn }
