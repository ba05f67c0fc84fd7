package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
)

const desktopKeyColumns = `id, user_id, thumbprint, name, os, ip, created_at, last_used_at, requests, pending_until, ticket_ref`

func scanDesktopKey(row pgx.Row) (server.DesktopKey, error) {
	var k server.DesktopKey
	var requests []time.Time
	err := row.Scan(&k.ID, &k.UserID, &k.Thumbprint, &k.Name, &k.OS, &k.IP, tm(&k.CreatedAt), tm(&k.LastUsedAt), &requests, tm(&k.PendingUntil), &k.TicketRef)
	for _, t := range requests {
		k.Requests = append(k.Requests, t.UTC())
	}
	return k, wrap(err, "enrolled desktop")
}

// times are times as a timestamptz[] column stores them.
func times(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = at(t)
	}
	return out
}

// EnrollDesktopKey implements server.Store.
func (db *DB) EnrollDesktopKey(ctx context.Context, k server.DesktopKey) (server.DesktopKey, error) {
	return scanDesktopKey(db.pool.QueryRow(ctx, `INSERT INTO desktop_keys (`+desktopKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (thumbprint) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, os = excluded.os,
			ip = excluded.ip, last_used_at = excluded.last_used_at,
			pending_until = CASE WHEN desktop_keys.user_id = excluded.user_id THEN desktop_keys.pending_until END,
			ticket_ref = CASE WHEN desktop_keys.user_id = excluded.user_id THEN desktop_keys.ticket_ref ELSE '' END
		RETURNING `+desktopKeyColumns,
		k.ID, k.UserID, text(k.Thumbprint), text(k.Name), text(k.OS), text(k.IP), at(k.CreatedAt), at(k.LastUsedAt),
		times(k.Requests), never(k.PendingUntil), text(k.TicketRef)))
}

// DesktopKeyByThumbprint implements server.Store.
func (db *DB) DesktopKeyByThumbprint(ctx context.Context, thumbprint string) (server.DesktopKey, error) {
	if !storable(thumbprint) {
		return server.DesktopKey{}, notFound("enrolled desktop")
	}
	return scanDesktopKey(db.pool.QueryRow(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE thumbprint = $1`, thumbprint))
}

// DesktopKeysOf implements server.Store.
func (db *DB) DesktopKeysOf(ctx context.Context, userID string) ([]server.DesktopKey, error) {
	if !storable(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE user_id = $1 ORDER BY last_used_at DESC, id`, userID)
	if err != nil {
		return nil, wrap(err, "enrolled desktop")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (server.DesktopKey, error) { return scanDesktopKey(row) })
	return out, wrap(err, "enrolled desktop")
}

// UpdateDesktopKey implements server.Store: the row is locked (FOR
// UPDATE) from the read to the write, which serializes racing updates.
func (db *DB) UpdateDesktopKey(ctx context.Context, id string, update func(k *server.DesktopKey) error) (server.DesktopKey, error) {
	var k server.DesktopKey
	if !storable(id) {
		return k, notFound("enrolled desktop")
	}
	err := db.inTx(ctx, "enrolled desktop", func(tx pgx.Tx) error {
		var err error
		if k, err = scanDesktopKey(tx.QueryRow(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		if err := update(&k); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE desktop_keys SET name = $1, os = $2, ip = $3, last_used_at = $4, requests = $5, pending_until = $6, ticket_ref = $7 WHERE id = $8`,
			text(k.Name), text(k.OS), text(k.IP), at(k.LastUsedAt), times(k.Requests), never(k.PendingUntil), text(k.TicketRef), id)
		return wrap(err, "enrolled desktop")
	})
	return k, err
}

// RemoveDesktopKey implements server.Store.
func (db *DB) RemoveDesktopKey(ctx context.Context, userID, id string, t time.Time) (server.DesktopKey, []server.Session, error) {
	var k server.DesktopKey
	var revoked []server.Session
	if !storable(userID) || !storable(id) {
		return k, nil, notFound("enrolled desktop")
	}
	err := db.inTx(ctx, "enrolled desktop", func(tx pgx.Tx) error {
		var err error
		if k, err = scanDesktopKey(tx.QueryRow(ctx, `DELETE FROM desktop_keys WHERE id = $1 AND user_id = $2 RETURNING `+desktopKeyColumns, id, userID)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE sessions SET revoked_at = $1
			WHERE user_id = $2 AND key_thumbprint = $3 AND revoked_at IS NULL AND expires_at > $4 RETURNING `+sessionColumns,
			never(t), userID, k.Thumbprint, at(t))
		if err != nil {
			return wrap(err, "session")
		}
		revoked, err = scanSessions(rows)
		return err
	})
	return k, revoked, err
}
