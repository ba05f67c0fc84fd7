package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// signingKeyLock is the key of the transaction-level advisory lock under
// which signing keys are added: the first by a node that finds none (nodes
// starting at once make it once), and each rotation (so that its check
// against the stored keys holds until it commits).
const signingKeyLock = migrationLock + 1

const qSigningKeys = `SELECT pem, created_at, active_from, retired_at FROM oauth_signing_keys ORDER BY active_from, id`

// querier is what reads the keys: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// signingKeys reads every key on q.
func signingKeys(ctx context.Context, q querier) ([]oauth.SigningKey, error) {
	rows, err := q.Query(ctx, qSigningKeys)
	if err != nil {
		return nil, wrap(err, "signing keys")
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (oauth.SigningKey, error) {
		var k oauth.SigningKey
		err := row.Scan(&k.PEM, tm(&k.CreatedAt), tm(&k.ActiveFrom), tm(&k.RetiredAt))
		return k, err
	})
	return keys, wrap(err, "signing keys")
}

// lockSigningKeys takes the signing-key lock for the rest of tx. A
// statement after it sees what its last holder committed.
func lockSigningKeys(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeyLock)
	return wrap(err, "signing keys")
}

// insertSigningKey stores k in tx as the newest key, not retired.
func insertSigningKey(ctx context.Context, tx pgx.Tx, k oauth.SigningKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO oauth_signing_keys (pem, created_at, active_from) VALUES ($1, $2, $3)`,
		k.PEM, at(k.CreatedAt), at(k.ActiveFrom))
	return wrap(err, "signing key")
}

// SigningKeys implements oauth.Store.
func (db *DB) SigningKeys(ctx context.Context) ([]oauth.SigningKey, error) {
	return signingKeys(ctx, db.pool)
}

// InitSigningKeys implements oauth.Store. Once a key exists it is one read;
// before, the node that takes the advisory lock first makes and stores it,
// and the others, waiting on the lock, read it: create runs once.
func (db *DB) InitSigningKeys(ctx context.Context, create func() (oauth.SigningKey, error)) ([]oauth.SigningKey, error) {
	keys, err := db.SigningKeys(ctx)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	err = db.inTx(ctx, "signing keys", func(tx pgx.Tx) error {
		if err := lockSigningKeys(ctx, tx); err != nil {
			return err
		}
		if keys, err = signingKeys(ctx, tx); err != nil || len(keys) > 0 {
			return err
		}
		k, err := create()
		if err != nil {
			return fmt.Errorf("postgres: signing key: %w", err)
		}
		if err := insertSigningKey(ctx, tx, k); err != nil {
			return err
		}
		keys, err = signingKeys(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// AddSigningKey implements oauth.Store.
func (db *DB) AddSigningKey(ctx context.Context, k oauth.SigningKey) error {
	return db.inTx(ctx, "signing key", func(tx pgx.Tx) error {
		if err := lockSigningKeys(ctx, tx); err != nil {
			return err
		}
		var later bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oauth_signing_keys WHERE active_from >= $1)`, at(k.ActiveFrom)).Scan(&later)
		if err != nil {
			return wrap(err, "signing key")
		}
		if later {
			return server.Errorf(server.CodeConflict, "a stored signing key becomes active at or after the new one")
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, at(k.ActiveFrom)); err != nil {
			return wrap(err, "signing key")
		}
		return insertSigningKey(ctx, tx, k)
	})
}

// DropSigningKeys implements oauth.Store.
func (db *DB) DropSigningKeys(ctx context.Context, t time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM oauth_signing_keys WHERE retired_at < $1`, at(t))
	if err != nil {
		return 0, wrap(err, "signing keys")
	}
	return int(tag.RowsAffected()), nil
}
