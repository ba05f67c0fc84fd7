package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ServerKey implements server.Store.
func (db *DB) ServerKey(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	var key []byte
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_keys (name, key, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, fresh, time.Now().UnixNano()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT key FROM server_keys WHERE name = ?`, name).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: server key %s: %w", name, err)
	}
	return key, nil
}
