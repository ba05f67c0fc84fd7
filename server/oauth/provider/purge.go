package provider

import (
	"context"
	"time"

	"qrlogin/server/internal/purge"
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

// purge removes what expired before now and replay detection no longer
// needs, batch by batch.
func (p *Provider) purge(ctx context.Context) {
	now := p.now()
	purge.Run(ctx, p.log, "expired codes and tokens", func(ctx context.Context, limit int) (int, error) {
		return p.st.PurgeExpired(ctx, now, limit)
	})
}
