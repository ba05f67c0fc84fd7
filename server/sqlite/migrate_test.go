package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauthtest"
)

// migrateUpTo creates the database file at path and runs on it, as Open
// would, the migrations up to and including last, and no later one: those
// are recorded as run while migrate runs, and then forgotten, so that the
// next Open runs them. It returns the file's connection, which the caller
// closes.
func migrateUpTo(t *testing.T, path, last string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	if err := os.WriteFile(path, nil, 0o600); err != nil { // as Open creates it
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
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
	if _, err := w.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, n := range later {
		if _, err := w.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, 0)`, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&DB{w: w}).migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range later {
		if _, err := w.Exec(`DELETE FROM schema_migrations WHERE name = ?`, n); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// Migrations 005 and 006 on the open platform's rows of before
// (oauthtest.LegacyData, stored as the code of then stored them: an app
// without redirect URIs as JSON null), as oauthtest.CheckMigrated checks
// them; and such an app's redirect URIs are [] now.
func TestMigrateLegacyOAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	w := migrateUpTo(t, path, "migrations/004_logout_purge_health.sql")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	legacy := oauthtest.LegacyData()
	for _, u := range legacy.Users {
		exec(`INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.DisplayName, u.AvatarURL, u.PasswordHash, nanos(u.CreatedAt))
	}
	for _, c := range legacy.Clients {
		uris, _ := json.Marshal(c.RedirectURIs) // nil: null
		exec(`INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, public, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, nullBytes(c.SecretHash), string(uris), c.Public, nanos(c.CreatedAt))
	}
	for _, k := range legacy.Tokens {
		exec(`INSERT INTO oauth_tokens (hash, kind, client_id, user_id, scope, family_id, auth_time, expires_at, revoked_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.Hash, k.Kind, k.ClientID, k.UserID, k.Scope, k.FamilyID, nanos(k.AuthTime), nanos(k.ExpiresAt), nanos(k.RevokedAt), nanos(k.CreatedAt))
	}
	for _, c := range legacy.Codes {
		exec(`INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, family_id, auth_time, expires_at, used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.FamilyID, nanos(c.AuthTime), nanos(c.ExpiresAt), nanos(c.UsedAt))
	}
	exec(`INSERT INTO oauth_keys (id, pem, created_at) VALUES (1, ?, ?)`, legacy.Key.PEM, nanos(legacy.Key.CreatedAt))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpen(t, path)
	oauthtest.CheckMigrated(t, db)
	var uris string
	if err := db.r.QueryRow(`SELECT redirect_uris FROM oauth_clients WHERE id = 'tv'`).Scan(&uris); err != nil || uris != "[]" {
		t.Errorf("the TV app's redirect URIs are stored as %q %v, want []", uris, err)
	}
}

// Migration 011 marks the tickets that an app's flow started, from their
// authorization requests: a device grant's (it has a user code) and an
// authorization request's; a desktop's own stays unmarked.
func TestMigrateTicketApp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	w := migrateUpTo(t, path, "migrations/010_sealed_refs.sql")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO oauth_clients (id, name, redirect_uris, public, created_at) VALUES ('c', 'App', '[]', 1, 0)`)
	for _, id := range []string{"desktop", "authorize", "device"} {
		exec(`INSERT INTO tickets (id, version, state, poll_secret_hash, current_ref, desktop_name, desktop_os, desktop_app, desktop_ip,
			desktop_user_agent, created_at, expires_at, rotate_until, match_code, match_required, match_failures, user_id, device_id,
			scanned_at, confirmed_at, session_id, updated_at) VALUES (?, 1, 'pending', x'00', ?, '', '', '', '', '', 0, 0, 0, '00', 0, 0, '', '', 0, 0, '', 0)`,
			id, "ref-"+id)
	}
	req := `INSERT INTO oauth_requests (ticket_id, ref, client_id, redirect_uri, scope, state, nonce, code_challenge, user_code,
		interval_ns, last_poll_at, created_at) VALUES (?, ?, 'c', ?, 'openid', '', '', '', ?, 0, 0, 0)`
	exec(req, "authorize", "ref-authorize", "https://app.example/cb", nil)
	exec(req, "device", "ref-device", "", "WDJBMJHT")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpen(t, path)
	for id, want := range map[string]server.AppFlow{"desktop": server.AppNone, "authorize": server.AppAuthorize, "device": server.AppDevice} {
		tk, err := db.TicketByID(context.Background(), id)
		if err != nil || tk.App != want {
			t.Errorf("ticket %s: app flow %q (%v), want %q", id, tk.App, err, want)
		}
	}
}
