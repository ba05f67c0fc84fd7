package provider

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// newPurgeFixture returns a provider on a fresh SQLite file with account u1
// and public app c1, on clock clk.
func newPurgeFixture(t *testing.T, clk *testclock.Clock) (*Provider, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := newTestProvider(t, db, db, clk.Now, nil, Config{})
	now := clk.Now()
	if err := db.CreateUser(ctx, server.User{ID: "u1", Username: "alice", DisplayName: "Alice", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, oauth.Client{ID: "c1", Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Public: true,
		GrantTypes: []string{oauth.GrantCode, oauth.GrantRefresh}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return p, db
}

// newGrant stores u1's grant id to c1, live for an hour.
func newGrant(t *testing.T, db *sqlite.DB, id string, now time.Time) {
	t.Helper()
	if err := db.CreateGrant(context.Background(), oauth.Grant{ID: id, UserID: "u1", ClientID: "c1", Scope: "openid",
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// Run removes what has expired at once, and leaves what has not.
func TestRunPurgesExpired(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC())
	p, db := newPurgeFixture(t, clk)
	now := clk.Now()
	tok := func(name string, expires time.Time) oauth.Token {
		return oauth.Token{Hash: server.HashToken(name), Kind: oauth.KindAccess, ClientID: "c1", UserID: "u1",
			Scope: "openid", FamilyID: "f1", AuthTime: now, ExpiresAt: expires, CreatedAt: now}
	}
	newGrant(t, db, "f1", now)
	if err := db.CreateTokens(ctx, tok("old", now.Add(-time.Minute)), tok("live", now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(rctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := db.TokenByHash(ctx, server.HashToken("old")); errors.Is(err, server.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired token is still there after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := db.TokenByHash(ctx, server.HashToken("live")); err != nil {
		t.Fatalf("the live token: %v", err)
	}
}

// The purge keeps what replay detection needs (docs/security.md, checklist item 15): a
// code replayed after it expired and after a purge still revokes the
// tokens issued from its first use, and so does a rotated refresh token.
func TestReplayAfterPurgeStillRevokes(t *testing.T) {
	ctx := context.Background()
	for _, replay := range []string{"code", "refresh token"} {
		t.Run(replay, func(t *testing.T) {
			clk := testclock.New(time.Now().UTC())
			p, db := newPurgeFixture(t, clk)
			verifier := strings.Repeat("v", 50)
			newGrant(t, db, "fam1", clk.Now())
			if err := db.CreateCode(ctx, oauth.Code{Hash: server.HashToken("code1"), ClientID: "c1", UserID: "u1", RedirectURI: "https://app.example/cb",
				Scope: "openid profile offline_access", CodeChallenge: s256(verifier), FamilyID: "fam1", AuthTime: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			cc := ClientCredentials{ID: "c1"}
			exchange := url.Values{"grant_type": {"authorization_code"}, "code": {"code1"}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
			first, err := p.Token(ctx, exchange, cc)
			if err != nil {
				t.Fatal(err)
			}
			again, live := exchange, first
			if replay == "refresh token" {
				clk.Add(time.Hour)
				refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}
				if live, err = p.Token(ctx, refresh, cc); err != nil {
					t.Fatal(err)
				}
				again = refresh
				// The rotated-away refresh token expires (30 days after it
				// was issued); the one that replaced it does not yet.
				clk.Add(30*24*time.Hour - 30*time.Minute)
			} else {
				clk.Add(2 * time.Hour) // the code has expired; the refresh token lives on
			}
			p.purge(ctx)
			if _, err := p.Token(ctx, again, cc); err == nil {
				t.Fatalf("the replayed %s was accepted", replay)
			}
			if _, err := p.Token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {live.RefreshToken}}, cc); err == nil {
				t.Errorf("after the replayed %s, the family's live refresh token still works", replay)
			}
		})
	}
}

// newTestProvider returns a provider over st with the login service over
// users (both usually one database), on clock now, logging to log (nowhere
// if nil).
func newTestProvider(t *testing.T, users server.Store, st oauth.Store, now func() time.Time, log *slog.Logger, cfg Config) *Provider {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	apps := NewApps(st, now, log)
	svc, err := service.New(users, service.Config{BaseURL: "http://127.0.0.1:1", Now: now, Logger: log, Password: cheapHash, Apps: apps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	p, err := New(context.Background(), apps, svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
