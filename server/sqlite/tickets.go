package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

const ticketColumns = `id, version, state, poll_secret_hash, current_ref, desktop_name, desktop_os, desktop_app, desktop_ip, desktop_user_agent,
	created_at, expires_at, rotate_until, match_code, match_required, match_failures, user_id, device_id, scan_token_hash,
	scanned_at, confirmed_at, session_id, updated_at, key_thumbprint, rotate_every, app_flow`

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanTicket(row rowScanner) (server.Ticket, error) {
	var t server.Ticket
	var created, expires, rotateUntil, scanned, confirmed, updated, every int64
	var state string
	err := row.Scan(&t.ID, &t.Version, &state, &t.PollSecretHash, &t.Ref, &t.Desktop.Name, &t.Desktop.OS, &t.Desktop.App, &t.Desktop.IP, &t.Desktop.UserAgent,
		&created, &expires, &rotateUntil, &t.MatchCode, &t.MatchRequired, &t.MatchFailures, &t.UserID, &t.DeviceID, &t.ScanTokenHash,
		&scanned, &confirmed, &t.SessionID, &updated, &t.KeyThumbprint, &every, &t.App)
	t.RotateEvery = time.Duration(every)
	t.State = server.State(state)
	t.CreatedAt, t.ExpiresAt, t.RotateUntil = fromNanos(created), fromNanos(expires), fromNanos(rotateUntil)
	t.ScannedAt, t.ConfirmedAt, t.UpdatedAt = fromNanos(scanned), fromNanos(confirmed), fromNanos(updated)
	return t, notFound(err, "ticket")
}

// ticketArgs lists t's values in ticketColumns' order.
func ticketArgs(t *server.Ticket) []any {
	return []any{t.ID, t.Version, string(t.State), t.PollSecretHash, t.Ref, t.Desktop.Name, t.Desktop.OS, t.Desktop.App, t.Desktop.IP, t.Desktop.UserAgent,
		nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.RotateUntil), t.MatchCode, t.MatchRequired, t.MatchFailures, t.UserID, t.DeviceID, nullBytes(t.ScanTokenHash),
		nanos(t.ScannedAt), nanos(t.ConfirmedAt), t.SessionID, nanos(t.UpdatedAt), t.KeyThumbprint, int64(t.RotateEvery), string(t.App)}
}

// The statements of the hot write transactions (prepared at Open).
var (
	qInsertTicket      = `INSERT INTO tickets (` + ticketColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	qInsertRef         = `INSERT INTO ticket_refs (ref, ticket_id) VALUES (?, ?)`
	qTicketByID        = `SELECT ` + ticketColumns + ` FROM tickets WHERE id = ?`
	qTicketByScanToken = `SELECT ` + ticketColumns + ` FROM tickets WHERE scan_token_hash = ?`
	qUpdateTicket      = `UPDATE tickets SET version = ?1, state = ?2, expires_at = ?3, rotate_until = ?4,
			match_required = ?5, match_failures = ?6, user_id = ?7, device_id = ?8, scan_token_hash = ?9, scanned_at = ?10, confirmed_at = ?11,
			session_id = ?12, updated_at = ?13 WHERE id = ?14 AND version = ?15 AND app_flow = ?16`
	// qUpdateTicketSameToken is qUpdateTicket (the same arguments) for an
	// update that keeps the scan token: SQLite rewrites the entry of
	// every index whose column the SET names, changed or not, and the
	// scan token's is one.
	qUpdateTicketSameToken = `UPDATE tickets SET version = ?1, state = ?2, expires_at = ?3, rotate_until = ?4,
			match_required = ?5, match_failures = ?6, user_id = ?7, device_id = ?8, scanned_at = ?10, confirmed_at = ?11,
			session_id = ?12, updated_at = ?13 WHERE id = ?14 AND version = ?15 AND app_flow = ?16 AND ?9 IS scan_token_hash`
	// qExtendTickets moves the deadline of pending, unexpired tickets
	// later, or marks those never updated (server.Store), and returns what
	// it changed. Arguments: until, now, the ids as a JSON array.
	qExtendTickets = `UPDATE tickets SET version = version + 1, expires_at = max(expires_at, min(?1, rotate_until)), updated_at = ?2
			WHERE id IN (SELECT value FROM json_each(?3)) AND state = 'pending' AND expires_at > ?2
			AND (expires_at < min(?1, rotate_until) OR version = 1)
			RETURNING id, version, expires_at`
	qTicketByRef = `SELECT ` + prefixed("t.", ticketColumns) + ` FROM ticket_refs r JOIN tickets t ON t.id = r.ticket_id WHERE r.ref = ?`
)

// CreateTicket implements server.Store.
func (db *DB) CreateTicket(ctx context.Context, t server.Ticket) error {
	return db.inTxThen(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, qInsertTicket, ticketArgs(&t)...); err != nil {
			return fmt.Errorf("sqlite: create ticket: %w", err)
		}
		if t.RotateEvery > 0 {
			return nil // its refs are sealed: found by its id (server.Store)
		}
		if _, err := db.txExec(ctx, tx, qInsertRef, t.Ref, t.ID); err != nil {
			return fmt.Errorf("sqlite: create ticket ref: %w", err)
		}
		return nil
	}, func() { db.tickets.put(t) })
}

// TicketByID implements server.Store.
func (db *DB) TicketByID(ctx context.Context, id string) (server.Ticket, error) {
	if t, ok := db.tickets.get(id); ok {
		return t, nil
	}
	return scanTicket(db.row(ctx, qTicketByID, id))
}

// TicketByRef implements server.Store.
func (db *DB) TicketByRef(ctx context.Context, ref string) (server.Ticket, error) {
	return scanTicket(db.row(ctx, qTicketByRef, ref))
}

// UpdateTicket implements server.Store.
func (db *DB) UpdateTicket(ctx context.Context, id string, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	return db.updateTicket(ctx, qTicketByID, id, func() (server.Ticket, bool) { return db.tickets.get(id) }, update)
}

// UpdateTicketByScanToken implements server.Store.
func (db *DB) UpdateTicketByScanToken(ctx context.Context, h []byte, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	if len(h) == 0 {
		return server.Ticket{}, notFound(sql.ErrNoRows, "ticket")
	}
	return db.updateTicket(ctx, qTicketByScanToken, h, func() (server.Ticket, bool) { return db.tickets.getByScanToken(h) }, update)
}

// updateTicket is UpdateTicket of the ticket that the one-row query q
// finds by key, and cached looks up in the cache. It starts from the
// cached ticket if there is one (ticketCache); if that was not the row as
// stored (the compare-and-swap missed) or the updater failed on it, it
// reads the row and runs the updater again, so that every outcome is
// decided on the stored row.
func (db *DB) updateTicket(ctx context.Context, q string, key any, cached func() (server.Ticket, bool), update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	var out server.Ticket
	err := db.inTxThen(ctx, func(tx *sql.Tx) error {
		// try updates t in tx unless the row changed since t; it asks
		// for a retry, having written nothing, if t came from the cache
		// and the updater or the swap failed.
		try := func(t server.Ticket, fromCache bool) (retry bool, err error) {
			id, ref, app, oldVersion, oldToken := t.ID, t.Ref, t.App, t.Version, t.ScanTokenHash
			sess, err := update(&t)
			if err != nil {
				return fromCache, err
			}
			t.ID, t.Ref, t.App, t.Version = id, ref, app, oldVersion+1
			q := qUpdateTicket
			if bytes.Equal(t.ScanTokenHash, oldToken) {
				q = qUpdateTicketSameToken
			}
			res, err := db.txExec(ctx, tx, q,
				t.Version, string(t.State), nanos(t.ExpiresAt), nanos(t.RotateUntil),
				t.MatchRequired, t.MatchFailures, t.UserID, t.DeviceID, nullBytes(t.ScanTokenHash), nanos(t.ScannedAt), nanos(t.ConfirmedAt),
				t.SessionID, nanos(t.UpdatedAt), id, oldVersion, string(app))
			if err != nil {
				return false, fmt.Errorf("sqlite: update ticket: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fromCache, server.Errorf(server.CodeConflict, "the ticket changed meanwhile")
			}
			if sess != nil {
				if err := db.insertSession(ctx, tx, sess, id); err != nil {
					return false, err
				}
			}
			out = t
			return false, nil
		}
		if t, ok := cached(); ok {
			if retry, err := try(t, true); !retry {
				return err
			}
		}
		t, err := scanTicket(db.txRow(ctx, tx, q, key))
		if err != nil {
			return err
		}
		_, err = try(t, false)
		return err
	}, func() { db.tickets.put(out) })
	return out, err
}

// ExtendTickets implements server.Store in one prepared UPDATE of all
// the tickets.
func (db *DB) ExtendTickets(ctx context.Context, ids []string, until, now time.Time) (int, error) {
	type extension struct {
		id               string
		version, expires int64
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, fmt.Errorf("sqlite: extend tickets: %w", err)
	}
	var done []extension
	err = db.inTxThen(ctx, func(tx *sql.Tx) error {
		done = done[:0]
		rows, err := db.txQuery(ctx, tx, qExtendTickets, nanos(until), nanos(now), string(list))
		if err != nil {
			return fmt.Errorf("sqlite: extend tickets: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e extension
			if err := rows.Scan(&e.id, &e.version, &e.expires); err != nil {
				return fmt.Errorf("sqlite: extend tickets: %w", err)
			}
			done = append(done, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: extend tickets: %w", err)
		}
		return nil
	}, func() {
		for _, e := range done {
			db.tickets.extended(e.id, e.version, fromNanos(e.expires), fromNanos(nanos(now)))
		}
	})
	if err != nil {
		return 0, err
	}
	return len(done), nil
}

// DueTickets implements server.Store.
func (db *DB) DueTickets(ctx context.Context, t time.Time, limit int) ([]server.Ticket, error) {
	rows, err := db.rows(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE state IN ('pending', 'scanned', 'confirmed') AND expires_at <= ? ORDER BY expires_at LIMIT ?`, nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due tickets: %w", err)
	}
	return scanTickets(rows)
}

// scanTickets reads and closes rows of ticketColumns.
func scanTickets(rows *sql.Rows) ([]server.Ticket, error) {
	defer rows.Close()
	var out []server.Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}

const qDeleteOldTickets = `DELETE FROM tickets
	WHERE created_at < ?1 AND updated_at < ?1 AND (state NOT IN ('pending', 'scanned', 'confirmed') OR expires_at < ?1)`

// DeleteTicketsBefore implements server.Store. It finds them by
// created_at (indexed; never changed): a ticket updated before t was
// created before t, but for clock skew between nodes, which leaves a
// ticket to a later purge.
func (db *DB) DeleteTicketsBefore(ctx context.Context, t time.Time) (int, error) {
	forget := func(res sql.Result) {
		if n, _ := res.RowsAffected(); n > 0 {
			db.tickets.clear()
		}
	}
	res, err := db.execThen(ctx, forget, qDeleteOldTickets, nanos(t))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete old tickets: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CountTicketsByState implements server.Store.
func (db *DB) CountTicketsByState(ctx context.Context) (map[server.State]int, error) {
	rows, err := db.rows(ctx, `SELECT state, count(*) FROM tickets GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count tickets: %w", err)
	}
	defer rows.Close()
	out := map[server.State]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count tickets: %w", err)
		}
		out[server.State(s)] = n
	}
	return out, rows.Err()
}

// prefixed qualifies each name of a comma-separated column list with p.
func prefixed(p, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = p + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// nullBytes stores an empty hash as NULL, which the unique index allows
// many of.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
