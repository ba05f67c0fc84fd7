package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"qrlogin/server"
)

const sessionColumns = `id, user_id, device_id, token_hash, desktop_name, desktop_os, desktop_app, ip, created_at, last_seen_at, expires_at, revoked_at`

const insertSession = `INSERT INTO sessions (` + sessionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// sessionArgs lists s's values in sessionColumns' order.
func sessionArgs(s *server.Session) []any {
	return []any{s.ID, s.UserID, s.DeviceID, s.TokenHash, text(s.Desktop.Name), text(s.Desktop.OS), text(s.Desktop.App), text(s.Desktop.IP),
		at(s.CreatedAt), at(s.LastSeenAt), at(s.ExpiresAt), never(s.RevokedAt)}
}

func scanSession(row pgx.Row) (server.Session, error) {
	var s server.Session
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.TokenHash, &s.Desktop.Name, &s.Desktop.OS, &s.Desktop.App, &s.Desktop.IP,
		tm(&s.CreatedAt), tm(&s.LastSeenAt), tm(&s.ExpiresAt), tm(&s.RevokedAt))
	return s, wrap(err, "session")
}

func scanSessions(rows pgx.Rows) ([]server.Session, error) {
	defer rows.Close()
	var out []server.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, wrap(rows.Err(), "session")
}

// SessionByTokenHash implements server.Store.
func (db *DB) SessionByTokenHash(ctx context.Context, h []byte) (server.Session, error) {
	return scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, h))
}

// ListSessions implements server.Store.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]server.Session, error) {
	if !storable(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id`,
		userID, at(now))
	if err != nil {
		return nil, wrap(err, "session")
	}
	return scanSessions(rows)
}

// RevokeSession implements server.Store: one statement, which finds the live
// session and revokes it.
func (db *DB) RevokeSession(ctx context.Context, userID, sessionID string, t time.Time) (server.Session, error) {
	if !storable(userID) || !storable(sessionID) {
		return server.Session{}, notFound("session")
	}
	return scanSession(db.pool.QueryRow(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $4 RETURNING `+sessionColumns,
		never(t), sessionID, userID, at(t)))
}

// TouchSession implements server.Store. It never moves last_seen_at back.
func (db *DB) TouchSession(ctx context.Context, id string, t time.Time) error {
	if !storable(id) {
		return nil
	}
	_, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`, at(t), id)
	return wrap(err, "session")
}
