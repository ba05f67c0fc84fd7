package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// The open platform's store (oauth.Store), as on SQLite. Every write that
// can race (UseCode, CreateGrant of a phone, CreateTokens, RotateRefresh,
// RevokeGrants, RevokeToken, ClaimLogouts, PollDevice, PurgeExpired) runs
// in a READ COMMITTED transaction whatever the database's default
// isolation, so that a racer waits for the row and then sees what the
// winner stored, instead of failing with a serialization error.
//
// A grant's row guards its tokens: whatever issues tokens first updates
// (locks) the grant's row, and only if it is live; RevokeGrants first
// revokes (locks) the grants, then, in a later statement and so with a
// later snapshot, their tokens. Of a revocation and an issue through one
// grant, either the issue waits and then finds the grant revoked, or the
// revocation waits and then sees, and revokes, the issued tokens: no live
// token is left under a revoked grant. RevokeGrants locks its grants in id
// order, so that two of them cannot deadlock.

var _ oauth.Store = (*DB)(nil)

const clientColumns = `id, name, secret_hash, redirect_uris, public, grant_types, backchannel_logout_uri, created_at`

// texts returns ss as a text[] column stores them: never NULL, each as
// text stores it.
func texts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return out
}

// CreateClient implements oauth.Store.
func (db *DB) CreateClient(ctx context.Context, c oauth.Client) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, text(c.Name), nullBytes(c.SecretHash), texts(c.RedirectURIs), c.Public, texts(c.GrantTypes), text(c.BackchannelLogoutURI), at(c.CreatedAt))
	return wrap(err, "client")
}

func scanClient(row pgx.Row) (oauth.Client, error) {
	var c oauth.Client
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.RedirectURIs, &c.Public, &c.GrantTypes, &c.BackchannelLogoutURI, tm(&c.CreatedAt))
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

// UpdateClient implements oauth.Store.
func (db *DB) UpdateClient(ctx context.Context, c oauth.Client) error {
	if !storable(c.ID) {
		return notFound("client")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE oauth_clients SET name = $2, redirect_uris = $3, grant_types = $4, backchannel_logout_uri = $5 WHERE id = $1`,
		c.ID, text(c.Name), texts(c.RedirectURIs), texts(c.GrantTypes), text(c.BackchannelLogoutURI))
	if err != nil {
		return wrap(err, "client")
	}
	if tag.RowsAffected() == 0 {
		return notFound("client")
	}
	return nil
}

// DeleteClient implements oauth.Store: its requests, codes, tokens, grants
// and logouts go with it (ON DELETE CASCADE), so its tokens are no longer
// found.
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

const grantColumns = `id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at`

const insertGrant = `INSERT INTO oauth_grants (` + grantColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// CreateGrant implements oauth.Store. A grant of a phone is inserted in
// the transaction that found the phone's device live and locked its row
// FOR SHARE: a racing RevokeDevice (or CreateDevice, which revokes the
// phone's earlier login) waits to revoke it until the grant is committed,
// and so RevokeGrants after it finds the grant; or it revoked it first,
// and the lock, once it has waited, finds the device revoked.
func (db *DB) CreateGrant(ctx context.Context, g oauth.Grant) error {
	args := []any{g.ID, g.UserID, g.ClientID, g.DeviceID, text(g.Scope), at(g.CreatedAt), at(g.LastUsedAt), at(g.ExpiresAt), never(g.RevokedAt)}
	if g.DeviceID == "" {
		_, err := db.pool.Exec(ctx, insertGrant, args...)
		return wrap(err, "grant")
	}
	loggedOut := server.Errorf(server.CodeConflict, "the phone %s is logged out", g.DeviceID)
	if !storable(g.DeviceID) {
		return loggedOut // no device has it
	}
	return db.inTx(ctx, "grant", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `SELECT 1 FROM devices WHERE id = $1 AND revoked_at IS NULL FOR SHARE`, g.DeviceID)
		if err != nil {
			return wrap(err, "grant")
		}
		if tag.RowsAffected() == 0 {
			return loggedOut
		}
		_, err = tx.Exec(ctx, insertGrant, args...)
		return wrap(err, "grant")
	})
}

// scanGrant scans grantColumns, then into extra the columns after them.
func scanGrant(row pgx.Row, extra ...any) (oauth.Grant, error) {
	var g oauth.Grant
	err := row.Scan(append([]any{&g.ID, &g.UserID, &g.ClientID, &g.DeviceID, &g.Scope,
		tm(&g.CreatedAt), tm(&g.LastUsedAt), tm(&g.ExpiresAt), tm(&g.RevokedAt)}, extra...)...)
	return g, wrap(err, "grant")
}

// GrantByID implements oauth.Store.
func (db *DB) GrantByID(ctx context.Context, id string) (oauth.Grant, error) {
	if !storable(id) {
		return oauth.Grant{}, notFound("grant")
	}
	return scanGrant(db.pool.QueryRow(ctx, `SELECT `+grantColumns+` FROM oauth_grants WHERE id = $1`, id))
}

// GrantsByUser implements oauth.Store: grants last used at once by id, as
// on SQLite. A grant expires at its ExpiresAt, as the provider judges
// tokens.
func (db *DB) GrantsByUser(ctx context.Context, userID string, now time.Time) ([]oauth.Grant, error) {
	if !storable(userID) {
		return nil, nil // no grant is of that user
	}
	rows, err := db.pool.Query(ctx, `SELECT `+grantColumns+` FROM oauth_grants
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC, id`, userID, at(now))
	if err != nil {
		return nil, wrap(err, "grant")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (oauth.Grant, error) { return scanGrant(row) })
	return out, wrap(err, "grant")
}

// RevokeGrants implements oauth.Store. The filter's fields that are set
// must all match (an empty filter is an error, not every grant); DeviceID
// selects the grants of the phone, as server.Store.RevokeDevice has it: of
// every device of the same account and ClientID. The grants are locked in
// id order and revoked; then a later statement, whose snapshot has every
// token issued through them before they were locked, revokes their tokens
// and marks their unused codes used (at when): a code presented later is a
// replay. A token revoked or a code used before keeps its time. The grants
// come back in id order.
func (db *DB) RevokeGrants(ctx context.Context, f oauth.GrantFilter, when time.Time) ([]oauth.Grant, error) {
	if f == (oauth.GrantFilter{}) {
		return nil, errors.New("postgres: revoke grants: an empty filter")
	}
	args := []any{never(when)}
	var where []string
	for _, c := range []struct{ cond, value string }{
		{"id = $%d", f.ID},
		{"user_id = $%d", f.UserID},
		{"device_id IN (SELECT o.id FROM devices d JOIN devices o ON o.user_id = d.user_id AND o.client_id = d.client_id WHERE d.id = $%d)", f.DeviceID},
	} {
		if c.value == "" {
			continue
		}
		if !storable(c.value) {
			return nil, noGrant(f) // no row holds it
		}
		args = append(args, c.value)
		where = append(where, fmt.Sprintf(c.cond, len(args)))
	}
	var revoked []oauth.Grant
	err := db.inTx(ctx, "grant", func(tx pgx.Tx) error {
		var err error
		revoked, err = revokeGrants(ctx, tx, strings.Join(where, " AND "), args, when)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(revoked) == 0 {
		return nil, noGrant(f)
	}
	return revoked, nil
}

// noGrant is what RevokeGrants returns when f selects no live grant: not
// found if f is by ID, else nothing.
func noGrant(f oauth.GrantFilter) error {
	if f.ID != "" {
		return notFound("grant")
	}
	return nil
}

// revokeGrants is RevokeGrants in tx, of the live grants that where (on
// oauth_grants, with args after $1, the time) selects.
func revokeGrants(ctx context.Context, tx pgx.Tx, where string, args []any, when time.Time) ([]oauth.Grant, error) {
	rows, err := tx.Query(ctx, `WITH picked AS MATERIALIZED (
			SELECT id FROM oauth_grants WHERE `+where+` AND revoked_at IS NULL AND expires_at > $1 ORDER BY id FOR UPDATE)
		UPDATE oauth_grants g SET revoked_at = $1 FROM picked, oauth_clients c
		WHERE g.id = picked.id AND g.revoked_at IS NULL AND c.id = g.client_id
		RETURNING g.`+strings.ReplaceAll(grantColumns, ", ", ", g.")+`, c.backchannel_logout_uri`, args...)
	if err != nil {
		return nil, wrap(err, "grant")
	}
	type revokedGrant struct {
		oauth.Grant
		logoutURI string
	}
	gs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (revokedGrant, error) {
		var r revokedGrant
		var err error
		r.Grant, err = scanGrant(row, &r.logoutURI)
		return r, err
	})
	if err != nil || len(gs) == 0 {
		return nil, wrap(err, "grant")
	}
	slices.SortFunc(gs, func(a, b revokedGrant) int { return strings.Compare(a.ID, b.ID) })
	out := make([]oauth.Grant, len(gs))
	ids := make([]string, len(gs))
	for i, g := range gs {
		out[i], ids[i] = g.Grant, g.ID
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE oauth_tokens SET revoked_at = $1 WHERE family_id = ANY($2) AND revoked_at IS NULL`, never(when), ids)
	b.Queue(`UPDATE oauth_codes SET used_at = $1 WHERE family_id = ANY($2) AND used_at IS NULL`, never(when), ids)
	for _, g := range gs {
		if g.logoutURI != "" {
			b.Queue(`INSERT INTO oauth_logouts (id, client_id, uri, user_id, grant_id, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
				server.NewRef(), g.ClientID, g.logoutURI, g.UserID, g.ID, at(when))
		}
	}
	if err := execBatch(ctx, tx, b, "grant", nil); err != nil {
		return nil, err
	}
	return out, nil
}

const tokenColumns = `hash, kind, client_id, user_id, scope, family_id, auth_time, expires_at, revoked_at, created_at`

const insertToken = `INSERT INTO oauth_tokens (` + tokenColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func tokenArgs(t oauth.Token) []any {
	return []any{t.Hash, t.Kind, t.ClientID, t.UserID, text(t.Scope), t.FamilyID, at(t.AuthTime), at(t.ExpiresAt), never(t.RevokedAt), at(t.CreatedAt)}
}

// execBatch sends b in tx and reads its results in order; check, if not
// nil, judges each statement's count of rows (the i-th's n) before the
// next result is read.
func execBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, what string, check func(i int, n int64) error) error {
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			return wrap(err, what)
		}
		if check != nil {
			if err := check(i, tag.RowsAffected()); err != nil {
				return err
			}
		}
	}
	return wrap(br.Close(), what)
}

// grantNotLive is the error of tokens issued through a grant that is
// revoked, expired or missing.
func grantNotLive() error {
	return server.Errorf(server.CodeConflict, "the grant is revoked or expired")
}

// useGrant queues in b the UPDATE that locks the grant ts are issued
// through (their FamilyID) and records their use of it: LastUsedAt becomes
// their latest CreatedAt, and ExpiresAt moves out to their latest
// ExpiresAt. It matches only a grant live when they are created (one
// expires at its ExpiresAt), and must update one row. Tokens of two grants
// are an error; a FamilyID that no row can hold is server.ErrConflict.
func useGrant(b *pgx.Batch, ts []oauth.Token) error {
	var used, expires time.Time
	for _, t := range ts {
		if t.FamilyID != ts[0].FamilyID {
			return fmt.Errorf("postgres: tokens of two grants, %s and %s", ts[0].FamilyID, t.FamilyID)
		}
		if t.CreatedAt.After(used) {
			used = t.CreatedAt
		}
		if t.ExpiresAt.After(expires) {
			expires = t.ExpiresAt
		}
	}
	if !storable(ts[0].FamilyID) {
		return grantNotLive()
	}
	b.Queue(`UPDATE oauth_grants SET last_used_at = $2, expires_at = GREATEST(expires_at, $3)
		WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`, ts[0].FamilyID, at(used), at(expires))
	return nil
}

// CreateTokens implements oauth.Store: all of them, or none. The grant's
// row is updated first, which locks it (see the top of the file).
func (db *DB) CreateTokens(ctx context.Context, ts ...oauth.Token) error {
	if len(ts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if err := useGrant(b, ts); err != nil {
		return err
	}
	for _, t := range ts {
		b.Queue(insertToken, tokenArgs(t)...)
	}
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		return execBatch(ctx, tx, b, "token", func(i int, n int64) error {
			if i == 0 && n != 1 {
				return grantNotLive()
			}
			return nil
		})
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

// RotateRefresh implements oauth.Store, in one round trip: the grant next
// are issued through (old's) is locked and its use recorded as in
// CreateTokens, then the UPDATE revokes old only if it is a live refresh
// token (a racing rotation waits for the grant's row, then finds old
// revoked), and the new tokens are stored only if both matched.
func (db *DB) RotateRefresh(ctx context.Context, old []byte, when time.Time, next ...oauth.Token) error {
	b := &pgx.Batch{}
	grants := 0 // statements before old's
	if len(next) > 0 {
		if err := useGrant(b, next); err != nil {
			return err
		}
		grants = 1
	}
	b.Queue(`UPDATE oauth_tokens SET revoked_at = $1 WHERE hash = $2 AND kind = 'refresh' AND revoked_at IS NULL`, never(when), old)
	for _, t := range next {
		b.Queue(insertToken, tokenArgs(t)...)
	}
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		return execBatch(ctx, tx, b, "token", func(i int, n int64) error {
			switch {
			case i < grants && n != 1:
				return grantNotLive()
			case i == grants && n != 1:
				return server.Errorf(server.CodeConflict, "the refresh token was already used")
			}
			return nil
		})
	})
}

// RevokeToken implements oauth.Store. A token revoked before keeps its
// time.
func (db *DB) RevokeToken(ctx context.Context, hash []byte, when time.Time) error {
	if len(hash) == 0 {
		return nil // no token has it
	}
	return db.inTx(ctx, "token", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE oauth_tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL`, never(when), hash)
		return wrap(err, "token")
	})
}

// ClaimLogouts implements oauth.Store, as on SQLite: of the logouts due, it
// takes the earliest due (oauth_logouts_due's order) and returns them the
// oldest first. The due rows are locked as they are picked, skipping those
// that another claimer holds (SKIP LOCKED), and a row that a claimer
// leased meanwhile is no longer due when rechecked: racing claimers, on
// any node, never pick one logout twice, nor wait for each other.
func (db *DB) ClaimLogouts(ctx context.Context, when time.Time, lease time.Duration, limit int) ([]oauth.Logout, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []oauth.Logout
	err := db.inTx(ctx, "logout", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS MATERIALIZED (
				SELECT id FROM oauth_logouts WHERE next_at <= $1 ORDER BY next_at, created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			UPDATE oauth_logouts l SET attempts = l.attempts + 1, next_at = $2 FROM due WHERE l.id = due.id
			RETURNING l.id, l.client_id, l.uri, l.user_id, l.grant_id, l.attempts, l.next_at, l.created_at`,
			at(when), at(when.Add(lease)), limit)
		if err != nil {
			return wrap(err, "logout")
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (oauth.Logout, error) {
			var l oauth.Logout
			err := row.Scan(&l.ID, &l.ClientID, &l.URI, &l.UserID, &l.GrantID, &l.Attempts, tm(&l.NextAt), tm(&l.CreatedAt))
			return l, err
		})
		return wrap(err, "logout")
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b oauth.Logout) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RetryLogout implements oauth.Store. A logout no longer stored (settled
// by a claimer whose lease this one's outlived) is no error.
func (db *DB) RetryLogout(ctx context.Context, id string, next time.Time) error {
	if !storable(id) {
		return nil // no row holds it
	}
	_, err := db.pool.Exec(ctx, `UPDATE oauth_logouts SET next_at = $2 WHERE id = $1`, id, at(next))
	return wrap(err, "logout")
}

// DeleteLogout implements oauth.Store. A logout no longer stored is no
// error.
func (db *DB) DeleteLogout(ctx context.Context, id string) error {
	if !storable(id) {
		return nil // no row holds it
	}
	_, err := db.pool.Exec(ctx, `DELETE FROM oauth_logouts WHERE id = $1`, id)
	return wrap(err, "logout")
}

// PurgeExpired implements oauth.Store: codes, then tokens, then grants, in
// one transaction and one round trip; the grants' statement sees what the
// others removed. A grant is deleted only if, rechecked once its row is
// locked, it is still expired: tokens issued through it meanwhile moved
// its expiry out.
func (db *DB) PurgeExpired(ctx context.Context, t time.Time, limit int) (int, error) {
	const live = `SELECT 1 FROM oauth_tokens l WHERE l.family_id = %s.family_id AND l.expires_at >= $1 AND l.revoked_at IS NULL`
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM oauth_codes WHERE hash IN (SELECT c.hash FROM oauth_codes c WHERE c.expires_at < $1
		AND (c.used_at IS NULL OR NOT EXISTS (`+fmt.Sprintf(live, "c")+`)) LIMIT $2)`, at(t), limit)
	b.Queue(`DELETE FROM oauth_tokens WHERE hash IN (SELECT k.hash FROM oauth_tokens k WHERE k.expires_at < $1
		AND (k.kind <> $3 OR k.revoked_at IS NULL OR NOT EXISTS (`+fmt.Sprintf(live, "k")+`)) LIMIT $2)`, at(t), limit, oauth.KindRefresh)
	b.Queue(`DELETE FROM oauth_grants WHERE id IN (SELECT g.id FROM oauth_grants g WHERE g.expires_at < $1
		AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.family_id = g.id)
		AND NOT EXISTS (SELECT 1 FROM oauth_tokens k WHERE k.family_id = g.id) LIMIT $2) AND expires_at < $1`, at(t), limit)
	var n int64
	err := db.inTx(ctx, "token", func(tx pgx.Tx) error {
		return execBatch(ctx, tx, b, "token", func(_ int, rows int64) error {
			n += rows
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
