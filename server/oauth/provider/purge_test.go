package provider

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"qrlogin/server"
	"qrlogin/server/oauth"
	"qrlogin/server/service"
	"qrlogin/server/sqlite"
)

// Run removes what has expired at once, and leaves what has not.
func TestRunPurgesExpired(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := service.New(db, service.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	p, err := New(ctx, db, svc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateUser(ctx, server.User{ID: "u1", Username: "alice", DisplayName: "Alice", CreatedAt: now}))
	must(db.CreateClient(ctx, oauth.Client{ID: "c1", Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Public: true, CreatedAt: now}))
	tok := func(name string, expires time.Time) oauth.Token {
		return oauth.Token{Hash: server.HashToken(name), Kind: oauth.KindAccess, ClientID: "c1", UserID: "u1",
			Scope: "openid", FamilyID: "f1", AuthTime: now, ExpiresAt: expires, CreatedAt: now}
	}
	must(db.CreateTokens(ctx, tok("old", now.Add(-time.Minute)), tok("live", now.Add(time.Hour))))

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
