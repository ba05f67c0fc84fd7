package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"qrlogin/server"
	"qrlogin/server/oauth"
)

// The open platform's store (oauth.Store), as on SQLite. Every write that
// can race (UseCode, RotateRefresh, RevokeFamily, PollDevice, SigningKey)
// runs in a READ COMMITTED transaction whatever the database's default
// isolation, so that a racer waits for the row and then sees what the
// winner stored, instead of failing with a serialization error.

var _ oauth.Store = (*DB)(nil)

// signingKeyLock is the key of the transaction-level advisory lock under
// which a node that finds no signing key makes one: nodes starting at once
// make it once.
const signingKeyLock = migrationLock + 1

const clientColumns = `id, name, secret_hash, redirect_uris, public, created_at`

// CreateClient implements oauth.Store.
func (db *DB) CreateClient(ctx context.Context, c oauth.Client) error {
	uris := make([]string, len(c.RedirectURIs)) // never NULL
	for i, u := range c.RedirectURIs {
		uris[i] = text(u)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, text(c.Name), nullBytes(c.SecretHash), uris, c.Public, at(c.CreatedAt))
	return wrap(err, "client")
}

func scanClient(row pgx.Row) (oauth.Client, error) {
	var c oauth.Client
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.RedirectURIs, &c.Public, tm(&c.CreatedAt))
	return c, wrap(err, "client")
}

// ClientByID implements oauth.Store.
func (db *DB) ClientByID(ctx context.Context, id string) (oauth.Client, error) {
	if !storable(id) {
		return oauth.Client{}, notFound("client")
	}
	return scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
}

// ListClients implements oauth.Store: oldest first.
func (db *DB) ListClients(ctx context.Context) ([]oauth.Client, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap(err, "client")
	}
	defer rows.Close()
	var out []oauth.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "client")
}

// DeleteClient implements oauth.Store: its requests, codes and tokens go
// with it (ON DELETE CASCADE), so its tokens are no longer found.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	if !storable(id) {
		return notFound("client")
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM oauth_clients WHERE id = $1`, id)
	if err != nil {
		return wrap(err, "client")
	}
	if tag.RowsAffected() == 0 {
		return notFound("client")
	}
	return nil
}

const requestColumns = `ticket_id, ref, client_id, redirect_uri, scope, state, nonce, code_challenge, user_code, device_code_hash, interval_ns, last_poll_at, created_at`

// CreateRequest implements oauth.Store.
func (db *DB) CreateRequest(ctx context.Context, r oauth.Request) error {
	var userCode *string // NULL but for a device grant
	if r.UserCode != "" {
		userCode = &r.UserCode
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_requests (`+requestColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.TicketID, r.Ref, r.ClientID, text(r.RedirectURI), text(r.Scope), text(r.State), text(r.Nonce), text(r.CodeChallenge), userCode,
		nullBytes(r.DeviceCodeHash), int64(r.Interval), never(r.LastPollAt), at(r.CreatedAt))
	return wrap(err, "request")
}

func scanRequest(row pgx.Row) (oauth.Request, error) {
	var r oauth.Request
	var userCode *string
	var interval int64
	err := row.Scan(&r.TicketID, &r.Ref, &r.ClientID, &r.RedirectURI, &r.Scope, &r.State, &r.Nonce, &r.CodeChallenge, &userCode,
		&r.DeviceCodeHash, &interval, tm(&r.LastPollAt), tm(&r.CreatedAt))
	if userCode != nil {
		r.UserCode = *userCode
	}
	r.Interval = time.Duration(interval)
	return r, wrap(err, "request")
}

// RequestByTicket implements oauth.Store.
func (db *DB) RequestByTicket(ctx context.Context, ticketID string) (oauth.Request, error) {
	if !storable(ticketID) {
		return oauth.Request{}, notFound("request")
	}
	return scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE ticket_id = $1`, ticketID))
}

// RequestByUserCode implements oauth.Store.
func (db *DB) RequestByUserCode(ctx context.Context, code string) (oauth.Request, error) {
	if code == "" || !storable(code) {
		return oauth.Request{}, notFound("request")
	}
	return scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE user_code = $1`, code))
}

// RequestByDeviceCode implements oauth.Store.
func (db *DB) RequestByDeviceCode(ctx context.Context, hash []byte) (oauth.Request, error) {
	if len(hash) == 0 {
		return oauth.Request{}, notFound("request")
	}
	return scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE device_code_hash = $1`, hash))
}

// PollDevice implements oauth.Store. The request's row stays locked from
// the read to the commit: of racing polls, each sees the one before it.
func (db *DB) PollDevice(ctx context.Context, ticketID string, when time.Time, slowDown time.Duration) (bool, error) {
	if !storable(ticketID) {
		return false, notFound("request")
	}
	when = at(when)
	tooFast := false
	err := db.inTx(ctx, "request", func(tx pgx.Tx) error {
		var interval int64
		var last time.Time
		err := tx.QueryRow(ctx, `SELECT interval_ns, last_poll_at FROM oauth_requests WHERE ticket_id = $1 FOR UPDATE`, ticketID).
			Scan(&interval, tm(&last))
		if err != nil {
			return wrap(err, "request")
		}
		if !last.IsZero() && when.Sub(last) < time.Duration(interval) {
			tooFast = true
			interval += int64(slowDown)
		}
		_, err = tx.Exec(ctx, `UPDATE oauth_requests SET interval_ns = $1, last_poll_at = $2 WHERE ticket_id = $3`, interval, never(when), ticketID)
		return wrap(err, "request")
	})
	if err != nil {
		return false, err
	}
	return tooFast, nil
}

const codeColumns = `hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at, used_at`

// CreateCode implements oauth.Store. The code is stored unused.
func (db *DB) CreateCode(ctx context.Context, c oauth.Code) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.Hash, c.ClientID, c.UserID, text(c.RedirectURI), text(c.Scope), text(c.Nonce), text(c.CodeChallenge), c.FamilyID, at(c.AuthTime), at(c.ExpiresAt))
	return wrap(err, "code")
}

func scanCode(row pgx.Row) (oauth.Code, error) {
	var c oauth.Code
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &c.FamilyID,
		tm(&c.AuthTime), tm(&c.ExpiresAt), tm(&c.UsedAt))
	return c, wrap(err, "code")
}

// UseCode implements oauth.Store. The UPDATE marks the code used only if it
// was not: of racing uses, the others wait for the row, find it used and
// change nothing.
func (db *DB) UseCode(ctx context.Context, hash []byte, when time.Time) (oauth.Code, bool, error) {
	if len(hash) == 0 {
		return oauth.Code{}, false, notFound("code")
	}
	var c oauth.Code
	first := false
	err := db.inTx(ctx, "code", func(tx pgx.Tx) error {
		var err error
		c, err = scanCode(tx.QueryRow(ctx, `UPDATE oauth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL RETURNING `+codeColumns, hash, at(when)))
		if err == nil {
			first = true
			return nil
		}
		if !errors.Is(err, server.ErrNotFound) {
			return err
		}
		// Used before, or no such code. At READ COMMITTED this statement
		// sees what a racing winner committed.
		c, err = scanCode(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM oauth_codes WHERE hash = $1`, hash))
		return err
	})
	if err != nil {
		return oauth.Code{}, false, err
	}
	return c, first, nil
}

const tokenColumns = `hash, kind, client_id, user_id, scope, family_id, auth_time, expires_at, revoked_at, created_at`

const insertToken = `INSERT INTO oauth_tokens (` + tokenColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func tokenArgs(t oauth.Token) []any {
	return []any{t.Hash, t.Kind, t.ClientID, t.UserID, text(t.Scope), t.FamilyID, at(t.AuthTime), at(t.ExpiresAt), never(t.RevokedAt), at(t.CreatedAt)}
}

// execBatch sends b in tx and reads its results in order; check, if not
// nil, judges the first statement's before the others are read.
func execBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, what string, check func(n int64) error) error {
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			return wrap(err, what)
		}
		if i == 0 && check != nil {
			if err := check(tag.RowsAffected()); err != nil {
				return err
			}
		}
	}
	return wrap(br.Close(), what)
}

// CreateTokens implements oauth.Store: all of them, or none.
func (db *DB) CreateTokens(ctx context.Context, ts ...oauth.Token) error {
	if len(ts) == 0 {
		return nil
	}
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, t := range ts {
			b.Queue(insertToken, tokenArgs(t)...)
		}
		return execBatch(ctx, tx, b, "token", nil)
	})
}

// TokenByHash implements oauth.Store.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (oauth.Token, error) {
	if len(hash) == 0 {
		return oauth.Token{}, notFound("token")
	}
	var t oauth.Token
	err := db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.Kind, &t.ClientID, &t.UserID, &t.Scope, &t.FamilyID, tm(&t.AuthTime), tm(&t.ExpiresAt), tm(&t.RevokedAt), tm(&t.CreatedAt))
	return t, wrap(err, "token")
}

// RotateRefresh implements oauth.Store, in one round trip: the UPDATE
// revokes old only if it is a live refresh token (a racing rotation waits
// for the row, then finds it revoked), and the new tokens are stored only
// if it did.
func (db *DB) RotateRefresh(ctx context.Context, old []byte, when time.Time, next ...oauth.Token) error {
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE oauth_tokens SET revoked_at = $1 WHERE hash = $2 AND kind = 'refresh' AND revoked_at IS NULL`, never(when), old)
		for _, t := range next {
			b.Queue(insertToken, tokenArgs(t)...)
		}
		return execBatch(ctx, tx, b, "token", func(n int64) error {
			if n != 1 {
				return server.Errorf(server.CodeConflict, "the refresh token was already used")
			}
			return nil
		})
	})
}

// RevokeFamily implements oauth.Store. A token revoked before keeps its
// time.
func (db *DB) RevokeFamily(ctx context.Context, familyID string, when time.Time) error {
	if !storable(familyID) {
		return nil // no token is of that family
	}
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE oauth_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, never(when), familyID)
		return wrap(err, "token")
	})
}

// SigningKey implements oauth.Store. Once the key exists it is one read;
// before, the node that takes the advisory lock first makes and stores it,
// and the others, waiting on the lock, read it: create runs once.
func (db *DB) SigningKey(ctx context.Context, create func() ([]byte, error)) ([]byte, error) {
	const q = `SELECT pem FROM oauth_keys WHERE id = 1`
	var pem []byte
	err := db.pool.QueryRow(ctx, q).Scan(&pem)
	if err == nil {
		return pem, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, wrap(err, "signing key")
	}
	err = db.inTx(ctx, "signing key", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeyLock); err != nil {
			return wrap(err, "signing key")
		}
		// A statement after the lock sees what its last holder committed.
		err := tx.QueryRow(ctx, q).Scan(&pem)
		if !errors.Is(err, pgx.ErrNoRows) {
			return wrap(err, "signing key")
		}
		if pem, err = create(); err != nil {
			return fmt.Errorf("postgres: signing key: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO oauth_keys (id, pem) VALUES (1, $1)`, pem)
		return wrap(err, "signing key")
	})
	if err != nil {
		return nil, err
	}
	return pem, nil
}

// PurgeExpired implements oauth.Store: one statement, and so one
// transaction.
func (db *DB) PurgeExpired(ctx context.Context, t time.Time, limit int) (int, error) {
	const live = `SELECT 1 FROM oauth_tokens l WHERE l.family_id = %s.family_id AND l.expires_at >= $1 AND l.revoked_at IS NULL`
	var n int
	err := db.pool.QueryRow(ctx, `WITH c AS (DELETE FROM oauth_codes WHERE hash IN (SELECT c.hash FROM oauth_codes c WHERE c.expires_at < $1
				AND (c.used_at IS NULL OR NOT EXISTS (`+fmt.Sprintf(live, "c")+`)) LIMIT $2) RETURNING 1),
			k AS (DELETE FROM oauth_tokens WHERE hash IN (SELECT k.hash FROM oauth_tokens k WHERE k.expires_at < $1
				AND (k.kind <> $3 OR k.revoked_at IS NULL OR NOT EXISTS (`+fmt.Sprintf(live, "k")+`)) LIMIT $2) RETURNING 1)
		SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM k)`, at(t), limit, oauth.KindRefresh).Scan(&n)
	return n, wrap(err, "token")
}
