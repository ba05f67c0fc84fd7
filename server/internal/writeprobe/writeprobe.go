// Package writeprobe keeps the outcome of a store's write probe, so that
// /healthz floods cannot turn into write floods: the stores (SQLite,
// PostgreSQL) probe at most once every Every.
package writeprobe

import (
	"context"
	"sync"
	"time"
)

// Every is how often Probe.Check runs its probe at most.
const Every = 5 * time.Second

// Probe keeps the outcome of the last write probe. The zero value is ready.
type Probe struct {
	running sync.Mutex // held while a probe runs
	mu      sync.Mutex // guards at and err
	at      time.Time  // when the last kept probe ran, on the caller's clock
	err     error
}

// Check returns the last probe's outcome unless it is Every old at now, or
// there is none; then it runs probe, unless another caller is running it
// already (that caller's previous outcome is returned), and keeps its
// outcome unless ctx cut it short.
func (p *Probe) Check(ctx context.Context, now time.Time, probe func(context.Context) error) error {
	fresh := func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.at.IsZero() && !now.Before(p.at) && now.Sub(p.at) < Every, p.err
	}
	if ok, err := fresh(); ok || !p.running.TryLock() {
		return err
	}
	defer p.running.Unlock()
	if ok, err := fresh(); ok { // another caller probed meanwhile
		return err
	}
	err := probe(ctx)
	if ctx.Err() == nil {
		p.mu.Lock()
		p.at, p.err = now, err
		p.mu.Unlock()
	}
	return err
}
