// Package proctest runs a command of the project (qrlogin-server,
// demo-site) for a test: it starts it, waits until it logs where it
// listens, keeps its log for the test to show, and kills it when the test
// ends.
package proctest

import (
	"bufio"
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proc is a command running for a test.
type Proc struct {
	// URL is where it listens, from its `msg=listening url=...` log line.
	URL    string
	mu     sync.Mutex
	output bytes.Buffer
}

// Log returns what it has written to stderr so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Tail returns the last n lines of its log.
func (p *Proc) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var listening = regexp.MustCompile(`msg=listening url=(\S+)`)

// Start starts bin with args and waits (up to 30 s) until it logs where it
// listens; name is how failures call it. It is killed when the test ends.
func Start(t testing.TB, name, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{}
	cmd := exec.Command(bin, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	select {
	case p.URL = <-urls:
	case <-exited:
		t.Fatalf("%s exited:\n%s", name, p.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not listen:\n%s", name, p.Log())
	}
	return p
}
