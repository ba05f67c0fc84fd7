package provider

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/jackc/pgx/v5"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/postgres"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// cheapHash makes the service's password hashing fast: not under test here.
var cheapHash = server.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// logBuf collects a provider's logs.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openKeyDB opens (making it if need be) the SQLite file at path.
func openKeyDB(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// keyNode starts a provider, as a node would, over st (core data in db) on
// clock clk, logging to log if not nil.
func keyNode(t *testing.T, db server.Store, st oauth.Store, clk *testclock.Clock, cfg Config, log *logBuf) *Provider {
	t.Helper()
	var h slog.Handler = slog.DiscardHandler
	if log != nil {
		h = slog.NewTextHandler(log, nil)
	}
	return newTestProvider(t, db, st, clk.Now, slog.New(h), cfg)
}

// idToken signs an ID token with p, issued at now.
func idToken(t *testing.T, p *Provider, now time.Time) string {
	t.Helper()
	tok, err := p.sig.sign(idClaims{Claims: jwt.Claims{Subject: "u1", Expiry: jwt.NewNumericDate(now.Add(p.cfg.AccessTTL))}}, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// check verifies token with set and returns the kid and typ of its header.
func check(t *testing.T, set jose.JSONWebKeySet, token string) (kid, typ string) {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := parsed.Claims(set, &c); err != nil {
		t.Fatalf("token signed by %s does not verify with the JWKS: %v", parsed.Headers[0].KeyID, err)
	}
	typ, _ = parsed.Headers[0].ExtraHeaders[jose.HeaderType].(string)
	return parsed.Headers[0].KeyID, typ
}

// kids are the key IDs of set, in order.
func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// The first node to start makes the one key; the next finds it.
func TestFirstStartMakesOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	clk := testclock.New(time.Now().UTC())
	db1, db2 := openKeyDB(t, path), openKeyDB(t, path)
	a := keyNode(t, db1, db1, clk, Config{}, nil)
	b := keyNode(t, db2, db2, clk, Config{}, nil)
	set := a.JWKS()
	if len(set.Keys) != 1 || !slices.Equal(kids(b.JWKS()), kids(set)) {
		t.Fatalf("JWKS: %q and %q, want one key, the same", kids(set), kids(b.JWKS()))
	}
	if k := set.Keys[0]; k.Algorithm != string(jose.ES256) || k.Use != "sig" || !k.IsPublic() {
		t.Fatalf("published key: %+v", k)
	}
	stored, err := db1.SigningKeys(context.Background())
	if err != nil || len(stored) != 1 || !stored[0].ActiveFrom.Equal(clk.Now()) || !stored[0].RetiredAt.IsZero() {
		t.Fatalf("stored keys: %+v %v, want one, signing from its start", stored, err)
	}
	if kid, typ := check(t, set, idToken(t, b, clk.Now())); kid != set.Keys[0].KeyID || typ != "JWT" {
		t.Fatalf("ID token: kid %s typ %q", kid, typ)
	}
}

// A rotation on two nodes: each publishes the new key once it reloads,
// both sign with it from its activation, and the old key is published
// until the last token it signed has expired, then dropped.
func TestRotationOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	clk := testclock.New(time.Now().UTC())
	db1, db2 := openKeyDB(t, path), openKeyDB(t, path)
	var logs logBuf
	cfg := Config{AccessTTL: 10 * time.Minute}
	a := keyNode(t, db1, db1, clk, cfg, &logs)
	b := keyNode(t, db2, db2, clk, cfg, nil)
	k0 := kids(a.JWKS())[0]
	old := idToken(t, a, clk.Now())

	k1, err := RotateKey(ctx, db1, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(b.JWKS()); !slices.Equal(got, []string{k0}) {
		t.Fatalf("JWKS of a node that has not reloaded: %q", got)
	}
	for _, p := range []*Provider{a, b} {
		if err := p.RefreshKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if got := kids(p.JWKS()); !slices.Equal(got, []string{k0, k1.KID}) {
			t.Fatalf("JWKS after a reload: %q, want the signing key, then the next", got)
		}
	}
	// Signing follows the activation time, whatever the node.
	for _, c := range []struct {
		p    *Provider
		at   time.Time
		want string
	}{
		{a, k1.ActiveFrom.Add(-time.Nanosecond), k0},
		{b, k1.ActiveFrom.Add(-time.Nanosecond), k0},
		{a, k1.ActiveFrom, k1.KID},
		{b, k1.ActiveFrom.Add(time.Hour), k1.KID},
	} {
		if kid, _ := check(t, b.JWKS(), idToken(t, c.p, c.at)); kid != c.want {
			t.Fatalf("a token signed at %v: kid %s, want %s", c.at, kid, c.want)
		}
	}

	keys, err := Keys(ctx, db2, cfg.AccessTTL)
	if err != nil {
		t.Fatal(err)
	}
	dropAfter := k1.ActiveFrom.Add(cfg.AccessTTL)
	if len(keys) != 2 || keys[0].KID != k0 || !keys[0].RetiredAt.Equal(k1.ActiveFrom) || !keys[0].DropAfter.Equal(dropAfter) ||
		keys[1].KID != k1.KID || !keys[1].RetiredAt.IsZero() || !keys[1].DropAfter.IsZero() {
		t.Fatalf("Keys: %+v", keys)
	}

	clk.Add(dropAfter.Sub(clk.Now()))
	if got := kids(a.JWKS()); !slices.Equal(got, []string{k1.KID, k0}) {
		t.Fatalf("JWKS as the old key's last token expires: %q", got)
	}
	check(t, a.JWKS(), old)
	clk.Add(time.Nanosecond)
	if got := kids(a.JWKS()); !slices.Equal(got, []string{k1.KID}) {
		t.Fatalf("JWKS after the retirement window: %q, want only the new key", got)
	}
	if err := a.RefreshKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := Keys(ctx, db2, cfg.AccessTTL); len(keys) != 1 || keys[0].KID != k1.KID {
		t.Fatalf("stored keys after the retirement window: %+v", keys)
	}
	if !strings.Contains(logs.String(), "dropped retired signing keys") {
		t.Fatalf("the drop was not logged: %s", logs.String())
	}
}

// A retired key stays published for the longest token life: the logout
// token's when ID tokens live less.
func TestKeyKeep(t *testing.T) {
	if keyKeep(time.Hour) != time.Hour || keyKeep(time.Minute) != logoutTTL {
		t.Fatalf("keyKeep: %v %v", keyKeep(time.Hour), keyKeep(time.Minute))
	}
	ctx := context.Background()
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC())
	p := keyNode(t, db, db, clk, Config{AccessTTL: time.Minute}, nil)
	k1, err := RotateKey(ctx, db, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RefreshKeys(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(k1.ActiveFrom.Add(logoutTTL).Sub(clk.Now()))
	if n := len(p.JWKS().Keys); n != 2 {
		t.Fatalf("%d keys published within a logout token's life of the retirement, want 2", n)
	}
	clk.Add(time.Nanosecond)
	if n := len(p.JWKS().Keys); n != 1 {
		t.Fatalf("%d keys published after it, want 1", n)
	}
}

// signJWT sets the header's typ and kid; sign sets iat.
func TestSignJWT(t *testing.T) {
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	p := keyNode(t, db, db, clk, Config{}, nil)
	tok, err := p.sig.signJWT(logoutClaims{Claims: jwt.Claims{Subject: "u1"}, Events: map[string]struct{}{logoutEvent: {}}}, "logout+jwt", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if kid, typ := check(t, p.JWKS(), tok); kid != kids(p.JWKS())[0] || typ != "logout+jwt" {
		t.Fatalf("logout token: kid %s typ %q", kid, typ)
	}
	parsed, _ := jwt.ParseSigned(idToken(t, p, clk.Now()), []jose.SignatureAlgorithm{jose.ES256})
	var c jwt.Claims
	parsed.UnsafeClaimsWithoutVerification(&c)
	if c.IssuedAt == nil || !c.IssuedAt.Time().Equal(clk.Now()) {
		t.Fatalf("ID token iat: %v, want %v", c.IssuedAt, clk.Now())
	}
}

// failingStore fails SigningKeys while fail is set.
type failingStore struct {
	oauth.Store
	fail atomic.Bool
}

func (s *failingStore) SigningKeys(ctx context.Context) ([]oauth.SigningKey, error) {
	if s.fail.Load() {
		return nil, errors.New("the database is away")
	}
	return s.Store.SigningKeys(ctx)
}

// A reload that fails keeps the keys loaded: the node signs and publishes
// as before. A key that does not parse is left out, and the others load.
func TestReloadFailureKeepsKeys(t *testing.T) {
	ctx := context.Background()
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC())
	st := &failingStore{Store: db}
	p := keyNode(t, db, st, clk, Config{}, nil)
	before := kids(p.JWKS())
	rotated, err := RotateKey(ctx, db, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	if err := p.RefreshKeys(ctx); err == nil {
		t.Fatal("RefreshKeys with a failing store: no error")
	}
	if got := kids(p.JWKS()); !slices.Equal(got, before) {
		t.Fatalf("JWKS after a failed reload: %q, want %q", got, before)
	}
	check(t, p.JWKS(), idToken(t, p, clk.Now().Add(time.Hour)))

	st.fail.Store(false)
	if err := db.AddSigningKey(ctx, oauth.SigningKey{PEM: []byte("not a key"), CreatedAt: clk.Now(), ActiveFrom: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := p.RefreshKeys(ctx); err == nil || !strings.Contains(err.Error(), "stored key 3 of 3") {
		t.Fatalf("RefreshKeys with a key it cannot parse: %v", err)
	}
	if got, want := kids(p.JWKS()), append(slices.Clone(before), rotated.KID); !slices.Equal(got, want) {
		t.Fatalf("JWKS after a reload with a bad key: %q, want %q", got, want)
	}
	check(t, p.JWKS(), idToken(t, p, clk.Now().Add(time.Hour)))
}

// reloadKeys reloads every KeyReload, and logs a failure and goes on.
func TestReloadLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC())
	st := &failingStore{Store: db}
	var logs logBuf
	p := keyNode(t, db, st, clk, Config{KeyReload: time.Millisecond}, &logs)
	done := make(chan struct{})
	go func() { defer close(done); p.reloadKeys(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("still waiting for %s", what)
			}
		}
	}
	st.fail.Store(true)
	waitFor("a logged failure", func() bool { return strings.Contains(logs.String(), "cannot reload the signing keys") })
	st.fail.Store(false)
	if _, err := RotateKey(context.Background(), db, clk.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor("the new key", func() bool { return len(p.JWKS().Keys) == 2 })
}

// Signing and publishing run beside reloads (go test -race).
func TestSignDuringReload(t *testing.T) {
	ctx := context.Background()
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC())
	p := keyNode(t, db, db, clk, Config{}, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			if _, err := RotateKey(ctx, db, clk.Now().Add(time.Duration(i)*time.Second)); err != nil {
				t.Error(err)
			}
			if err := p.RefreshKeys(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if _, err := p.sig.sign(idClaims{Claims: jwt.Claims{Subject: "u1"}}, clk.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				p.JWKS()
			}
		})
	}
	wg.Wait()
}

// The key reload interval is positive and at most MaxKeyReload; zero is
// the default.
func TestKeyReloadSetting(t *testing.T) {
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	clk := testclock.New(time.Now().UTC())
	if p := keyNode(t, db, db, clk, Config{}, nil); p.cfg.KeyReload != DefaultKeyReload {
		t.Fatalf("default KeyReload: %v", p.cfg.KeyReload)
	}
	keyNode(t, db, db, clk, Config{KeyReload: MaxKeyReload}, nil)
	svc, err := service.New(db, service.Config{BaseURL: "http://127.0.0.1:1", Now: clk.Now, Password: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, d := range []time.Duration{-time.Second, MaxKeyReload + time.Nanosecond} {
		if _, err := New(context.Background(), NewApps(db, clk.Now, nil), svc, Config{KeyReload: d}); err == nil {
			t.Errorf("KeyReload %v accepted", d)
		}
	}
	if KeyActivation <= MaxKeyReload+5*time.Minute {
		t.Errorf("KeyActivation %v leaves no time for the nodes' reload and the JWKS cache", KeyActivation)
	}
}

// Where no key is active yet by this node's clock (the first key made on a
// clock ahead), the earliest signs.
func TestCurrentBeforeAnyIsActive(t *testing.T) {
	now := time.Now()
	keys := []loadedKey{{kid: "a", activeFrom: now.Add(time.Second)}, {kid: "b", activeFrom: now.Add(time.Minute)}}
	if k := current(keys, now); k.kid != "a" {
		t.Fatalf("current: %s, want a", k.kid)
	}
	if k := current(keys, now.Add(time.Minute)); k.kid != "b" {
		t.Fatalf("current: %s, want b", k.kid)
	}
}

// RotateKey needs a first key: it would otherwise make one that signs late.
func TestRotateKeyNeedsAFirstKey(t *testing.T) {
	ctx := context.Background()
	db := openKeyDB(t, filepath.Join(t.TempDir(), "q.db"))
	if _, err := RotateKey(ctx, db, time.Now()); err == nil {
		t.Fatal("RotateKey on a store without keys: no error")
	}
	if keys, err := db.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("keys stored: %+v %v", keys, err)
	}
}

// oldKey is a key as the store kept it before migration 006, with its kid.
func oldKey(t *testing.T, made time.Time) (oauth.SigningKey, string) {
	t.Helper()
	k, err := newKey(made, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, kid, err := parseKey(k.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return k, kid
}

// wantMigratedKey checks that st, migrated, signs with the key of before,
// under its kid, and verifies what it signed.
func wantMigratedKey(t *testing.T, db server.Store, st oauth.Store, old oauth.SigningKey, kid string) {
	t.Helper()
	clk := testclock.New(old.CreatedAt.Add(time.Hour))
	keys, err := Keys(context.Background(), st, time.Hour)
	if err != nil || len(keys) != 1 || keys[0].KID != kid || !keys[0].CreatedAt.Equal(old.CreatedAt) ||
		!keys[0].ActiveFrom.Equal(old.CreatedAt) || !keys[0].RetiredAt.IsZero() {
		t.Fatalf("keys after the migration: %+v %v, want the old key, signing since it was made", keys, err)
	}
	p := keyNode(t, db, st, clk, Config{}, nil)
	if got := kids(p.JWKS()); !slices.Equal(got, []string{kid}) {
		t.Fatalf("JWKS after the migration: %q, want %s", got, kid)
	}
	if got, _ := check(t, p.JWKS(), idToken(t, p, clk.Now())); got != kid {
		t.Fatalf("signed by %s, want %s", got, kid)
	}
}

// Migration 006 moves the one key of before (oauth_keys): it keeps signing
// under the same kid, so the tokens it signed still verify. (The test puts
// a migrated database back in its state before 006 and migrates again.)
func TestMigrationKeepsKeySQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	openKeyDB(t, path).Close()
	old, kid := oldKey(t, time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC))
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TABLE oauth_signing_keys`,
		`CREATE TABLE oauth_keys (id INTEGER PRIMARY KEY CHECK (id = 1), pem BLOB NOT NULL, created_at INTEGER NOT NULL)`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/006_signing_keys.sql'`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO oauth_keys (id, pem, created_at) VALUES (1, ?, ?)`, old.PEM, old.CreatedAt.UnixNano()); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := openKeyDB(t, path)
	wantMigratedKey(t, db, db, old, kid)
}

// As TestMigrationKeepsKeySQLite, on PostgreSQL.
func TestMigrationKeepsKeyPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	old, kid := oldKey(t, time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC))
	raw, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TABLE oauth_signing_keys`,
		`CREATE TABLE oauth_keys (id integer PRIMARY KEY CHECK (id = 1), pem bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/006_signing_keys.sql'`,
	} {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := raw.Exec(ctx, `INSERT INTO oauth_keys (id, pem, created_at) VALUES (1, $1, $2)`, old.PEM, old.CreatedAt); err != nil {
		t.Fatal(err)
	}
	raw.Close(ctx)
	if db, err = postgres.Open(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	wantMigratedKey(t, db, db, old, kid)
}
