package httpapi

import (
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout sets TCP_USER_TIMEOUT on conn, a TCP connection (under TLS
// or other wrappers that have a NetConn method): once data written to it
// stays unacknowledged for d, the connection fails, and its reads and
// writes return an error. It returns an error if conn is not TCP.
func setUserTimeout(conn net.Conn, d time.Duration) error {
	sc, ok := conn.(syscall.Conn)
	for !ok {
		u, wraps := conn.(interface{ NetConn() net.Conn })
		if !wraps {
			return fmt.Errorf("a %T is not a socket", conn)
		}
		conn = u.NetConn()
		sc, ok = conn.(syscall.Conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	ms := int(max(d.Milliseconds(), 1))
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms)
	}); err != nil {
		return err
	}
	return serr
}
