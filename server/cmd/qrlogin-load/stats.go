package main

import (
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Latencies records every sample it is given, so that its percentiles are
// exact (a load of a few minutes at a few thousand a second is a few MB).
// It is safe for concurrent use.
type Latencies struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one sample.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

// Summary returns the percentiles of the samples recorded so far.
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	return summarize(s)
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarize sorts s in place and returns its percentiles.
func summarize(s []time.Duration) Summary {
	slices.Sort(s)
	return Summary{
		N:   len(s),
		P50: ms(percentile(s, 50)),
		P95: ms(percentile(s, 95)),
		P99: ms(percentile(s, 99)),
		Max: ms(percentile(s, 100)),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest sample that at least p% of the samples are at or below. It is 0
// for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// Errors counts failures by kind ("create:429", "ws_dial", "push_timeout").
// It is safe for concurrent use.
type Errors struct {
	mu sync.Mutex
	m  map[string]int64
	n  int64
}

// Add counts one failure of kind.
func (e *Errors) Add(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = make(map[string]int64)
	}
	e.m[kind]++
	e.n++
	e.mu.Unlock()
}

// Total is the number of failures counted.
func (e *Errors) Total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

// ByKind returns a copy of the counts.
func (e *Errors) ByKind() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]int64, len(e.m))
	maps.Copy(m, e.m)
	return m
}
