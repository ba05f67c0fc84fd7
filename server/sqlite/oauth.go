package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

var _ oauth.Store = (*DB)(nil)

// CreateClient implements oauth.Store.
func (db *DB) CreateClient(ctx context.Context, c oauth.Client) error {
	uris, _ := json.Marshal(nonNil(c.RedirectURIs))
	grants, _ := json.Marshal(nonNil(c.GrantTypes))
	_, err := db.exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, nullBytes(c.SecretHash), string(uris), c.Public, string(grants), c.BackchannelLogoutURI, nanos(c.CreatedAt))
	if isUnique(err) {
		return server.Errorf(server.CodeConflict, "client %s exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	return nil
}

// nonNil is l, or an empty list for nil: stored as [], never null.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

const clientColumns = `id, name, secret_hash, redirect_uris, public, grant_types, backchannel_logout_uri, created_at`

func scanClient(row rowScanner) (oauth.Client, error) {
	var c oauth.Client
	var uris, grants string
	var created int64
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &uris, &c.Public, &grants, &c.BackchannelLogoutURI, &created)
	if err != nil {
		return c, notFound(err, "client")
	}
	c.CreatedAt = fromNanos(created)
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("sqlite: client %s redirect URIs: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(grants), &c.GrantTypes); err != nil {
		return c, fmt.Errorf("sqlite: client %s grant types: %w", c.ID, err)
	}
	return c, nil
}

// ClientByID implements oauth.Store.
func (db *DB) ClientByID(ctx context.Context, id string) (oauth.Client, error) {
	return scanClient(db.row(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = ?`, id))
}

// ListClients implements oauth.Store.
func (db *DB) ListClients(ctx context.Context) ([]oauth.Client, error) {
	rows, err := db.rows(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
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
	return out, rows.Err()
}

// UpdateClient implements oauth.Store.
func (db *DB) UpdateClient(ctx context.Context, c oauth.Client) error {
	uris, _ := json.Marshal(nonNil(c.RedirectURIs))
	grants, _ := json.Marshal(nonNil(c.GrantTypes))
	res, err := db.exec(ctx, `UPDATE oauth_clients SET name = ?, redirect_uris = ?, grant_types = ?, backchannel_logout_uri = ? WHERE id = ?`,
		c.Name, string(uris), string(grants), c.BackchannelLogoutURI, c.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.Errorf(server.CodeNotFound, "no such client")
	}
	return nil
}

// DeleteClient implements oauth.Store; its codes, requests and tokens go with
// it (ON DELETE CASCADE).
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	res, err := db.exec(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.Errorf(server.CodeNotFound, "no such client")
	}
	return nil
}

const requestColumns = `ticket_id, ref, client_id, redirect_uri, scope, state, nonce, code_challenge, user_code, device_code_hash, interval_ns, last_poll_at, created_at`

// CreateRequest implements oauth.Store.
func (db *DB) CreateRequest(ctx context.Context, r oauth.Request) error {
	var userCode any
	if r.UserCode != "" {
		userCode = r.UserCode
	}
	// The trigger oauth_requests_mark_ticket may set the ticket's
	// app_flow, which it writes without a new version.
	forget := func(sql.Result) { db.tickets.remove(r.TicketID) }
	_, err := db.execThen(ctx, forget, `INSERT INTO oauth_requests (`+requestColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.TicketID, r.Ref, r.ClientID, r.RedirectURI, r.Scope, r.State, r.Nonce, r.CodeChallenge, userCode, nullBytes(r.DeviceCodeHash),
		int64(r.Interval), nanos(r.LastPollAt), nanos(r.CreatedAt))
	if isUnique(err) {
		return server.Errorf(server.CodeConflict, "the request exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create request: %w", err)
	}
	return nil
}

func scanRequest(row *sql.Row) (oauth.Request, error) {
	var r oauth.Request
	var userCode sql.NullString
	var interval, lastPoll, created int64
	err := row.Scan(&r.TicketID, &r.Ref, &r.ClientID, &r.RedirectURI, &r.Scope, &r.State, &r.Nonce, &r.CodeChallenge, &userCode, &r.DeviceCodeHash,
		&interval, &lastPoll, &created)
	r.UserCode, r.Interval, r.LastPollAt, r.CreatedAt = userCode.String, time.Duration(interval), fromNanos(lastPoll), fromNanos(created)
	return r, notFound(err, "request")
}

// RequestByTicket implements oauth.Store.
func (db *DB) RequestByTicket(ctx context.Context, ticketID string) (oauth.Request, error) {
	return scanRequest(db.row(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE ticket_id = ?`, ticketID))
}

// RequestByUserCode implements oauth.Store.
func (db *DB) RequestByUserCode(ctx context.Context, code string) (oauth.Request, error) {
	return scanRequest(db.row(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE user_code = ?`, code))
}

// RequestByDeviceCode implements oauth.Store.
func (db *DB) RequestByDeviceCode(ctx context.Context, hash []byte) (oauth.Request, error) {
	return scanRequest(db.row(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE device_code_hash = ?`, hash))
}

// PollDevice implements oauth.Store.
func (db *DB) PollDevice(ctx context.Context, ticketID string, at time.Time, slowDown time.Duration) (bool, error) {
	tooFast := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var interval, last int64
		err := tx.QueryRowContext(ctx, `SELECT interval_ns, last_poll_at FROM oauth_requests WHERE ticket_id = ?`, ticketID).Scan(&interval, &last)
		if err != nil {
			return notFound(err, "request")
		}
		if last != 0 && at.Sub(fromNanos(last)) < time.Duration(interval) {
			tooFast = true
			interval += int64(slowDown)
		}
		_, err = tx.ExecContext(ctx, `UPDATE oauth_requests SET interval_ns = ?, last_poll_at = ? WHERE ticket_id = ?`, interval, nanos(at), ticketID)
		return err
	})
	return tooFast, err
}

// CreateCode implements oauth.Store.
func (db *DB) CreateCode(ctx context.Context, c oauth.Code) error {
	_, err := db.exec(ctx, `INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.FamilyID, nanos(c.AuthTime), nanos(c.ExpiresAt))
	if isUnique(err) {
		return server.Errorf(server.CodeConflict, "the code exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create code: %w", err)
	}
	return nil
}

// UseCode implements oauth.Store.
func (db *DB) UseCode(ctx context.Context, hash []byte, at time.Time) (oauth.Code, bool, error) {
	var c oauth.Code
	first := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var authTime, expires, used int64
		err := tx.QueryRowContext(ctx, `SELECT hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at, used_at FROM oauth_codes WHERE hash = ?`, hash).
			Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &c.FamilyID, &authTime, &expires, &used)
		if err != nil {
			return notFound(err, "code")
		}
		c.AuthTime, c.ExpiresAt, c.UsedAt = fromNanos(authTime), fromNanos(expires), fromNanos(used)
		if used != 0 {
			return nil
		}
		first = true
		c.UsedAt = fromNanos(nanos(at)) // as stored: in UTC
		_, err = tx.ExecContext(ctx, `UPDATE oauth_codes SET used_at = ? WHERE hash = ?`, nanos(at), hash)
		return err
	})
	return c, first, err
}

const tokenColumns = `hash, kind, client_id, user_id, scope, family_id, auth_time, expires_at, revoked_at, created_at`

// insertTokens stores tokens of one live grant and records its use (see
// oauth.Store.CreateTokens).
func insertTokens(ctx context.Context, tx *sql.Tx, ts []oauth.Token) error {
	if len(ts) == 0 {
		return nil
	}
	var used, expires int64
	for _, t := range ts {
		if t.FamilyID != ts[0].FamilyID {
			return fmt.Errorf("sqlite: create tokens: of two grants, %s and %s", ts[0].FamilyID, t.FamilyID)
		}
		used, expires = max(used, nanos(t.CreatedAt)), max(expires, nanos(t.ExpiresAt))
	}
	res, err := tx.ExecContext(ctx, `UPDATE oauth_grants SET last_used_at = ?1, expires_at = max(expires_at, ?2)
		WHERE id = ?3 AND revoked_at = 0 AND expires_at > ?1`, used, expires, ts[0].FamilyID)
	if err != nil {
		return fmt.Errorf("sqlite: use grant: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return server.Errorf(server.CodeConflict, "the grant was revoked or has expired")
	}
	for _, t := range ts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (`+tokenColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			t.Hash, t.Kind, t.ClientID, t.UserID, t.Scope, t.FamilyID, nanos(t.AuthTime), nanos(t.ExpiresAt), nanos(t.RevokedAt), nanos(t.CreatedAt)); isUnique(err) {
			return server.Errorf(server.CodeConflict, "the token exists")
		} else if err != nil {
			return fmt.Errorf("sqlite: create token: %w", err)
		}
	}
	return nil
}

// CreateTokens implements oauth.Store.
func (db *DB) CreateTokens(ctx context.Context, ts ...oauth.Token) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return insertTokens(ctx, tx, ts) })
}

// TokenByHash implements oauth.Store.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (oauth.Token, error) {
	var t oauth.Token
	var authTime, expires, revoked, created int64
	err := db.row(ctx, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.Kind, &t.ClientID, &t.UserID, &t.Scope, &t.FamilyID, &authTime, &expires, &revoked, &created)
	t.AuthTime, t.ExpiresAt, t.RevokedAt, t.CreatedAt = fromNanos(authTime), fromNanos(expires), fromNanos(revoked), fromNanos(created)
	return t, notFound(err, "token")
}

// RotateRefresh implements oauth.Store.
func (db *DB) RotateRefresh(ctx context.Context, old []byte, at time.Time, next ...oauth.Token) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE hash = ? AND kind = 'refresh' AND revoked_at = 0`, nanos(at), old)
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return server.Errorf(server.CodeConflict, "the refresh token was already used")
		}
		return insertTokens(ctx, tx, next)
	})
}

// RevokeToken implements oauth.Store.
func (db *DB) RevokeToken(ctx context.Context, hash []byte, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`, nanos(at), hash); err != nil {
		return fmt.Errorf("sqlite: revoke token: %w", err)
	}
	return nil
}

// PurgeExpired implements oauth.Store.
func (db *DB) PurgeExpired(ctx context.Context, t time.Time, limit int) (int, error) {
	const live = `SELECT 1 FROM oauth_tokens l WHERE l.family_id = %s.family_id AND l.expires_at >= ?1 AND l.revoked_at = 0`
	queries := []string{
		`DELETE FROM oauth_codes WHERE rowid IN (SELECT c.rowid FROM oauth_codes c WHERE c.expires_at < ?1
			AND (c.used_at = 0 OR NOT EXISTS (` + fmt.Sprintf(live, "c") + `)) LIMIT ?2)`,
		`DELETE FROM oauth_tokens WHERE rowid IN (SELECT k.rowid FROM oauth_tokens k WHERE k.expires_at < ?1
			AND (k.kind <> ?3 OR k.revoked_at = 0 OR NOT EXISTS (` + fmt.Sprintf(live, "k") + `)) LIMIT ?2)`,
		`DELETE FROM oauth_grants WHERE rowid IN (SELECT g.rowid FROM oauth_grants g WHERE g.expires_at < ?1
			AND NOT EXISTS (SELECT 1 FROM oauth_tokens k WHERE k.family_id = g.id)
			AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.family_id = g.id) LIMIT ?2)`,
	}
	n, err := db.deleteAll(ctx, queries, nanos(t), limit, oauth.KindRefresh)
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge expired codes, tokens and grants: %w", err)
	}
	return n, nil
}
