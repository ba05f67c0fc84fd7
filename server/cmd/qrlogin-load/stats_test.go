package main

import (
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*ms)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", []time.Duration{7 * ms}, 50, 7 * ms},
		{"one p0", []time.Duration{7 * ms}, 0, 7 * ms},
		{"p50 of 100", hundred, 50, 50 * ms},
		{"p95 of 100", hundred, 95, 95 * ms},
		{"p99 of 100", hundred, 99, 99 * ms},
		{"p100 of 100", hundred, 100, 100 * ms},
		{"p99.9 of 100 is the max", hundred, 99.9, 100 * ms},
		// Nearest rank: of 10 samples, p99 is the 10th (ceil(9.9)), the
		// worst; an interpolating or truncating p99 would hide it.
		{"p99 of 10", hundred[:10], 99, 10 * ms},
		{"p50 of 10", hundred[:10], 50, 5 * ms},
		{"p50 of 3", []time.Duration{1 * ms, 2 * ms, 30 * ms}, 50, 2 * ms},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestLatenciesSummary(t *testing.T) {
	var l Latencies
	if s := l.Summary(); s != (Summary{}) {
		t.Errorf("empty summary = %+v", s)
	}
	// 10,000 samples of 1..10,000 µs, added out of order from many
	// goroutines: the percentiles are exact.
	perm := rand.Perm(10000)
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for _, v := range perm[g*1000 : (g+1)*1000] {
				l.Add(time.Duration(v+1) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	want := Summary{N: 10000, P50: 5, P95: 9.5, P99: 9.9, Max: 10}
	if s := l.Summary(); s != want {
		t.Errorf("summary = %+v, want %+v", s, want)
	}
	// One slow outlier among 1,000 moves p99 not at all but max fully; one
	// among 99 is the p99.
	var m Latencies
	for range 999 {
		m.Add(time.Millisecond)
	}
	m.Add(time.Second)
	if s := m.Summary(); s.P99 != 1 || s.Max != 1000 {
		t.Errorf("1 outlier in 1000: %+v, want p99 1, max 1000", s)
	}
	var k Latencies
	for range 99 {
		k.Add(time.Millisecond)
	}
	k.Add(time.Second)
	if s := k.Summary(); s.P99 != 1 || s.Max != 1000 {
		t.Errorf("1 outlier in 100: %+v, want p99 1 (rank 99), max 1000", s)
	}
	k.Add(time.Second)
	if s := k.Summary(); s.P99 != 1000 {
		t.Errorf("2 outliers in 101: p99 %v, want 1000 (rank ceil(99.99) = 100)", s.P99)
	}
}

func TestMs(t *testing.T) {
	if got := ms(1234567 * time.Nanosecond); got != 1.235 {
		t.Errorf("ms(1.234567ms) = %v, want 1.235", got)
	}
}

func TestErrors(t *testing.T) {
	var e Errors
	if e.Total() != 0 || len(e.ByKind()) != 0 {
		t.Fatal("zero Errors is not empty")
	}
	e.Add("create:429")
	e.Add("create:429")
	e.Add("push_timeout")
	if e.Total() != 3 {
		t.Errorf("total = %d, want 3", e.Total())
	}
	m := e.ByKind()
	if m["create:429"] != 2 || m["push_timeout"] != 1 || len(m) != 2 {
		t.Errorf("by kind = %v", m)
	}
}

func TestErrKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&stepError{"scan", &httpError{status: 409}}, "scan:409"},
		{&stepError{"create", os.ErrDeadlineExceeded}, "create:timeout"},
		{&stepError{"ws_dial", errTimeout}, "ws_dial:timeout"},
		{&stepError{"ws_closed", &httpError{status: 1013}}, "ws_closed:1013"},
		{&stepError{"create", os.ErrClosed}, "create:net"},
		{kindError("push_timeout"), "push_timeout"},
	} {
		if got := kindOf("login", tc.err); got != tc.want {
			t.Errorf("kindOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !strings.HasPrefix(kindOf("login", os.ErrClosed), "login:") {
		t.Error("a bare error is not named by the step")
	}
}
