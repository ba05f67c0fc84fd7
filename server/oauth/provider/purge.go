package provider

import (
	"context"
	"time"
)

// PurgeEvery is how often Run removes expired codes and tokens.
const PurgeEvery = 10 * time.Minute

// Run removes the codes and tokens that have expired, at once and then
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

// purge removes what expired before now.
func (p *Provider) purge(ctx context.Context) {
	n, err := p.st.PurgeExpired(ctx, p.now())
	switch {
	case err != nil && ctx.Err() == nil:
		p.log.Error("purge expired codes and tokens", "err", err)
	case n > 0:
		p.log.Debug("purged expired codes and tokens", "count", n)
	}
}
