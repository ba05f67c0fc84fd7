package postgres

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/oauthtest"
)

func TestOAuthConformance(t *testing.T) {
	oauthtest.Run(t, func(t *testing.T) oauthtest.OAuthAndCoreStore {
		return mustOpen(t, pgtest.Start(t))
	})
}

// Nodes that start at once on a new database (each its own pool) agree on
// one signing key, and only one of them makes it.
func TestSigningKeyAcrossNodes(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		dsn := pgtest.Start(t)
		nodes := make([]*DB, 4)
		for i := range nodes {
			nodes[i] = mustOpen(t, dsn)
		}
		var calls atomic.Int32
		keys := make([][]oauth.SigningKey, len(nodes)*2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				<-start
				now := time.Now()
				ks, err := nodes[i%len(nodes)].InitSigningKeys(ctx, func() (oauth.SigningKey, error) {
					calls.Add(1)
					return oauth.SigningKey{PEM: fmt.Appendf(nil, "key-%d", i), CreatedAt: now, ActiveFrom: now}, nil
				})
				if err != nil {
					t.Errorf("round %d: node %d: %v", round, i%len(nodes), err)
				}
				keys[i] = ks
			})
		}
		close(start)
		wg.Wait()
		for i, ks := range keys {
			if len(ks) != 1 || len(keys[0]) != 1 || !bytes.Equal(ks[0].PEM, keys[0][0].PEM) {
				t.Fatalf("round %d: caller %d got %+v, caller 0 %+v", round, i, ks, keys[0])
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("round %d: the key was made %d times, want once", round, n)
		}
	}
}
