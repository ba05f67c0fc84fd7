package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServerKey implements server.Store: one statement inserts fresh if name
// has no key yet and returns the key stored. Where another node's first
// call inserted meanwhile, ON CONFLICT waits for its commit and does
// nothing, but the statement's snapshot predates that row and finds none:
// the statement is then run again, and sees it.
func (db *DB) ServerKey(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	for {
		var key []byte
		err := db.pool.QueryRow(ctx, `WITH ins AS (INSERT INTO server_keys (name, key, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO NOTHING RETURNING key)
			SELECT key FROM ins UNION ALL SELECT key FROM server_keys WHERE name = $1 LIMIT 1`, name, fresh, at(time.Now())).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) && ctx.Err() == nil {
			continue
		}
		return key, wrap(err, "server key")
	}
}
