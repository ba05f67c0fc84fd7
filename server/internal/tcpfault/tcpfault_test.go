package tcpfault

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echo starts a server that sends back each line it reads, and returns its
// address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line on c and reads it back within d.
func roundTrip(c net.Conn, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "ping\n" {
		err = errors.New("echoed " + line)
	}
	return err
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Connections go through; Cut ends them and refuses new ones until Restore.
func TestCutAndRestore(t *testing.T) {
	p := Start(t, echo(t))
	c := dial(t, p)
	if err := roundTrip(c, 10*time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := roundTrip(c, 10*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an open connection after Cut: %v, want it closed", err)
	}
	if err := roundTrip(dial(t, p), 10*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a new connection during Cut: %v, want it closed", err)
	}
	p.Restore()
	if err := roundTrip(dial(t, p), 10*time.Second); err != nil {
		t.Fatalf("a new connection after Restore: %v", err)
	}
}

// Freeze silences the open connections without closing them; new ones go
// through.
func TestFreeze(t *testing.T) {
	p := Start(t, echo(t))
	c := dial(t, p)
	if err := roundTrip(c, 10*time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Freeze()
	if err := roundTrip(c, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a frozen connection: %v, want no answer and no close", err)
	}
	if err := roundTrip(dial(t, p), 10*time.Second); err != nil {
		t.Fatalf("a new connection after Freeze: %v", err)
	}
}
