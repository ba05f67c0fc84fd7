package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
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

// samePhone selects the ids of the device $1 and of every other device of
// its account and client id: the same phone's logins, earlier or later.
const samePhone = `SELECT o.id FROM devices d JOIN devices o ON o.user_id = d.user_id AND o.client_id = d.client_id WHERE d.id = $1`

// RevokeDevice implements server.Store. The tickets are cancelled before
// the sessions are revoked: a redeem that holds a ticket's row lock makes
// the cancel wait for it and skip the ticket, and the next statement, on a
// new snapshot (READ COMMITTED), then sees and revokes its session.
func (db *DB) RevokeDevice(ctx context.Context, deviceID string, t time.Time) ([]server.Session, []server.Ticket, error) {
	if !storable(deviceID) {
		return nil, nil, nil // no such device, and so nothing of it
	}
	var sessions []server.Session
	var tickets []server.Ticket
	err := db.inTx(ctx, "device", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $2 WHERE id IN (`+samePhone+`) AND revoked_at IS NULL`, deviceID, never(t)); err != nil {
			return wrap(err, "device")
		}
		rows, err := tx.Query(ctx, `UPDATE tickets SET state = 'cancelled', version = version + 1, updated_at = $2
			WHERE state IN ('scanned', 'confirmed') AND device_id IN (`+samePhone+`) RETURNING `+ticketColumns, deviceID, at(t))
		if err != nil {
			return wrap(err, "ticket")
		}
		if tickets, err = scanTickets(rows); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `UPDATE sessions SET revoked_at = $2
			WHERE device_id IN (`+samePhone+`) AND revoked_at IS NULL AND expires_at > $3 RETURNING `+sessionColumns, deviceID, never(t), at(t))
		if err != nil {
			return wrap(err, "session")
		}
		sessions, err = scanSessions(rows)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return sessions, tickets, nil
}
