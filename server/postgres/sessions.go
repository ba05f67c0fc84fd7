package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
)

const sessionColumns = `id, user_id, device_id, token_hash, desktop_name, desktop_os, desktop_app, ip, created_at, last_seen_at, expires_at, revoked_at, key_thumbprint`

// insertSession stores a session and the ticket whose redeem created it
// (insertArgs).
const insertSession = `INSERT INTO sessions (` + sessionColumns + `, ticket_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// insertArgs lists s's values in sessionColumns' order, then ticketID.
func insertArgs(s *server.Session, ticketID string) []any {
	return []any{s.ID, s.UserID, s.DeviceID, s.TokenHash, text(s.Desktop.Name), text(s.Desktop.OS), text(s.Desktop.App), text(s.Desktop.IP),
		at(s.CreatedAt), at(s.LastSeenAt), at(s.ExpiresAt), never(s.RevokedAt), s.KeyThumbprint, ticketID}
}

func scanSession(row pgx.Row) (server.Session, error) {
	var s server.Session
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.TokenHash, &s.Desktop.Name, &s.Desktop.OS, &s.Desktop.App, &s.Desktop.IP,
		tm(&s.CreatedAt), tm(&s.LastSeenAt), tm(&s.ExpiresAt), tm(&s.RevokedAt), &s.KeyThumbprint)
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

// PurgeSessions implements server.Store, in two statements of one
// transaction: the sessions first, so that the second statement, which
// sees what the first deleted, takes the devices whose last sessions they
// were. A session's ticket is found by the ticket_id its redeem stored; the
// devices that live tickets name are read once per call.
func (db *DB) PurgeSessions(ctx context.Context, t time.Time, limit int) (int, error) {
	n := 0
	err := db.inTx(ctx, "session", func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s
				WHERE (s.expires_at < $1 OR s.revoked_at < $1)
				AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.id = s.ticket_id AND k.session_id = s.id) LIMIT $2)`,
			`DELETE FROM devices WHERE id IN (SELECT d.id FROM devices d WHERE d.revoked_at < $1
				AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.device_id = d.id)
				AND d.id NOT IN (SELECT k.device_id FROM tickets k WHERE k.state IN ` + liveStates + `) LIMIT $2)`,
		} {
			tag, err := tx.Exec(ctx, q, at(t), limit)
			if err != nil {
				return wrap(err, "session")
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
