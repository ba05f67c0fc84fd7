package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"qrlogin/server"
)

const sessionColumns = `id, user_id, device_id, token_hash, desktop_name, desktop_os, desktop_app, ip, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(row rowScanner) (server.Session, error) {
	var s server.Session
	var created, seen, expires, revoked int64
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.TokenHash, &s.Desktop.Name, &s.Desktop.OS, &s.Desktop.App, &s.Desktop.IP,
		&created, &seen, &expires, &revoked)
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

var qInsertSession = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`

func (db *DB) insertSession(ctx context.Context, tx *sql.Tx, s *server.Session) error {
	_, err := db.txExec(ctx, tx, qInsertSession,
		s.ID, s.UserID, s.DeviceID, s.TokenHash, s.Desktop.Name, s.Desktop.OS, s.Desktop.App, s.Desktop.IP,
		nanos(s.CreatedAt), nanos(s.LastSeenAt), nanos(s.ExpiresAt), nanos(s.RevokedAt))
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
