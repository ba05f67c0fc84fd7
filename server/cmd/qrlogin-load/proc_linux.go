package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill cmd's process should this one die
// first (a report killed mid-run leaves no server behind).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
