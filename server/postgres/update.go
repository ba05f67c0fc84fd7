package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/qrlogin/qrlogin/server"
)

// UpdateTicket implements server.Store optimistically, in two round trips
// with no lock held between them: a plain read, then the writes, whose
// UPDATE compares the version read and swaps it. An UPDATE that finds
// another version (a racing update landed in between: its row lock made
// this one wait, and READ COMMITTED re-checked the version on the row it
// stored) fails with division_by_zero (1/count(*) of no row), which
// aborts the writes queued after it; the ticket is then read again and
// update called again on what the winner stored, up to maxUpdateTries
// times, so that of racing updates exactly one wins each version and the
// others see its result, as they would behind a lock (SELECT FOR UPDATE
// took one more round trip and wrote the row's lock to the WAL).
func (db *DB) UpdateTicket(ctx context.Context, id string, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	if !storable(id) {
		return server.Ticket{}, notFound("ticket")
	}
	return db.updateTicket(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = $1`, id, update)
}

// UpdateTicketByScanToken implements server.Store as UpdateTicket does.
func (db *DB) UpdateTicketByScanToken(ctx context.Context, h []byte, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	if len(h) == 0 {
		return server.Ticket{}, notFound("ticket") // no ticket's hash is empty
	}
	return db.updateTicket(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE scan_token_hash = $1`, h, update)
}

// maxUpdateTries bounds the reads of one UpdateTicket that lost the
// race for the version it read: one more loss is a conflict.
const maxUpdateTries = 8

// errVersion is swapTicket's error for a version another update replaced.
var errVersion = errors.New("the ticket changed meanwhile")

// updateTicket is UpdateTicket of the ticket that the one-row query q
// finds by key.
func (db *DB) updateTicket(ctx context.Context, q string, key any, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	for try := 1; ; try++ {
		t, err := scanTicket(db.pool.QueryRow(ctx, q, key))
		if err != nil {
			return server.Ticket{}, err
		}
		t, err = db.swapTicket(ctx, t, update)
		if !errors.Is(err, errVersion) {
			return t, err
		}
		if try == maxUpdateTries {
			return server.Ticket{}, server.Errorf(server.CodeConflict, "the ticket changed meanwhile")
		}
	}
}

// swapTicket calls update on t, as read, and stores the result if t's
// version is still the one stored; errVersion if not.
func (db *DB) swapTicket(ctx context.Context, t server.Ticket, update func(t *server.Ticket) (*server.Session, error)) (server.Ticket, error) {
	id, ref, app, oldVersion := t.ID, t.Ref, t.App, t.Version
	sess, err := update(&t)
	if err != nil {
		return server.Ticket{}, err
	}
	t.ID, t.Ref, t.App, t.Version = id, ref, app, oldVersion+1

	// A batch runs in one implicit transaction (pgx's SendBatch): a
	// failed statement rolls back those before it and skips the rest.
	b := &pgx.Batch{}
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
	br := db.pool.SendBatch(ctx, b)
	for i := range b.Len() {
		if _, err = br.Exec(); err != nil {
			var pe *pgconn.PgError
			if i == 0 && errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: no row had the version
				err = errVersion
			} else {
				err = wrap(err, "ticket")
			}
			break
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = wrap(cerr, "ticket")
	}
	if err != nil {
		return server.Ticket{}, err
	}
	// Read back as stored: times to the microsecond, in UTC.
	for _, p := range []*time.Time{&t.CreatedAt, &t.ExpiresAt, &t.RotateUntil, &t.ScannedAt, &t.ConfirmedAt, &t.UpdatedAt} {
		*p = at(*p).UTC()
	}
	return t, nil
}
