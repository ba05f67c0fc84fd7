package provider

import (
	"context"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server/internal/purge"
)

// PurgeEvery is how often Run removes expired codes and tokens.
const PurgeEvery = 10 * time.Minute

// Run does the open platform's background work until ctx ends: it sends
// back-channel logouts (see logout.go), reloads the signing keys (see
// keys.go) and purges what expired.
func (p *Provider) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { p.sendLogouts(ctx) })
	wg.Go(func() { p.reloadKeys(ctx) })
	wg.Go(func() { p.purgeExpired(ctx) })
	wg.Wait()
}

// purgeExpired removes the codes, tokens and grants that have expired and
// that replay detection no longer needs (oauth.Store.PurgeExpired), at once
// and then every PurgeEvery, until ctx ends. Without it they would pile up:
// every login through an app leaves a code, a grant and tokens. On several
// nodes each runs it; the deletes are idempotent.
func (p *Provider) purgeExpired(ctx context.Context) {
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
	purge.Run(ctx, p.log, "expired codes, tokens and grants", func(ctx context.Context, limit int) (int, error) {
		return p.st.PurgeExpired(ctx, now, limit)
	})
}
