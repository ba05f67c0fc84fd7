package node

import (
	"net"
	"testing"
)

// A capped connection unwraps to the TCP one, as a TLS one does, so that a
// WebSocket on it gets its TCP user timeout (httpapi.Config.PingEvery).
func TestCappedConnUnwraps(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	capped := capConns(ln, 1, nil)
	defer capped.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := capped.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	u, ok := sc.(interface{ NetConn() net.Conn })
	if !ok {
		t.Fatalf("a %T has no NetConn", sc)
	}
	if _, ok := u.NetConn().(*net.TCPConn); !ok {
		t.Fatalf("a %T unwraps to a %T, want a *net.TCPConn", sc, u.NetConn())
	}
}
