package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
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
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
	db.devices.drop() // it may have revoked the phone's earlier devices, even if it failed late
	return err
}

// DeviceByTokenHash implements server.Store.
func (db *DB) DeviceByTokenHash(ctx context.Context, h []byte) (server.Device, error) {
	d, gen, ok := db.devices.get(h)
	if ok {
		return d, nil
	}
	var created, seen, revoked int64
	err := db.row(ctx, `SELECT id, user_id, client_id, name, platform, token_hash, created_at, last_seen_at, revoked_at FROM devices WHERE token_hash = ?`, h).
		Scan(&d.ID, &d.UserID, &d.ClientID, &d.Name, &d.Platform, &d.TokenHash, &created, &seen, &revoked)
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = fromNanos(created), fromNanos(seen), fromNanos(revoked)
	if err == nil {
		db.devices.put(gen, d)
	}
	return d, notFound(err, "device")
}

// samePhone selects the ids of the device ?1 and of every other device of
// its account and client id: the same phone's logins, earlier or later.
const samePhone = `SELECT o.id FROM devices d JOIN devices o ON o.user_id = d.user_id AND o.client_id = d.client_id WHERE d.id = ?1`

// RevokeDevice implements server.Store.
func (db *DB) RevokeDevice(ctx context.Context, deviceID string, at time.Time) ([]server.Session, []server.Ticket, error) {
	var sessions []server.Session
	var tickets []server.Ticket
	err := db.inTxThen(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ?2 WHERE id IN (`+samePhone+`) AND revoked_at = 0`, deviceID, nanos(at)); err != nil {
			return fmt.Errorf("sqlite: revoke device: %w", err)
		}
		// Among the live tickets, by their index, which carries the device
		// (a pending ticket has none).
		rows, err := tx.QueryContext(ctx, `UPDATE tickets INDEXED BY tickets_live_expiry SET state = 'cancelled', version = version + 1, updated_at = ?2
			WHERE state IN ('pending', 'scanned', 'confirmed') AND device_id IN (`+samePhone+`) RETURNING `+ticketColumns, deviceID, nanos(at))
		if err != nil {
			return fmt.Errorf("sqlite: cancel device tickets: %w", err)
		}
		if tickets, err = scanTickets(rows); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `UPDATE sessions SET revoked_at = ?2
			WHERE device_id IN (`+samePhone+`) AND revoked_at = 0 AND expires_at > ?2 RETURNING `+sessionColumns, deviceID, nanos(at))
		if err != nil {
			return fmt.Errorf("sqlite: revoke device sessions: %w", err)
		}
		sessions, err = scanSessions(rows)
		return err
	}, func() { db.tickets.put(tickets...) })
	db.devices.drop() // even if it failed, as CreateDevice
	if err != nil {
		return nil, nil, err
	}
	return sessions, tickets, nil
}
