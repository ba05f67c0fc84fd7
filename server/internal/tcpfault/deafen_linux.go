package tcpfault

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Deafen makes c, this process's end of a TCP connection, drop every
// segment it receives before its TCP sees it (a socket filter): from then
// on it acknowledges nothing, as a host that lost power does, and the
// other end retransmits unanswered until its own timeouts end the
// connection. What c sends still goes out. Linux only; it fails tb if c
// is not a socket.
func Deafen(tb testing.TB, c net.Conn) {
	tb.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		tb.Fatalf("tcpfault: a %T is not a socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		tb.Fatalf("tcpfault: %v", err)
	}
	dropAll := unix.SockFprog{Len: 1, Filter: &unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &dropAll)
	}); err != nil {
		tb.Fatalf("tcpfault: %v", err)
	}
	if serr != nil {
		tb.Fatalf("tcpfault: attaching a socket filter: %v", serr)
	}
}
