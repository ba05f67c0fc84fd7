package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer accepts connections on loopback and hands each to serve.
func rawServer(t *testing.T, serve func(c net.Conn)) (addr string, conns func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			wg.Go(func() { defer c.Close(); serve(c) })
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func testPool() *connPool {
	return &connPool{dialer: &net.Dialer{Timeout: 5 * time.Second}, maxIdle: 4, fallback: http.DefaultTransport}
}

// The pool writes each request as net/http's Transport does, byte for
// byte: the server cannot tell the tool's client from the usual one.
func TestConnPoolWire(t *testing.T) {
	got := make(chan []byte, 1)
	addr, _ := rawServer(t, func(c net.Conn) {
		// Each client sends a request and waits for the answer: what
		// was read by then is the request, as it came.
		var raw bytes.Buffer
		br := bufio.NewReader(io.TeeReader(c, &raw))
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			got <- bytes.Clone(raw.Bytes())
			raw.Reset()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n")
		}
	})
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	pool := testPool()
	defer pool.closeIdle()
	for _, tc := range []struct {
		method string
		in     any
		c      creds
	}{
		{http.MethodPost, map[string]string{"qr_payload": "x"}, creds{bearer: "tok", deviceID: "dev"}},
		{http.MethodPost, nil, creds{bearer: "secret"}},
		{http.MethodGet, nil, creds{}},
		{http.MethodPost, createBody, creds{}},
	} {
		var wire [2][]byte
		for i, rt := range []http.RoundTripper{tr, pool} {
			var out struct{ A int }
			if err := call(context.Background(), 0, &http.Client{Transport: rt}, tc.method, "http://"+addr+"/api/v1/x?y=1", tc.c, tc.in, &out); err != nil || out.A != 1 {
				t.Fatalf("%s via %T: %v, %+v", tc.method, rt, err, out)
			}
			wire[i] = <-got
		}
		if !bytes.HasPrefix(wire[0], []byte(tc.method+" /api/v1/x?y=1 HTTP/1.1\r\n")) {
			t.Errorf("%s: net/http wrote %q", tc.method, wire[0])
		}
		if !bytes.Equal(wire[0], wire[1]) {
			t.Errorf("%s: net/http wrote\n%q\nthe pool\n%q", tc.method, wire[0], wire[1])
		}
	}
}

// A connection goes back to the pool once its answer was read, and the
// next call uses it; one the server has closed meanwhile is replaced, the
// call made again on a new one.
func TestConnPoolReuse(t *testing.T) {
	var mu sync.Mutex
	served := 0
	addr, conns := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			mu.Lock()
			served++
			closeAfter := served == 2 // then close, as an idle timeout would
			mu.Unlock()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			if closeAfter {
				time.Sleep(50 * time.Millisecond)
				return
			}
		}
	})
	pool := testPool()
	defer pool.closeIdle()
	hc := &http.Client{Transport: pool}
	for i := range 4 {
		if err := call(context.Background(), 0, hc, http.MethodPost, "http://"+addr+"/", creds{}, map[string]int{"i": i}, nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if i == 1 {
			time.Sleep(200 * time.Millisecond) // the server closes the idle connection
		}
	}
	if n := conns(); n != 2 {
		t.Errorf("%d connections for 4 calls with one closed by the server after the 2nd, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if served != 4 {
		t.Errorf("the server answered %d calls, want 4 (each once)", served)
	}
}

// A call ends when its context does, blocked or not, and an answer that is
// not 2xx is an *httpError.
func TestConnPoolCancelAndStatus(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/slow" {
			io.Copy(io.Discard, br) // no answer: until the client hangs up
			return
		}
		io.WriteString(c, "HTTP/1.1 409 Conflict\r\nContent-Length: 40\r\n\r\n{\"error\":{\"code\":\"bad_state\",\"m\":\"xxx\"}}")
	})
	pool := testPool()
	defer pool.closeIdle()
	hc := &http.Client{Transport: pool}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := call(ctx, 0, hc, http.MethodGet, "http://"+addr+"/slow", creds{}, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || errKind("x", err) != "x:timeout" {
		t.Errorf("a call past its deadline: %v (%s), want context.DeadlineExceeded, x:timeout", err, errKind("x", err))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the call ended %v after its 200ms deadline", d)
	}
	// The call's own timeout, without a context deadline.
	start = time.Now()
	err = call(context.Background(), 200*time.Millisecond, hc, http.MethodGet, "http://"+addr+"/slow", creds{}, nil, nil)
	if errKind("x", err) != "x:timeout" || time.Since(start) > 2*time.Second {
		t.Errorf("a call past its timeout: %v (%s) after %v, want x:timeout after 200ms", err, errKind("x", err), time.Since(start))
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel2)
	if err := call(ctx2, 0, hc, http.MethodGet, "http://"+addr+"/slow", creds{}, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v, want context.Canceled", err)
	}
	err = call(context.Background(), 0, hc, http.MethodPost, "http://"+addr+"/x", creds{}, nil, nil)
	var he *httpError
	if !errors.As(err, &he) || he.status != 409 || he.code != "bad_state" {
		t.Errorf("a 409: %v, want an httpError 409 bad_state", err)
	}
}

// An upgrade's body is the connection, bytes the server sent right behind
// the 101 included, and it is not the pool's any more.
func TestConnPoolUpgrade(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nhello")
		b := make([]byte, 4)
		if _, err := io.ReadFull(br, b); err == nil {
			c.Write(bytes.ToUpper(b))
		}
	})
	pool := testPool()
	defer pool.closeIdle()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "x")
	res, err := pool.RoundTrip(req)
	cancel() // the handshake's context no longer bounds the connection
	if err != nil {
		t.Fatal(err)
	}
	rwc, ok := res.Body.(io.ReadWriteCloser)
	if res.StatusCode != 101 || !ok {
		t.Fatalf("status %d, body %T: want 101 and an io.ReadWriteCloser", res.StatusCode, res.Body)
	}
	defer rwc.Close()
	time.Sleep(200 * time.Millisecond) // past the handshake's deadline
	b := make([]byte, 5)
	if _, err := io.ReadFull(rwc, b); err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v; want hello", b, err)
	}
	io.WriteString(rwc, "ping")
	b = b[:4]
	if _, err := io.ReadFull(rwc, b); err != nil || string(b) != "PING" {
		t.Errorf("read %q, %v; want PING", b, err)
	}
	pool.mu.Lock()
	idle := len(pool.idle[addr])
	pool.mu.Unlock()
	if idle != 0 {
		t.Errorf("%d idle connections after an upgrade, want 0", idle)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatal(addr)
	}
}

// Every task runs, each on a worker idle or new, and the workers end after
// stop.
func TestWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorkers()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := 0
	for range 3 {
		for range 50 {
			wg.Add(1)
			w.run(func() {
				defer wg.Done()
				time.Sleep(time.Millisecond)
				mu.Lock()
				ran++
				mu.Unlock()
			})
		}
		wg.Wait()
		time.Sleep(10 * time.Millisecond) // the workers are idle again
	}
	if ran != 150 {
		t.Errorf("%d tasks ran, want 150", ran)
	}
	if n := runtime.NumGoroutine() - before; n > 60 {
		t.Errorf("%d goroutines for 3 rounds of 50 tasks, want the first round's workers reused (<= 60)", n)
	}
	w.stop()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after stop (was %d)", runtime.NumGoroutine(), before)
		}
	}
}

// A connection idle longer than idleLimit is not reused: the server may
// have closed it (its IdleTimeout is 30 s).
func TestConnPoolIdleLimit(t *testing.T) {
	addr, conns := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	pool := testPool()
	defer pool.closeIdle()
	hc := &http.Client{Transport: pool}
	for i := range 3 {
		if err := call(context.Background(), 0, hc, http.MethodGet, "http://"+addr+"/", creds{}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			pool.mu.Lock()
			for _, pc := range pool.idle[addr] {
				pc.idleAt = pc.idleAt.Add(-idleLimit)
			}
			pool.mu.Unlock()
		}
	}
	if n := conns(); n != 2 {
		t.Errorf("%d connections, want 2: one for the first two calls, a new one after it aged", n)
	}
}

// A POST the server read but did not answer is not sent again (it may
// have been done), on a reused connection or not.
func TestConnPoolNoPostTwice(t *testing.T) {
	var mu sync.Mutex
	got := 0
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			mu.Lock()
			got++
			n := got
			mu.Unlock()
			if n == 2 {
				return // read, then hang up without an answer
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		}
	})
	pool := testPool()
	defer pool.closeIdle()
	hc := &http.Client{Transport: pool}
	if err := call(context.Background(), 0, hc, http.MethodPost, "http://"+addr+"/", creds{}, map[string]int{"i": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := call(context.Background(), 0, hc, http.MethodPost, "http://"+addr+"/", creds{}, map[string]int{"i": 2}, nil); err == nil {
		t.Error("a POST the server hung up on: no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if got != 2 {
		t.Errorf("the server got %d requests, want 2 (the second not sent again)", got)
	}
}
