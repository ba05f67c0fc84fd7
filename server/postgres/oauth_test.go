package postgres

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"qrlogin/server/internal/pgtest"
	"qrlogin/server/oauthtest"
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
		keys := make([][]byte, len(nodes)*2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				<-start
				k, err := nodes[i%len(nodes)].SigningKey(ctx, func() ([]byte, error) {
					calls.Add(1)
					return fmt.Appendf(nil, "key-%d", i), nil
				})
				if err != nil {
					t.Errorf("round %d: node %d: %v", round, i%len(nodes), err)
				}
				keys[i] = k
			})
		}
		close(start)
		wg.Wait()
		for i, k := range keys {
			if len(k) == 0 || !bytes.Equal(k, keys[0]) {
				t.Fatalf("round %d: caller %d got %q, caller 0 %q", round, i, k, keys[0])
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("round %d: the key was made %d times, want once", round, n)
		}
	}
}
