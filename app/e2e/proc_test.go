package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// logLines collects a process's output lines (also copied to a log file)
// and lets a test wait for a line, in order: each wait looks only at the
// lines after the previous match.
type logLines struct {
	mu     sync.Mutex
	lines  []string
	next   int // the first line the next wait looks at
	closed bool
	wake   chan struct{}
}

func newLogLines(r io.Reader, copyTo io.Writer) *logLines {
	l := &logLines{wake: make(chan struct{}, 1)}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			io.WriteString(copyTo, s.Text()+"\n")
			l.mu.Lock()
			l.lines = append(l.lines, s.Text())
			l.mu.Unlock()
			l.poke()
		}
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.poke()
	}()
	return l
}

func (l *logLines) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// wait returns the submatches of the first line after the last match that
// matches re, failing the test after timeout or when the output ends.
func (l *logLines) wait(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for i := l.next; i < len(l.lines); i++ {
			if m := re.FindStringSubmatch(l.lines[i]); m != nil {
				l.next = i + 1
				l.mu.Unlock()
				return m
			}
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			t.Fatalf("the output ended without a line matching %s:\n%s", re, l.tail())
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("no line matching %s within %v:\n%s", re, timeout, l.tail())
		}
	}
}

// tail returns the last lines, for failure messages.
func (l *logLines) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-30):], "\n")
}

// environ is the environment of the processes the test starts: DISPLAY set,
// and no D-Bus session, so that the app keeps its session in its file (as
// under CI) and never touches the keyring of the machine that runs the test.
func environ(display, simHome string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DISPLAY=") || strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") ||
			strings.HasPrefix(kv, "QRLOGIN_MOBILE_SIM_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DISPLAY="+display, "DBUS_SESSION_BUS_ADDRESS=disabled:", "QRLOGIN_MOBILE_SIM_HOME="+simHome)
}

// run runs a command to its end within a minute and returns its stdout;
// wantCode is the exit code it must end with.
func run(t *testing.T, env []string, wantCode int, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	if code != wantCode {
		t.Fatalf("%s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
	}
	return stdout.String()
}
