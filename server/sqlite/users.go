package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"qrlogin/server"
)

// CreateUser implements server.Store.
func (db *DB) CreateUser(ctx context.Context, u server.User) error {
	_, err := db.exec(ctx, `INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.DisplayName, u.AvatarURL, u.PasswordHash, nanos(u.CreatedAt))
	if isUnique(err) {
		return server.Errorf(server.CodeConflict, "the username %q is taken", u.Username)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

const userColumns = `id, username, display_name, avatar_url, password_hash, created_at`

func scanUser(row *sql.Row) (server.User, error) {
	var u server.User
	var created int64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.AvatarURL, &u.PasswordHash, &created)
	u.CreatedAt = fromNanos(created)
	return u, notFound(err, "user")
}

// UserByUsername implements server.Store.
func (db *DB) UserByUsername(ctx context.Context, username string) (server.User, error) {
	return scanUser(db.row(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
}

// UserByID implements server.Store.
func (db *DB) UserByID(ctx context.Context, id string) (server.User, error) {
	return scanUser(db.row(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// CreateDevice implements server.Store.
func (db *DB) CreateDevice(ctx context.Context, d server.Device) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`,
			nanos(d.CreatedAt), d.UserID, d.ClientID); err != nil {
			return fmt.Errorf("sqlite: revoke old device tokens: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, client_id, name, platform, token_hash, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.UserID, d.ClientID, d.Name, d.Platform, d.TokenHash, nanos(d.CreatedAt), nanos(d.LastSeenAt))
		if err != nil {
			return fmt.Errorf("sqlite: create device: %w", err)
		}
		return nil
	})
}

// DeviceByTokenHash implements server.Store.
func (db *DB) DeviceByTokenHash(ctx context.Context, h []byte) (server.Device, error) {
	var d server.Device
	var created, seen, revoked int64
	err := db.row(ctx, `SELECT id, user_id, client_id, name, platform, token_hash, created_at, last_seen_at, revoked_at FROM devices WHERE token_hash = ?`, h).
		Scan(&d.ID, &d.UserID, &d.ClientID, &d.Name, &d.Platform, &d.TokenHash, &created, &seen, &revoked)
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = fromNanos(created), fromNanos(seen), fromNanos(revoked)
	return d, notFound(err, "device")
}

// RevokeDevice implements server.Store.
func (db *DB) RevokeDevice(ctx context.Context, deviceID string, at time.Time) ([]server.Session, error) {
	var revoked []server.Session
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, nanos(at), deviceID); err != nil {
			return fmt.Errorf("sqlite: revoke device: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE device_id = ? AND revoked_at = 0 AND expires_at > ?`, deviceID, nanos(at))
		if err != nil {
			return fmt.Errorf("sqlite: device sessions: %w", err)
		}
		revoked, err = scanSessions(rows)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE device_id = ? AND revoked_at = 0 AND expires_at > ?`, nanos(at), deviceID, nanos(at)); err != nil {
			return fmt.Errorf("sqlite: revoke device sessions: %w", err)
		}
		for i := range revoked {
			revoked[i].RevokedAt = at
		}
		return nil
	})
	return revoked, err
}
