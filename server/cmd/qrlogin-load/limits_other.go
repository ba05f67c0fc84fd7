//go:build !unix

package main

import "errors"

// fileLimit is unknown off Unix: the run is not checked against it.
func fileLimit() (int, error) { return 0, errors.New("no RLIMIT_NOFILE here") }
