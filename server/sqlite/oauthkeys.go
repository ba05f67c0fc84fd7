package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

const qSigningKeys = `SELECT pem, created_at, active_from, retired_at FROM oauth_signing_keys ORDER BY active_from, id`

// scanSigningKeys reads the rows of qSigningKeys.
func scanSigningKeys(rows *sql.Rows, err error) ([]oauth.SigningKey, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []oauth.SigningKey
	for rows.Next() {
		var k oauth.SigningKey
		var created, active, retired int64
		if err := rows.Scan(&k.PEM, &created, &active, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt, k.ActiveFrom, k.RetiredAt = fromNanos(created), fromNanos(active), fromNanos(retired)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// insertSigningKey stores k in tx as the newest key, not retired.
func insertSigningKey(ctx context.Context, tx *sql.Tx, k oauth.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_signing_keys (pem, created_at, active_from) VALUES (?, ?, ?)`,
		k.PEM, nanos(k.CreatedAt), nanos(k.ActiveFrom))
	return err
}

// SigningKeys implements oauth.Store.
func (db *DB) SigningKeys(ctx context.Context) ([]oauth.SigningKey, error) {
	keys, err := scanSigningKeys(db.r.QueryContext(ctx, qSigningKeys))
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return keys, nil
}

// InitSigningKeys implements oauth.Store. Once a key exists it is one read;
// before, the write transaction (IMMEDIATE, so one at a time, in this
// process or another) reads again and makes the key only if there is still
// none.
func (db *DB) InitSigningKeys(ctx context.Context, create func() (oauth.SigningKey, error)) ([]oauth.SigningKey, error) {
	keys, err := db.SigningKeys(ctx)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if keys, err = scanSigningKeys(tx.QueryContext(ctx, qSigningKeys)); err != nil || len(keys) > 0 {
			return err
		}
		k, err := create()
		if err != nil {
			return err
		}
		if err := insertSigningKey(ctx, tx, k); err != nil {
			return err
		}
		keys, err = scanSigningKeys(tx.QueryContext(ctx, qSigningKeys))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return keys, nil
}

// AddSigningKey implements oauth.Store.
func (db *DB) AddSigningKey(ctx context.Context, k oauth.SigningKey) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var later int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM oauth_signing_keys WHERE active_from >= ?`, nanos(k.ActiveFrom)).Scan(&later)
		if err != nil {
			return fmt.Errorf("sqlite: add signing key: %w", err)
		}
		if later > 0 {
			return server.Errorf(server.CodeConflict, "a stored signing key becomes active at or after the new one")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_signing_keys SET retired_at = ? WHERE retired_at = 0`, nanos(k.ActiveFrom)); err != nil {
			return fmt.Errorf("sqlite: add signing key: %w", err)
		}
		if err := insertSigningKey(ctx, tx, k); err != nil {
			return fmt.Errorf("sqlite: add signing key: %w", err)
		}
		return nil
	})
}

// DropSigningKeys implements oauth.Store.
func (db *DB) DropSigningKeys(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM oauth_signing_keys WHERE retired_at <> 0 AND retired_at < ?`, nanos(t))
	if err != nil {
		return 0, fmt.Errorf("sqlite: drop signing keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
