package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"qrlogin/server"
)

// CreateUser implements server.Store.
func (db *DB) CreateUser(ctx context.Context, u server.User) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, text(u.Username), text(u.DisplayName), text(u.AvatarURL), u.PasswordHash, at(u.CreatedAt))
	if server.ErrorCode(wrap(err, "user")) == server.CodeConflict {
		return server.Errorf(server.CodeConflict, "the username %q is taken", u.Username)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

const userColumns = `id, username, display_name, avatar_url, password_hash, created_at`

func scanUser(row pgx.Row) (server.User, error) {
	var u server.User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.AvatarURL, &u.PasswordHash, tm(&u.CreatedAt))
	return u, wrap(err, "user")
}

// UserByUsername implements server.Store. Case does not matter.
func (db *DB) UserByUsername(ctx context.Context, username string) (server.User, error) {
	if !storable(username) {
		return server.User{}, notFound("user")
	}
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username))
}

// UserByID implements server.Store.
func (db *DB) UserByID(ctx context.Context, id string) (server.User, error) {
	if !storable(id) {
		return server.User{}, notFound("user")
	}
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// CreateDevice implements server.Store. It locks the account's row first,
// so that of two logins of the same phone at once the later one revokes the
// earlier one's token, as when they come one after the other.
func (db *DB) CreateDevice(ctx context.Context, d server.Device) error {
	return db.inTx(ctx, "device", func(tx pgx.Tx) error {
		// FOR NO KEY UPDATE does not block the key-share locks of foreign
		// key checks: sessions of the account are still created meanwhile.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, d.UserID); err != nil {
			return wrap(err, "device")
		}
		if _, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL`,
			never(d.CreatedAt), d.UserID, text(d.ClientID)); err != nil {
			return wrap(err, "device")
		}
		_, err := tx.Exec(ctx, `INSERT INTO devices (id, user_id, client_id, name, platform, token_hash, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			d.ID, d.UserID, text(d.ClientID), text(d.Name), text(d.Platform), d.TokenHash, at(d.CreatedAt), at(d.LastSeenAt))
		return wrap(err, "device")
	})
}

// DeviceByTokenHash implements server.Store.
func (db *DB) DeviceByTokenHash(ctx context.Context, h []byte) (server.Device, error) {
	var d server.Device
	err := db.pool.QueryRow(ctx, `SELECT id, user_id, client_id, name, platform, token_hash, created_at, last_seen_at, revoked_at FROM devices WHERE token_hash = $1`, h).
		Scan(&d.ID, &d.UserID, &d.ClientID, &d.Name, &d.Platform, &d.TokenHash, tm(&d.CreatedAt), tm(&d.LastSeenAt), tm(&d.RevokedAt))
	return d, wrap(err, "device")
}

// RevokeDevice implements server.Store.
func (db *DB) RevokeDevice(ctx context.Context, deviceID string, t time.Time) ([]server.Session, error) {
	if !storable(deviceID) {
		return nil, nil // no such device, and so none of its sessions
	}
	var revoked []server.Session
	err := db.inTx(ctx, "device", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, never(t), deviceID); err != nil {
			return wrap(err, "device")
		}
		rows, err := tx.Query(ctx, `UPDATE sessions SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL AND expires_at > $3 RETURNING `+sessionColumns,
			never(t), deviceID, at(t))
		if err != nil {
			return wrap(err, "session")
		}
		revoked, err = scanSessions(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}
