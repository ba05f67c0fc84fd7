package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
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
		if code := run(tc.args, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want %d saying %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
	}
}

// --version answers without a display (and before the other flags are
// acted on), on stdout, with the version the build stamped.
func TestVersion(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	defer func(v string) { version = v }(version)
	version = "0.0.0~git20261204.abc1234"
	var stdout, stderr bytes.Buffer
	dataDir := filepath.Join(t.TempDir(), "never-made")
	code := run([]string{"--version", "--data-dir", dataDir}, &stdout, &stderr)
	if code != 0 || stdout.String() != "qrlogin 0.0.0~git20261204.abc1234\n" || stderr.Len() != 0 {
		t.Errorf("run(--version) = %d, stdout %q, stderr %q; want 0, \"qrlogin 0.0.0~git20261204.abc1234\\n\"", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Error("run(--version) made the data folder")
	}
}

// One instance runs per data folder: the lock's id names the folder
// however it is spelled, and differs between folders, so that the tests'
// apps, each on its own folder, run side by side.
func TestInstanceID(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	id := func(p string) string {
		t.Helper()
		s, err := instanceID(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := id(filepath.Join(dir, "a"))
	if b := id("a"); b != a {
		t.Errorf("instanceID(\"a\") in %s = %q, instanceID(%q) = %q: want the same", dir, b, filepath.Join(dir, "a"), a)
	}
	if b := id(dir + "/./a/"); b != a {
		t.Errorf("instanceID of another spelling of the folder = %q, want %q", b, a)
	}
	if b := id(filepath.Join(dir, "b")); b == a {
		t.Errorf("two folders share the instance id %q", a)
	}
	for _, r := range a {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			t.Fatalf("instance id %q holds %q: Wails' D-Bus name would be invalid", a, r)
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
