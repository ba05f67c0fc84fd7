package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// At most HashesInFlight hashes run at once; a call that finds them busy
// past HashWait gets rate_limited with a Retry-After, and runs nothing.
func TestHashingBounded(t *testing.T) {
	s := &Service{cfg: Config{HashWait: 20 * time.Millisecond}, hashes: make(chan struct{}, 2)}
	var running, most, ran atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			errs <- s.hashing(context.Background(), func() {
				ran.Add(1)
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				<-release
				running.Add(-1)
			})
		})
	}
	// The two slots are taken and held; the other eight give up.
	limited := 0
	for range 8 {
		err := <-errs
		var e *server.Error
		if server.ErrorCode(err) != server.CodeRateLimited || !errors.As(err, &e) || e.RetryAfter <= 0 {
			t.Fatalf("a call over the bound: %v, want rate_limited with RetryAfter", err)
		}
		limited++
	}
	close(release)
	wg.Wait()
	if most.Load() != 2 || ran.Load() != 2 || limited != 8 {
		t.Fatalf("%d ran, at most %d at once, %d refused; want 2, 2, 8", ran.Load(), most.Load(), limited)
	}
}
