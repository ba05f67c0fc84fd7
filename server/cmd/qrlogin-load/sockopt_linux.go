package main

import "syscall"

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
