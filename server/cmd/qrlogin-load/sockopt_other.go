//go:build !linux

package main

import "syscall"

// bindNoPort does nothing off Linux.
func bindNoPort(network, address string, c syscall.RawConn) error { return nil }
