package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// keyNode is one server of a cluster, in this process: its own connection
// to the shared database, its own service, provider (and so its own
// loaded signing keys) and HTTP server.
type keyNode struct {
	*protocoltest.Client
	url   string
	st    *sqlite.DB
	op    *provider.Provider
	jwks  atomic.Int32 // JWKS requests served
	phone protocoltest.Phone
}

// startKeyNode starts a node on the database at db, on clock clk, issuing
// for issuer (its own URL if empty).
func startKeyNode(t *testing.T, db, issuer string, clk *testclock.Clock, cfg provider.Config) *keyNode {
	t.Helper()
	ctx := context.Background()
	n := &keyNode{}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == provider.PathJWKS {
			n.jwks.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	n.url = srv.URL
	if issuer == "" {
		issuer = srv.URL
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	apps := provider.NewApps(st, clk.Now, log)
	svc, err := service.New(st, service.Config{BaseURL: issuer, Aliases: []string{srv.URL}, Match: "never", OpenRegistration: true,
		Password: cheap, Now: clk.Now, Logger: log, Apps: apps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	op, err := provider.New(ctx, apps, svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = httpapi.New(svc, httpapi.Config{OAuth: op, NoLimits: true, Logger: log})
	n.Client, n.st, n.op = protocoltest.New(t, srv.URL), st, op
	return n
}

// idToken logs the phone of n in to the app through n and returns the ID
// token that n's token endpoint issues.
func (n *keyNode) idToken(t *testing.T, conf oauth2.Config) string {
	t.Helper()
	conf.Endpoint = oauth2.Endpoint{AuthURL: n.url + provider.PathAuthorize, TokenURL: n.url + provider.PathToken, AuthStyle: oauth2.AuthStyleInHeader}
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	r := n.Do("GET", provider.PathAuthorize+"?"+authURL.RawQuery, protocoltest.Auth{}, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	var page httpapi.AuthorizeJSON
	r.JSON(t, &page)
	r = n.Scan(n.phone, page.Ticket.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(t, &sr)
	protocoltest.Want(t, n.Confirm(n.phone, sr.ScanToken, true, ""), http.StatusOK, "")
	r = n.Do("POST", provider.PathComplete, protocoltest.Auth{Bearer: page.Ticket.PollSecret}, map[string]string{"ref": page.Ticket.Ref})
	protocoltest.Want(t, r, http.StatusOK, "")
	back, _ := url.Parse(r.Map()["redirect"].(string))
	tok, err := conf.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

// kids returns the key IDs of n's JWKS.
func (n *keyNode) kids(t *testing.T) []string {
	t.Helper()
	res, err := http.Get(n.url + provider.PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// kidOf returns the key ID in a token's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// A signing key rotates on a cluster of two nodes while a site verifies
// the ID tokens of one node with go-oidc's remote key set on the other's
// JWKS (cached, and fetched again on an unknown kid): every token verifies
// from the rotation until it expires, and the old key leaves the JWKS once
// no token it signed is valid.
func TestKeyRotationWithCachingClient(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	cfg := provider.Config{AccessTTL: 10 * time.Minute}
	a := startKeyNode(t, db, "", clk, cfg)
	b := startKeyNode(t, db, a.url, clk, cfg)
	a.phone = a.NewPhone("Alice")
	secret := server.NewSecret()
	app := oauth.Client{ID: server.NewRef(), Name: "Demo Site", SecretHash: server.HashToken(secret), RedirectURIs: []string{redirect},
		GrantTypes: []string{oauth.GrantCode}, CreatedAt: clk.Now()}
	if err := a.st.CreateClient(ctx, app); err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: app.ID, ClientSecret: secret, RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID}}
	// The site verifies what node a issues with the JWKS of node b.
	keySet := oidc.NewRemoteKeySet(ctx, b.url+provider.PathJWKS)
	verifier := oidc.NewVerifier(a.url, keySet, &oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{oidc.ES256}, Now: clk.Now})
	verify := func(token string) error {
		_, err := verifier.Verify(ctx, token)
		return err
	}
	refresh := func() {
		t.Helper()
		for _, n := range []*keyNode{a, b} {
			if err := n.op.RefreshKeys(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	old := a.idToken(t, conf)
	oldKID := kidOf(t, old)
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	if kids := b.kids(t); !slices.Equal(kids, []string{oldKID}) {
		t.Fatalf("JWKS before the rotation: %q, want the key that signed", kids)
	}

	// The rotation: the nodes load the new key and publish it, but sign
	// with the old one until it is active.
	next, err := provider.RotateKey(ctx, b.st, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !next.ActiveFrom.Equal(clk.Now().Add(provider.KeyActivation)) || next.KID == oldKID {
		t.Fatalf("RotateKey: %+v", next)
	}
	refresh()
	if kids := b.kids(t); !slices.Equal(kids, []string{oldKID, next.KID}) {
		t.Fatalf("JWKS after the rotation: %q, want the signing key and the next", kids)
	}
	clk.Add(provider.KeyActivation - time.Second)
	if k := kidOf(t, a.idToken(t, conf)); k != oldKID {
		t.Fatalf("a token before the new key is active is signed by %s, want %s", k, oldKID)
	}

	// The new key signs; the cached key set does not have it, fetches the
	// JWKS again and verifies; the old token still verifies.
	clk.Add(time.Second)
	fresh := a.idToken(t, conf)
	if k := kidOf(t, fresh); k != next.KID {
		t.Fatalf("a token after the activation is signed by %s, want %s", k, next.KID)
	}
	fetches := b.jwks.Load()
	if err := verify(fresh); err != nil {
		t.Fatal(err)
	}
	if got := b.jwks.Load(); got != fetches+1 {
		t.Fatalf("the key set fetched the JWKS %d times for a new kid, want once", got-fetches)
	}
	if err := verify(old); err != nil {
		t.Fatalf("the old token after the rotation: %v", err)
	}
	if kids := b.kids(t); !slices.Equal(kids, []string{next.KID, oldKID}) {
		t.Fatalf("JWKS once the new key signs: %q, want it and the retired key", kids)
	}

	// The old token verifies until it expires.
	clk.Add(cfg.AccessTTL - provider.KeyActivation)
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	var expired *oidc.TokenExpiredError
	if err := verify(old); !errors.As(err, &expired) {
		t.Fatalf("the old token after its expiry: %v, want expired", err)
	}

	// The old key is published until every token it signed has expired
	// (the last was signed when it retired), then it goes: from the JWKS
	// at once, and from the store at the next reload.
	clk.Add(next.ActiveFrom.Add(cfg.AccessTTL).Sub(clk.Now()))
	if kids := b.kids(t); !slices.Contains(kids, oldKID) {
		t.Fatalf("JWKS when the retired key's last token expires: %q, want it still", kids)
	}
	clk.Add(time.Second)
	if kids := a.kids(t); !slices.Equal(kids, []string{next.KID}) {
		t.Fatalf("JWKS after the retirement window: %q, want only %s", kids, next.KID)
	}
	refresh()
	keys, err := provider.Keys(ctx, a.st, cfg.AccessTTL)
	if err != nil || len(keys) != 1 || keys[0].KID != next.KID {
		t.Fatalf("stored keys after the retirement window: %+v %v", keys, err)
	}
	if err := verify(a.idToken(t, conf)); err != nil {
		t.Fatal(err)
	}
}
