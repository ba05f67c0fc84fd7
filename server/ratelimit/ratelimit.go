// Package ratelimit keeps a token bucket (golang.org/x/time/rate) per key,
// such as a client IP or an account, and forgets buckets that have refilled.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows each key perMinute events a minute, in bursts of burst.
type Limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// New returns a Limiter of perMinute events a minute per key, with bursts of
// up to burst.
func New(perMinute float64, burst int) *Limiter {
	return &Limiter{
		limit:   rate.Limit(perMinute / 60),
		burst:   burst,
		now:     time.Now,
		buckets: make(map[string]*rate.Limiter),
	}
}

// Allow takes one event from key's bucket. If the bucket is empty it takes
// nothing and returns false with how long until an event is allowed.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	b := l.bucket(key, now)
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Blocked reports, without taking anything, whether key's bucket is empty,
// and if so how long until it holds an event again.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[key]
	l.mu.Unlock()
	if b == nil {
		return false, 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration(math.Ceil((1 - tokens) / float64(l.limit) * float64(time.Second)))
}

// bucket returns key's bucket, making it if needed. Now and then it drops
// the buckets that are full again, so memory follows the active keys.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.swept = now
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	return b
}
