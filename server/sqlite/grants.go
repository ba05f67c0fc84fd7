package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

const grantColumns = `id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at`

// CreateGrant implements oauth.Store. The device check and the insert are
// one statement: on the single writer, no RevokeDevice runs between them.
func (db *DB) CreateGrant(ctx context.Context, g oauth.Grant) error {
	res, err := db.exec(ctx, `INSERT INTO oauth_grants (`+grantColumns+`) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
		WHERE ?4 = '' OR EXISTS (SELECT 1 FROM devices WHERE id = ?4 AND revoked_at = 0)`,
		g.ID, g.UserID, g.ClientID, g.DeviceID, g.Scope, nanos(g.CreatedAt), nanos(g.LastUsedAt), nanos(g.ExpiresAt), nanos(g.RevokedAt))
	if isUnique(err) {
		return server.Errorf(server.CodeConflict, "grant %s exists", g.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create grant: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.Errorf(server.CodeConflict, "the phone %s is logged out", g.DeviceID)
	}
	return nil
}

func scanGrant(row rowScanner) (oauth.Grant, error) {
	var g oauth.Grant
	var created, used, expires, revoked int64
	err := row.Scan(&g.ID, &g.UserID, &g.ClientID, &g.DeviceID, &g.Scope, &created, &used, &expires, &revoked)
	g.CreatedAt, g.LastUsedAt, g.ExpiresAt, g.RevokedAt = fromNanos(created), fromNanos(used), fromNanos(expires), fromNanos(revoked)
	return g, notFound(err, "grant")
}

// GrantByID implements oauth.Store.
func (db *DB) GrantByID(ctx context.Context, id string) (oauth.Grant, error) {
	return scanGrant(db.row(ctx, `SELECT `+grantColumns+` FROM oauth_grants WHERE id = ?`, id))
}

// GrantsByUser implements oauth.Store.
func (db *DB) GrantsByUser(ctx context.Context, userID string, now time.Time) ([]oauth.Grant, error) {
	return db.grants(ctx, db.r, `SELECT `+grantColumns+` FROM oauth_grants WHERE user_id = ? AND revoked_at = 0 AND expires_at > ?
		ORDER BY last_used_at DESC, id`, userID, nanos(now))
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (db *DB) grants(ctx context.Context, q querier, query string, args ...any) ([]oauth.Grant, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: grants: %w", err)
	}
	defer rows.Close()
	var out []oauth.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// RevokeGrants implements oauth.Store: every field of f that is set must
// match (an empty filter is an error, not every grant); DeviceID selects
// the grants of the phone, as RevokeDevice has it: of every device of the
// same account and client id.
func (db *DB) RevokeGrants(ctx context.Context, f oauth.GrantFilter, at time.Time) ([]oauth.Grant, error) {
	if f == (oauth.GrantFilter{}) {
		return nil, fmt.Errorf("sqlite: revoke grants: an empty filter")
	}
	var where []string
	var args []any
	for _, c := range []struct{ cond, value string }{
		{`id = ?`, f.ID},
		{`user_id = ?`, f.UserID},
		{`device_id IN (SELECT o.id FROM devices d JOIN devices o ON o.user_id = d.user_id AND o.client_id = d.client_id WHERE d.id = ?)`, f.DeviceID},
	} {
		if c.value != "" {
			where, args = append(where, c.cond), append(args, c.value)
		}
	}
	when := nanos(at)
	var revoked []oauth.Grant
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		revoked, err = db.grants(ctx, tx, `UPDATE oauth_grants SET revoked_at = ? WHERE `+strings.Join(where, " AND ")+` AND revoked_at = 0 AND expires_at > ?
			RETURNING `+grantColumns, append(append([]any{when}, args...), when)...)
		if err != nil {
			return err
		}
		if len(revoked) == 0 {
			if f.ID != "" {
				return server.Errorf(server.CodeNotFound, "no such grant")
			}
			return nil
		}
		ids := make([]any, len(revoked))
		for i, g := range revoked {
			ids[i] = g.ID
		}
		in := `(?` + strings.Repeat(`,?`, len(ids)-1) + `)`
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE revoked_at = 0 AND family_id IN `+in, append([]any{when}, ids...)...); err != nil {
			return fmt.Errorf("sqlite: revoke grants' tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_codes SET used_at = ? WHERE used_at = 0 AND family_id IN `+in, append([]any{when}, ids...)...); err != nil {
			return fmt.Errorf("sqlite: revoke grants' codes: %w", err)
		}
		for _, g := range revoked {
			if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_logouts (id, client_id, uri, user_id, grant_id, attempts, next_at, created_at)
				SELECT ?, id, backchannel_logout_uri, ?, ?, 0, ?, ? FROM oauth_clients WHERE id = ? AND backchannel_logout_uri <> ''`,
				server.NewRef(), g.UserID, g.ID, when, when, g.ClientID); err != nil {
				return fmt.Errorf("sqlite: queue logout: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

const logoutColumns = `id, client_id, uri, user_id, grant_id, attempts, next_at, created_at`

// ClaimLogouts implements oauth.Store.
func (db *DB) ClaimLogouts(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]oauth.Logout, error) {
	var out []oauth.Logout
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE oauth_logouts SET attempts = attempts + 1, next_at = ?1
			WHERE id IN (SELECT id FROM oauth_logouts WHERE next_at <= ?2 ORDER BY next_at, created_at LIMIT ?3)
			RETURNING `+logoutColumns, nanos(at.Add(lease)), nanos(at), limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim logouts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var l oauth.Logout
			var next, created int64
			if err := rows.Scan(&l.ID, &l.ClientID, &l.URI, &l.UserID, &l.GrantID, &l.Attempts, &next, &created); err != nil {
				return fmt.Errorf("sqlite: claim logouts: %w", err)
			}
			l.NextAt, l.CreatedAt = fromNanos(next), fromNanos(created)
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order: the oldest first, as claimed.
	sortLogouts(out)
	return out, nil
}

// RetryLogout implements oauth.Store.
func (db *DB) RetryLogout(ctx context.Context, id string, next time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_logouts SET next_at = ? WHERE id = ?`, nanos(next), id); err != nil {
		return fmt.Errorf("sqlite: retry logout: %w", err)
	}
	return nil
}

// DeleteLogout implements oauth.Store.
func (db *DB) DeleteLogout(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, `DELETE FROM oauth_logouts WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete logout: %w", err)
	}
	return nil
}

// sortLogouts orders claimed logouts the oldest first.
func sortLogouts(ls []oauth.Logout) {
	slices.SortFunc(ls, func(a, b oauth.Logout) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}
