package main

import (
	"os"
	"strconv"
	"syscall"
)

// init marks close-on-exec every file that this test binary inherited
// beyond stdin, stdout and stderr (a shell's, a CI runner's), so that the
// children the tests start hold only the files they are given:
// TestProcFilesChild counts them, and an inherited file on fd 3 to 5 would
// otherwise be replaced by its ExtraFiles in the child, and miscounted.
func init() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
