package main

import (
	"net"
	"syscall"
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h, since 4.2).
const ipBindAddressNoPort = 24

// bindNoPort lets a socket bound to a source address get its port at
// connect time, chosen for the whole 4-tuple, instead of at bind time, where
// every socket on the address needs a port of its own. Many connections (and
// TIME_WAITs) from one 127.0.0.x to the server then share ports. A kernel
// without the option is not an error: the port is chosen at bind as before.
func bindNoPort(network, address string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
}

// connOpen reports whether c, an idle client connection, is still open:
// no end of stream (nor anything else) is waiting to be read from it. It
// peeks without blocking.
func connOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, the connection waits for a request.
		// 0 bytes: the server closed it; data or another error: unusable.
		open = n < 0 && (rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && open
}
