package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

const desktopKeyColumns = `id, user_id, thumbprint, name, os, ip, created_at, last_used_at, requests, pending_until, ticket_ref`

func scanDesktopKey(row rowScanner) (server.DesktopKey, error) {
	var k server.DesktopKey
	var created, used, pending int64
	var requests string
	err := row.Scan(&k.ID, &k.UserID, &k.Thumbprint, &k.Name, &k.OS, &k.IP, &created, &used, &requests, &pending, &k.TicketRef)
	if err != nil {
		return k, notFound(err, "enrolled desktop")
	}
	k.CreatedAt, k.LastUsedAt, k.PendingUntil = fromNanos(created), fromNanos(used), fromNanos(pending)
	for _, f := range strings.FieldsFunc(requests, func(r rune) bool { return r == ',' }) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return k, fmt.Errorf("sqlite: enrolled desktop %s: requests %q: %w", k.ID, requests, err)
		}
		k.Requests = append(k.Requests, fromNanos(n))
	}
	return k, nil
}

// requestsText stores times as comma-separated Unix nanoseconds.
func requestsText(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(nanos(t), 10)
	}
	return strings.Join(parts, ",")
}

// EnrollDesktopKey implements server.Store.
func (db *DB) EnrollDesktopKey(ctx context.Context, k server.DesktopKey) (server.DesktopKey, error) {
	var out server.DesktopKey
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO desktop_keys (`+desktopKeyColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (thumbprint) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, os = excluded.os,
				ip = excluded.ip, last_used_at = excluded.last_used_at,
				pending_until = CASE WHEN desktop_keys.user_id = excluded.user_id THEN desktop_keys.pending_until ELSE 0 END,
				ticket_ref = CASE WHEN desktop_keys.user_id = excluded.user_id THEN desktop_keys.ticket_ref ELSE '' END`,
			k.ID, k.UserID, k.Thumbprint, k.Name, k.OS, k.IP, nanos(k.CreatedAt), nanos(k.LastUsedAt),
			requestsText(k.Requests), nanos(k.PendingUntil), k.TicketRef)
		if err != nil {
			return fmt.Errorf("sqlite: enroll desktop: %w", err)
		}
		out, err = scanDesktopKey(tx.QueryRowContext(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE thumbprint = ?`, k.Thumbprint))
		return err
	})
	return out, err
}

// DesktopKeyByThumbprint implements server.Store.
func (db *DB) DesktopKeyByThumbprint(ctx context.Context, thumbprint string) (server.DesktopKey, error) {
	return scanDesktopKey(db.row(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE thumbprint = ?`, thumbprint))
}

// DesktopKeysOf implements server.Store.
func (db *DB) DesktopKeysOf(ctx context.Context, userID string) ([]server.DesktopKey, error) {
	rows, err := db.rows(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE user_id = ? ORDER BY last_used_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list enrolled desktops: %w", err)
	}
	defer rows.Close()
	var out []server.DesktopKey
	for rows.Next() {
		k, err := scanDesktopKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UpdateDesktopKey implements server.Store. SQLite runs one write
// transaction at a time, which serializes racing updates.
func (db *DB) UpdateDesktopKey(ctx context.Context, id string, update func(k *server.DesktopKey) error) (server.DesktopKey, error) {
	var k server.DesktopKey
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = scanDesktopKey(tx.QueryRowContext(ctx, `SELECT `+desktopKeyColumns+` FROM desktop_keys WHERE id = ?`, id)); err != nil {
			return err
		}
		if err := update(&k); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE desktop_keys SET name = ?, os = ?, ip = ?, last_used_at = ?, requests = ?, pending_until = ?, ticket_ref = ? WHERE id = ?`,
			k.Name, k.OS, k.IP, nanos(k.LastUsedAt), requestsText(k.Requests), nanos(k.PendingUntil), k.TicketRef, id)
		if err != nil {
			return fmt.Errorf("sqlite: update enrolled desktop: %w", err)
		}
		return nil
	})
	return k, err
}

// RemoveDesktopKey implements server.Store.
func (db *DB) RemoveDesktopKey(ctx context.Context, userID, id string, at time.Time) (server.DesktopKey, []server.Session, error) {
	var k server.DesktopKey
	var revoked []server.Session
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = scanDesktopKey(tx.QueryRowContext(ctx, `DELETE FROM desktop_keys WHERE id = ? AND user_id = ? RETURNING `+desktopKeyColumns, id, userID)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE sessions SET revoked_at = ?1
			WHERE user_id = ?2 AND key_thumbprint = ?3 AND revoked_at = 0 AND expires_at > ?1 RETURNING `+sessionColumns, nanos(at), userID, k.Thumbprint)
		if err != nil {
			return fmt.Errorf("sqlite: revoke the desktop's sessions: %w", err)
		}
		revoked, err = scanSessions(rows)
		return err
	})
	return k, revoked, err
}
