package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

const sessionColumns = `id, user_id, device_id, token_hash, desktop_name, desktop_os, desktop_app, ip, created_at, last_seen_at, expires_at, revoked_at, key_thumbprint`

func scanSession(row rowScanner) (server.Session, error) {
	var s server.Session
	var created, seen, expires, revoked int64
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.TokenHash, &s.Desktop.Name, &s.Desktop.OS, &s.Desktop.App, &s.Desktop.IP,
		&created, &seen, &expires, &revoked, &s.KeyThumbprint)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RevokedAt = fromNanos(created), fromNanos(seen), fromNanos(expires), fromNanos(revoked)
	return s, notFound(err, "session")
}

func scanSessions(rows *sql.Rows) ([]server.Session, error) {
	defer rows.Close()
	var out []server.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

var qInsertSession = `INSERT INTO sessions (` + sessionColumns + `, ticket_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// insertSession stores s, which the redeem of ticket ticketID creates.
func (db *DB) insertSession(ctx context.Context, tx *sql.Tx, s *server.Session, ticketID string) error {
	_, err := db.txExec(ctx, tx, qInsertSession,
		s.ID, s.UserID, s.DeviceID, s.TokenHash, s.Desktop.Name, s.Desktop.OS, s.Desktop.App, s.Desktop.IP,
		nanos(s.CreatedAt), nanos(s.LastSeenAt), nanos(s.ExpiresAt), nanos(s.RevokedAt), s.KeyThumbprint, ticketID)
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash implements server.Store.
func (db *DB) SessionByTokenHash(ctx context.Context, h []byte) (server.Session, error) {
	return scanSession(db.row(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, h))
}

// ListSessions implements server.Store.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]server.Session, error) {
	rows, err := db.rows(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY created_at DESC`, userID, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	return scanSessions(rows)
}

// RevokeSession implements server.Store.
func (db *DB) RevokeSession(ctx context.Context, userID, sessionID string, at time.Time) (server.Session, error) {
	var s server.Session
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ? AND user_id = ? AND revoked_at = 0 AND expires_at > ?`, sessionID, userID, nanos(at)))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ?`, nanos(at), sessionID); err != nil {
			return fmt.Errorf("sqlite: revoke session: %w", err)
		}
		s.RevokedAt = at
		return nil
	})
	return s, err
}

// TouchSession implements server.Store.
func (db *DB) TouchSession(ctx context.Context, id string, t time.Time) error {
	if _, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, nanos(t), id, nanos(t)); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// PurgeSessions implements server.Store: the sessions go first, so that a
// device whose last sessions they were goes in the same transaction. A
// session's ticket is found by the ticket_id its redeem stored; the devices
// that live tickets name are read once per call, from the live tickets'
// index.
func (db *DB) PurgeSessions(ctx context.Context, t time.Time, limit int) (int, error) {
	queries := []string{
		`DELETE FROM sessions WHERE rowid IN (SELECT s.rowid FROM sessions s
			WHERE (s.expires_at < ?1 OR s.revoked_at <> 0 AND s.revoked_at < ?1)
			AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.id = s.ticket_id AND k.session_id = s.id) LIMIT ?2)`,
		`DELETE FROM devices WHERE rowid IN (SELECT d.rowid FROM devices d WHERE d.revoked_at <> 0 AND d.revoked_at < ?1
			AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.device_id = d.id)
			AND d.id NOT IN (SELECT k.device_id FROM tickets k WHERE k.state IN ('pending', 'scanned', 'confirmed')) LIMIT ?2)`,
	}
	n, err := db.deleteAll(ctx, queries, nanos(t), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge sessions and devices: %w", err)
	}
	return n, nil
}

// deleteAll runs each query with args in one transaction and returns the
// rows they changed in all.
func (db *DB) deleteAll(ctx context.Context, queries []string, args ...any) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range queries {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	return n, err
}
