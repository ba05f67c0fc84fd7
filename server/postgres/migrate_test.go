package postgres

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/oauthtest"
)

// migrateUpTo runs on the database dsn, as Open would, the migrations up
// to and including last, and no later one: those are recorded as run
// while migrate runs, and then forgotten, so that the next Open runs them.
// It returns a pool on the database, which the caller closes.
func migrateUpTo(t *testing.T, dsn, last string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var later []string
	for _, n := range names {
		if n > last {
			later = append(later, n)
		}
	}
	if len(later) == len(names) {
		t.Fatalf("no migration up to %s", last)
	}
	// migrate's table, as it makes it.
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations (name) SELECT unnest($1::text[])`, later); err != nil {
		t.Fatal(err)
	}
	if err := (&DB{pool: pool}).migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM schema_migrations WHERE name = ANY($1)`, later); err != nil {
		t.Fatal(err)
	}
	return pool
}

// Migrations 005 and 006 on the open platform's rows of before
// (oauthtest.LegacyData, stored as the code of then stored them), as
// oauthtest.CheckMigrated checks them.
func TestMigrateLegacyOAuth(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	pool := migrateUpTo(t, dsn, "migrations/004_logout_purge_health.sql")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	legacy := oauthtest.LegacyData()
	for _, u := range legacy.Users {
		exec(`INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.Username, u.DisplayName, u.AvatarURL, u.PasswordHash, at(u.CreatedAt))
	}
	for _, c := range legacy.Clients {
		uris := c.RedirectURIs
		if uris == nil {
			uris = []string{} // as the code of then stored none
		}
		exec(`INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, public, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.Name, nullBytes(c.SecretHash), uris, c.Public, at(c.CreatedAt))
	}
	for _, k := range legacy.Tokens {
		exec(`INSERT INTO oauth_tokens (hash, kind, client_id, user_id, scope, family_id, auth_time, expires_at, revoked_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			k.Hash, k.Kind, k.ClientID, k.UserID, k.Scope, k.FamilyID, at(k.AuthTime), at(k.ExpiresAt), never(k.RevokedAt), at(k.CreatedAt))
	}
	for _, c := range legacy.Codes {
		exec(`INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at, used_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.FamilyID, at(c.AuthTime), at(c.ExpiresAt), never(c.UsedAt))
	}
	exec(`INSERT INTO oauth_keys (id, pem, created_at) VALUES (1, $1, $2)`, legacy.Key.PEM, at(legacy.Key.CreatedAt))
	pool.Close()

	oauthtest.CheckMigrated(t, mustOpen(t, dsn))
}

// Migration 011 marks the tickets that an app's flow started, from their
// authorization requests: a device grant's (it has a user code) and an
// authorization request's; a desktop's own stays unmarked.
func TestMigrateTicketApp(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	pool := migrateUpTo(t, dsn, "migrations/010_sealed_refs.sql")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO oauth_clients (id, name, redirect_uris, public, created_at) VALUES ('c', 'App', '{}', true, now())`)
	for _, id := range []string{"desktop", "authorize", "device"} {
		exec(`INSERT INTO tickets (id, version, state, poll_secret_hash, current_ref, desktop_name, desktop_os, desktop_app, desktop_ip,
			desktop_user_agent, created_at, expires_at, rotate_until, match_code, match_required, match_failures, user_id, device_id,
			session_id, updated_at) VALUES ($1, 1, 'pending', '\x00', $2, '', '', '', '', '', now(), now(), now(), '00', false, 0, '', '', '', now())`,
			id, "ref-"+id)
	}
	req := `INSERT INTO oauth_requests (ticket_id, ref, client_id, redirect_uri, scope, state, nonce, code_challenge, user_code,
		interval_ns, created_at) VALUES ($1, $2, 'c', $3, 'openid', '', '', '', $4, 0, now())`
	exec(req, "authorize", "ref-authorize", "https://app.example/cb", nil)
	exec(req, "device", "ref-device", "", "WDJBMJHT")
	pool.Close()

	db := mustOpen(t, dsn)
	for id, want := range map[string]server.AppFlow{"desktop": server.AppNone, "authorize": server.AppAuthorize, "device": server.AppDevice} {
		tk, err := db.TicketByID(ctx, id)
		if err != nil || tk.App != want {
			t.Errorf("ticket %s: app flow %q (%v), want %q", id, tk.App, err, want)
		}
	}
}
