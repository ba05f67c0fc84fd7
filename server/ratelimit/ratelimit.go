// Package ratelimit keeps a token bucket (golang.org/x/time/rate) per key,
// such as a client address or an account, and forgets buckets that have
// refilled.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows each key perMinute events a minute, in bursts of burst.
// Its methods are safe for concurrent use.
type Limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	// settled is closed, and replaced, whenever a reservation is settled:
	// Reserve waits on it for held events to come free.
	settled chan struct{}
}

// bucket is one key's tokens, and how many of them Reserve has promised
// without taking them yet.
type bucket struct {
	lim  *rate.Limiter
	held int
}

// New returns a Limiter of perMinute events a minute per key, with bursts of
// up to burst.
func New(perMinute float64, burst int) *Limiter {
	return &Limiter{
		limit:   rate.Limit(perMinute / 60),
		burst:   burst,
		now:     time.Now,
		buckets: make(map[string]*bucket),
		settled: make(chan struct{}),
	}
}

// Allow takes one event from key's bucket. If the bucket is empty (counting
// the events reserved and not yet settled) it takes nothing and returns
// false with how long until an event is allowed.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucketLocked(key, now)
	if wait := l.waitLocked(b, now); wait > 0 {
		return false, wait
	}
	b.lim.ReserveN(now, 1)
	return true, 0
}

// Reservation is one event promised by Reserve: Keep takes it from the
// bucket, Refund gives it back. Exactly one of them must be called.
type Reservation struct {
	l *Limiter
	b *bucket
}

// Reserve promises one event of key's bucket before the caller knows
// whether the event counts (a credential that may turn out wrong). Of many
// concurrent callers at most as many as the bucket holds get a Reservation
// at once, so that they cannot overdraw it; the others wait (until ctx
// ends) for reservations to be settled, since a refunded one frees its
// event. If the bucket is empty, or ctx ends first, it returns nil with
// how long until an event is allowed.
func (l *Limiter) Reserve(ctx context.Context, key string) (*Reservation, time.Duration) {
	for {
		l.mu.Lock()
		now := l.now()
		b := l.bucketLocked(key, now)
		tokens := b.lim.TokensAt(now)
		if tokens < 1 {
			wait := l.waitLocked(b, now)
			l.mu.Unlock()
			return nil, wait
		}
		if tokens-float64(b.held) >= 1 {
			b.held++
			l.mu.Unlock()
			return &Reservation{l: l, b: b}, 0
		}
		settled := l.settled
		l.mu.Unlock()
		select {
		case <-settled:
		case <-ctx.Done():
			return nil, time.Second
		}
	}
}

// Keep takes the reserved event from the bucket: it counted.
func (r *Reservation) Keep() {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	r.b.held--
	r.b.lim.ReserveN(r.l.now(), 1) // never refused: Reserve saw the token
	r.l.settleLocked()
}

// Refund gives the reserved event back: it did not count.
func (r *Reservation) Refund() {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	r.b.held--
	r.l.settleLocked()
}

// settleLocked wakes the callers of Reserve that wait for a settlement.
func (l *Limiter) settleLocked() {
	close(l.settled)
	l.settled = make(chan struct{})
}

// Blocked reports, without taking anything, whether key's bucket is empty
// (events reserved but not settled do not count: they may be refunded),
// and if so how long until it holds an event again.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	now := l.now()
	if b.lim.TokensAt(now) >= 1 {
		return false, 0
	}
	wait := l.waitLocked(b, now)
	return true, wait
}

// waitLocked is how long until b holds one event beyond those held; 0 if
// it does now.
func (l *Limiter) waitLocked(b *bucket, now time.Time) time.Duration {
	free := b.lim.TokensAt(now) - float64(b.held)
	if free >= 1 {
		return 0
	}
	if l.limit <= 0 {
		return time.Hour
	}
	return time.Duration(math.Ceil((1 - free) / float64(l.limit) * float64(time.Second)))
}

// bucketLocked returns key's bucket, making it if needed. Now and then it
// drops the buckets that are full again and hold no reservation, so memory
// follows the active keys.
func (l *Limiter) bucketLocked(key string, now time.Time) *bucket {
	if now.Sub(l.swept) > time.Minute {
		l.swept = now
		for k, b := range l.buckets {
			if b.held == 0 && b.lim.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	return b
}

// Len is how many keys have a bucket now (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
