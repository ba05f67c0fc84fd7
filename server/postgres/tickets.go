package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
)

const ticketColumns = `id, version, state, poll_secret_hash, current_ref, desktop_name, desktop_os, desktop_app, desktop_ip, desktop_user_agent,
	created_at, expires_at, rotate_until, match_code, match_required, match_failures, user_id, device_id, scan_token_hash,
	scanned_at, confirmed_at, session_id, updated_at, key_thumbprint, rotate_every, app_flow`

// liveStates are the states a ticket can still leave (not State.Final).
const liveStates = `('pending', 'scanned', 'confirmed')`

func scanTicket(row pgx.Row) (server.Ticket, error) {
	var t server.Ticket
	var every int64
	err := row.Scan(&t.ID, &t.Version, &t.State, &t.PollSecretHash, &t.Ref, &t.Desktop.Name, &t.Desktop.OS, &t.Desktop.App, &t.Desktop.IP, &t.Desktop.UserAgent,
		tm(&t.CreatedAt), tm(&t.ExpiresAt), tm(&t.RotateUntil), &t.MatchCode, &t.MatchRequired, &t.MatchFailures, &t.UserID, &t.DeviceID, &t.ScanTokenHash,
		tm(&t.ScannedAt), tm(&t.ConfirmedAt), &t.SessionID, tm(&t.UpdatedAt), &t.KeyThumbprint, &every, &t.App)
	t.RotateEvery = time.Duration(every) * time.Microsecond
	return t, wrap(err, "ticket")
}

// CreateTicket implements server.Store: one statement, and so one
// transaction, stores the ticket and its first ref.
func (db *DB) CreateTicket(ctx context.Context, t server.Ticket) error {
	// A rotating ticket's refs are sealed, not stored (server.Store): its
	// insert is the statement alone.
	q := `INSERT INTO tickets (` + ticketColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`
	if t.RotateEvery == 0 {
		q = `WITH t AS (` + q + ` RETURNING id) INSERT INTO ticket_refs (ref, ticket_id) SELECT $5, id FROM t`
	}
	_, err := db.pool.Exec(ctx, q,
		t.ID, t.Version, string(t.State), t.PollSecretHash, t.Ref, text(t.Desktop.Name), text(t.Desktop.OS), text(t.Desktop.App), text(t.Desktop.IP), text(t.Desktop.UserAgent),
		at(t.CreatedAt), at(t.ExpiresAt), at(t.RotateUntil), t.MatchCode, t.MatchRequired, t.MatchFailures, t.UserID, t.DeviceID, nullBytes(t.ScanTokenHash),
		never(t.ScannedAt), never(t.ConfirmedAt), t.SessionID, at(t.UpdatedAt), text(t.KeyThumbprint), t.RotateEvery.Microseconds(), string(t.App))
	return wrap(err, "ticket")
}

// TicketByID implements server.Store.
func (db *DB) TicketByID(ctx context.Context, id string) (server.Ticket, error) {
	if !storable(id) {
		return server.Ticket{}, notFound("ticket")
	}
	return scanTicket(db.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = $1`, id))
}

// TicketByRef implements server.Store.
func (db *DB) TicketByRef(ctx context.Context, ref string) (server.Ticket, error) {
	if !storable(ref) {
		return server.Ticket{}, notFound("ticket")
	}
	return scanTicket(db.pool.QueryRow(ctx, `SELECT `+prefixed("t.", ticketColumns)+` FROM ticket_refs r JOIN tickets t ON t.id = r.ticket_id WHERE r.ref = $1`, ref))
}

// ExtendTickets implements server.Store in one statement.
func (db *DB) ExtendTickets(ctx context.Context, ids []string, until, now time.Time) (int, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !storable(id) })
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, `UPDATE tickets SET version = version + 1, expires_at = GREATEST(expires_at, LEAST($1, rotate_until)), updated_at = $2
		WHERE id = ANY($3) AND state = 'pending' AND expires_at > $2 AND (expires_at < LEAST($1, rotate_until) OR version = 1)`, at(until), at(now), ids)
	if err != nil {
		return 0, wrap(err, "ticket")
	}
	return int(tag.RowsAffected()), nil
}

// DueTickets implements server.Store.
func (db *DB) DueTickets(ctx context.Context, t time.Time, limit int) ([]server.Ticket, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE state IN `+liveStates+` AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, at(t), limit)
	if err != nil {
		return nil, wrap(err, "ticket")
	}
	return scanTickets(rows)
}

// scanTickets reads and closes rows of ticketColumns.
func scanTickets(rows pgx.Rows) ([]server.Ticket, error) {
	defer rows.Close()
	var out []server.Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, wrap(rows.Err(), "ticket")
}

// DeleteTicketsBefore implements server.Store. Their refs go with them.
// It finds them by created_at, as the SQLite store does.
func (db *DB) DeleteTicketsBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM tickets WHERE created_at < $1 AND updated_at < $1 AND (state NOT IN `+liveStates+` OR expires_at < $1)`, at(t))
	if err != nil {
		return 0, wrap(err, "ticket")
	}
	return int(tag.RowsAffected()), nil
}

// CountTicketsByState implements server.Store.
func (db *DB) CountTicketsByState(ctx context.Context) (map[server.State]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT state, count(*) FROM tickets GROUP BY state`)
	if err != nil {
		return nil, wrap(err, "ticket")
	}
	defer rows.Close()
	out := map[server.State]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, wrap(err, "ticket")
		}
		out[server.State(s)] = n
	}
	return out, wrap(rows.Err(), "ticket")
}

// prefixed qualifies each name of a comma-separated column list with p.
func prefixed(p, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = p + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}
