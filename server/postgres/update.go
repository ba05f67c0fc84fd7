package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qrlogin/qrlogin/server"
)

// UpdateTicket implements server.Store in two round trips: BEGIN with the
// read that locks the ticket's row (FOR UPDATE: a racing update waits,
// then reads what this one stored), then the writes with COMMIT. The
// UPDATE still compares the version it read; should it find none, it fails
// with division_by_zero (1/count(*) of no row), which aborts the
// transaction before the writes queued after it.
func (db *DB) UpdateTicket(ctx context.Context, id string, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	if !storable(id) {
		return server.Ticket{}, notFound("ticket")
	}
	return db.updateTicket(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = $1 FOR UPDATE`, id, update)
}

// UpdateTicketByScanToken implements server.Store as UpdateTicket does.
func (db *DB) UpdateTicketByScanToken(ctx context.Context, h []byte, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	if len(h) == 0 {
		return server.Ticket{}, notFound("ticket") // no ticket's hash is empty
	}
	return db.updateTicket(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE scan_token_hash = $1 FOR UPDATE`, h, update)
}

// updateTicket is UpdateTicket of the ticket that the one-row query q,
// which locks it, finds by key.
func (db *DB) updateTicket(ctx context.Context, q string, key any, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return server.Ticket{}, wrap(err, "ticket")
	}
	defer c.Release()
	done := false
	defer func() {
		if !done {
			rollback(c)
		}
	}()

	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(q, key)
	var t server.Ticket
	err = sendBatch(ctx, c, b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return wrap(err, "ticket")
		}
		t, err = scanTicket(br.QueryRow())
		return err
	})
	if err != nil {
		return server.Ticket{}, err
	}
	id, ref, app, oldVersion := t.ID, t.Ref, t.App, t.Version
	sess, err := update(&t)
	if err != nil {
		return server.Ticket{}, err
	}
	t.ID, t.Ref, t.App, t.Version = id, ref, app, oldVersion+1

	b = &pgx.Batch{}
	b.Queue(`WITH u AS (UPDATE tickets SET version = $1, state = $2, expires_at = $3, rotate_until = $4,
			match_required = $5, match_failures = $6, user_id = $7, device_id = $8, scan_token_hash = $9, scanned_at = $10, confirmed_at = $11,
			session_id = $12, updated_at = $13 WHERE id = $14 AND version = $15 RETURNING 1)
		SELECT 1 / count(*) FROM u`,
		t.Version, string(t.State), at(t.ExpiresAt), at(t.RotateUntil),
		t.MatchRequired, t.MatchFailures, t.UserID, t.DeviceID, nullBytes(t.ScanTokenHash), never(t.ScannedAt), never(t.ConfirmedAt),
		t.SessionID, at(t.UpdatedAt), id, oldVersion)
	if sess != nil {
		b.Queue(insertSession, insertArgs(sess, id)...)
	}
	b.Queue(`COMMIT`)
	err = sendBatch(ctx, c, b, func(br pgx.BatchResults) error {
		for i := range b.Len() {
			if _, err := br.Exec(); err != nil {
				var pe *pgconn.PgError
				if i == 0 && errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: no row had the version
					return server.Errorf(server.CodeConflict, "the ticket changed meanwhile")
				}
				return wrap(err, "ticket")
			}
		}
		return nil
	})
	if err != nil {
		return server.Ticket{}, err
	}
	done = c.Conn().PgConn().TxStatus() == 'I'
	// Read back as stored: times to the microsecond, in UTC.
	for _, p := range []*time.Time{&t.CreatedAt, &t.ExpiresAt, &t.RotateUntil, &t.ScannedAt, &t.ConfirmedAt, &t.UpdatedAt} {
		*p = at(*p).UTC()
	}
	return t, nil
}

// sendBatch sends b on c, lets read take its results, and closes them; the
// first error wins.
func sendBatch(ctx context.Context, c *pgxpool.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := c.SendBatch(ctx, b)
	err := read(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = wrap(cerr, "ticket")
	}
	return err
}

// rollback ends the transaction open on c, if any, so that c goes back to
// the pool clean; a connection that cannot is closed (the pool then drops
// it).
func rollback(c *pgxpool.Conn) {
	pc := c.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, `ROLLBACK`); err != nil {
		c.Conn().Close(ctx)
	}
}
