package main

import (
	"bytes"
	"os"
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

// Every target the Makefile declares phony exists, and make help lists
// it: a declared target that is missing, or one help does not show, is
// found here rather than by a newcomer.
func TestMakefileTargets(t *testing.T) {
	src, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	phony := map[string]bool{}
	rules, helped := map[string]bool{}, map[string]bool{}
	for line := range strings.Lines(string(src)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, ".PHONY:"):
			for _, n := range strings.Fields(strings.TrimPrefix(line, ".PHONY:")) {
				phony[n] = true
			}
		case strings.HasPrefix(line, "## "):
			if name, _, ok := strings.Cut(strings.TrimPrefix(line, "## "), ":"); ok && !strings.Contains(name, " ") {
				helped[name] = true
			}
		case line != "" && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "#") && !strings.Contains(line, "="):
			if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, " ") {
				rules[name] = true
			}
		}
	}
	if len(phony) == 0 {
		t.Fatal("no .PHONY line in the Makefile")
	}
	for n := range phony {
		if !rules[n] {
			t.Errorf("make %s is declared .PHONY but has no rule", n)
		}
		if !helped[n] {
			t.Errorf("make %s has no \"## %s: ...\" line for make help", n, n)
		}
	}
	for n := range helped {
		if !phony[n] {
			t.Errorf("make help lists %s, which is not a .PHONY target", n)
		}
	}
}
