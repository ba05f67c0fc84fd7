package main

import (
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

func TestOneTapUsage(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	const id = "Xb3kQ9pL0aZ8yT2uV5wR1c"
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"requests", "extra"}, exitUsage, `unexpected argument "extra": give approve, deny or not-me first`},
		{[]string{"requests", "--timeout", "5s"}, exitUsage, "--timeout goes with --wait"},
		{[]string{"requests", "--wait", "--timeout", "0s"}, exitUsage, "--timeout must be positive"},
		{[]string{"requests", "--number", "12"}, exitUsage, "flag provided but not defined: -number"},
		{[]string{"requests", "approve", "--number", "12"}, exitUsage, "exactly one request ID"},
		{[]string{"requests", "approve", id}, exitUsage, "--number is required"},
		{[]string{"requests", "approve", id, "--number", " "}, exitUsage, "--number is required"},
		{[]string{"requests", "approve", id, "other", "--number", "12"}, exitUsage, "exactly one request ID"},
		{[]string{"requests", "deny"}, exitUsage, "exactly one request ID"},
		{[]string{"requests", "deny", id, "--number", "12"}, exitUsage, "flag provided but not defined: -number"},
		{[]string{"requests", "not-me"}, exitUsage, "exactly one request ID"},
		{[]string{"desktops", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"desktops", "remove"}, exitUsage, "exactly one desktop ID"},
		{[]string{"requests"}, exitFailure, "not logged in"},
		{[]string{"requests", "--wait"}, exitFailure, "not logged in"},
		{[]string{"requests", "approve", id, "--number", "12"}, exitFailure, "not logged in"},
		{[]string{"requests", "not-me", "-" + id[1:]}, exitFailure, "not logged in"},
		{[]string{"desktops"}, exitFailure, "not logged in"},
		{[]string{"desktops", "remove", id}, exitFailure, "not logged in"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("mobile-sim %q: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.err)
		}
	}
}

// Each one-tap command's help names its arguments and flags, and the
// list of commands names both commands.
func TestOneTapHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"\n  requests  ", "\n  desktops  "}},
		{[]string{"requests", "-h"}, []string{"usage: mobile-sim requests [flags] | requests --wait [--timeout D] | requests approve ID --number N", "-json", "-wait", "-timeout"}},
		{[]string{"requests", "approve", "-h"}, []string{"usage: mobile-sim requests approve [flags] ID --number N", "-number"}},
		{[]string{"requests", "not-me", "-h"}, []string{"usage: mobile-sim requests not-me [flags] ID", "-profile"}},
		{[]string{"desktops", "-h"}, []string{"usage: mobile-sim desktops [flags] | desktops remove ID", "-json"}},
		{[]string{"desktops", "remove", "-h"}, []string{"usage: mobile-sim desktops remove [flags] ID"}},
	} {
		code, stdout, _ := runCmd(t, "", tt.args...)
		for _, want := range tt.want {
			if code != exitOK || !strings.Contains(stdout, want) {
				t.Errorf("mobile-sim %q: exit %d, stdout lacks %q:\n%s", tt.args, code, want, stdout)
			}
		}
	}
	if _, stdout, _ := runCmd(t, "", "requests", "deny", "-h"); strings.Contains(stdout, "-number") {
		t.Errorf("requests deny -h offers --number:\n%s", stdout)
	}
}

// A request is shown with the desktop, the three numbers set apart, the
// warning, and what to type; what the server sent cannot reach the
// terminal raw.
func TestShowRequest(t *testing.T) {
	var out strings.Builder
	now := time.Now()
	e := &env{stdout: &out, now: func() time.Time { return now }}
	r := api.LoginRequest{
		ID:        "Xb3kQ9pL0aZ8yT2uV5wR1c",
		Desktop:   api.DesktopInfo{Name: "Work PC\x1b]0;owned\x07", OS: "linux", IP: "192.0.2.7", CreatedAt: now.Add(-5 * time.Second)},
		Choices:   []string{"17", "42", "83"},
		ExpiresAt: now.Add(90 * time.Second),
		Warning:   "This desktop is on a different network from your phone.",
	}
	e.showRequest(r)
	for _, want := range []string{
		"An enrolled desktop asks to log in to your account again:",
		`Work PC\x1b]0;owned\x07`, "192.0.2.7", "5 s ago", "in 1 min",
		"Warning: This desktop is on a different network from your phone.",
		"\n    Tap the number the desktop shows: 17   42   83\n",
		"mobile-sim requests approve Xb3kQ9pL0aZ8yT2uV5wR1c --number N",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("a name from the server is printed raw: %q", out.String())
	}
}

func TestFromNow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                          "expired",
		0:                                     "expired",
		45*time.Second + 900*time.Millisecond: "in 45 s",
		2*time.Minute + 30*time.Second:        "in 2 min",
		3 * time.Hour:                         "in 3 h",
	} {
		if got := fromNow(d); got != want {
			t.Errorf("fromNow(%v) = %q, want %q", d, got, want)
		}
	}
}
