//go:build !linux

package main

import "os/exec"

// setPdeathsig does nothing off Linux.
func setPdeathsig(*exec.Cmd) {}
