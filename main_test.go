package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// The command line is checked before any window is made.
func TestRunRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-h"}, 0, "-data-dir DIR"},
		{[]string{"--server", "login.example"}, 2, "is not a server address"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want %d saying %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
	}
}

// A missing display is said, not panicked on (GTK would).
func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if runtime.GOOS == "linux" && !noDisplay() {
		t.Error("no DISPLAY nor WAYLAND_DISPLAY, and noDisplay says there is one")
	}
	t.Setenv("DISPLAY", ":99")
	if noDisplay() {
		t.Error("DISPLAY=:99, and noDisplay says there is none")
	}
}
