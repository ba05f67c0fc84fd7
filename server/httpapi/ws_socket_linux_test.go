package httpapi

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/internal/tcpfault"
)

// A socket written to within PingEvery is not pinged: its connection's TCP
// user timeout finds a dead peer instead. When the client's host stops
// acknowledging (as one that lost power), the socket ends though it never
// went silent.
func TestBusySocketDeadPeer(t *testing.T) {
	t.Parallel()
	const every = time.Second
	ss := newSocketServer(t, 16, every)
	var conn net.Conn // the client's end
	var pings atomic.Int64
	c := ss.dial(1, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				conn = c
				return c, err
			},
		}},
		OnPingReceived: func(context.Context, []byte) bool {
			pings.Add(1)
			return true
		},
	})[0]
	drain(c)
	ss.busy(every / 100)
	time.Sleep(2 * every)
	if n := pings.Load(); n > 0 {
		t.Fatalf("a socket written to every %v was pinged %d times in %v", every/100, n, 2*every)
	}
	if ss.hub.Count("t") != 1 {
		t.Fatal("the live socket ended")
	}

	tcpfault.Deafen(t, conn)
	waitFor(t, 5*every, "the socket of a dead peer did not end", func() bool { return ss.hub.Count("t") == 0 })
}
