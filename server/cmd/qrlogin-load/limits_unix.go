//go:build unix

package main

import "syscall"

// fileLimit returns this process's soft limit on open files (Go raises it
// to the hard limit at start-up).
func fileLimit() (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur > 1<<30 {
		return 1 << 30, nil
	}
	return int(rl.Cur), nil
}
