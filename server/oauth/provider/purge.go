package provider

import (
	"context"
	"time"
)

// PurgeEvery is how often Run removes expired codes and tokens.
const PurgeEvery = 10 * time.Minute

// Run removes the codes and tokens that have expired and that replay
// detection no longer needs (oauth.Store.PurgeExpired), at once and then
// every PurgeEvery, until ctx ends. Without it they would pile up: every
// login through an app leaves a code, an access token and a refresh token.
// On several nodes each runs it; the deletes are idempotent.
func (p *Provider) Run(ctx context.Context) {
	t := time.NewTicker(PurgeEvery)
	defer t.Stop()
	for {
		p.purge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeBatch is how many codes and tokens one purge transaction removes at
// most, so that a backlog does not hold the database's writer for long.
const purgeBatch = 1000

// purge removes what expired before now and replay detection no longer
// needs, batch by batch.
func (p *Provider) purge(ctx context.Context) {
	now, total := p.now(), 0
	for ctx.Err() == nil {
		n, err := p.st.PurgeExpired(ctx, now, purgeBatch)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("purge expired codes and tokens", "err", err)
			}
			return
		}
		total += n
		if n < purgeBatch {
			break
		}
	}
	if total > 0 {
		p.log.Debug("purged expired codes and tokens", "count", total)
	}
}
