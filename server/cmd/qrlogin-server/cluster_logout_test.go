package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// logoutDeadline is how soon after a grant's revocation its app must have
// the logout token: the revoking node sends it at once.
const logoutDeadline = time.Second

// backchannelEvent is the events member of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// TestClusterLogoutReachesTheAppAndEveryNode runs three nodes on one
// PostgreSQL database and an app registered with a back-channel logout URI
// (a receiver in this test that verifies each logout token with go-oidc
// against the cluster's keys, as a site would). A login's whole code flow
// runs on node A (with offline_access, so it has a refresh token too); the
// phone revokes the grant through node B. At once the access token fails
// userinfo and the refresh token fails (invalid_grant) on each of the
// three nodes, and within a second of the revocation the app has one
// verified logout token naming the person and the ID token's sid.
//
// The app is this minimal receiver rather than the demo site: the demo
// site is package main of another command, and its own validation is
// tested there (site_test.go, browser_test.go); here what matters is what
// the cluster sends and when, which the receiver reports as it arrives.
func TestClusterLogoutReachesTheAppAndEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	const host = "qrlogin.test"
	issuer := "http://" + host
	dsn := pgtest.Start(t)
	procs := make([]*proc, 3)
	fronts := make([]string, len(procs))
	for i := range procs {
		procs[i] = startServer(t, dsn, "-base-url", issuer, "-match", "never")
		fronts[i] = frontFor(t, procs[i], host)
	}
	nodeA, nodeB, nodeC := fronts[0], fronts[1], fronts[2]
	logs := func() string {
		var b bytes.Buffer
		for i, p := range procs {
			fmt.Fprintf(&b, "node %c:\n%s\n", 'A'+i, p.log())
		}
		return b.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The app, registered as its operator would, with the receiver's URI.
	web := httptest.NewUnstartedServer(nil)
	const redirect = "https://app.example/callback"
	app := addLogoutApp(t, dsn, redirect, "http://"+web.Listener.Addr().String()+"/backchannel-logout")
	recv := &logoutReceiver{
		verifier: oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, nodeA+"/oauth/jwks"),
			&oidc.Config{ClientID: app.ClientID, SupportedSigningAlgs: []string{oidc.ES256}}),
		got: make(chan receivedLogout, 8),
	}
	web.Config.Handler = recv
	web.Start()
	t.Cleanup(web.Close)

	// The login, on node A: the authorization request, the phone's scan
	// and confirmation, the code, the tokens.
	phoneAPI := protocoltest.New(t, nodeA)
	alice := phoneAPI.NewPhone("Alice")
	conf := oauth2.Config{
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: redirect,
		Scopes:   []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess},
		Endpoint: oauth2.Endpoint{AuthURL: nodeA + "/oauth/authorize", TokenURL: nodeA + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st4te", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(verifier))
	var page httpapi.AuthorizeJSON
	authorizeJSON(t, authURL, &page)
	var sr api.ScanResponse
	r := phoneAPI.Scan(alice, page.Ticket.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	r.JSON(t, &sr)
	protocoltest.Want(t, phoneAPI.Confirm(alice, sr.ScanToken, true, ""), http.StatusOK, "")
	r = phoneAPI.Do("POST", "/oauth/authorize/complete", protocoltest.Auth{Bearer: page.Ticket.PollSecret}, map[string]string{"ref": page.Ticket.Ref})
	protocoltest.Want(t, r, http.StatusOK, "")
	back, err := url.Parse(fmt.Sprint(r.Map()["redirect"]))
	if err != nil || back.Query().Get("code") == "" || back.Query().Get("state") != "st4te" || back.Query().Get("iss") != issuer {
		t.Fatalf("the authorization response: %s (%v); want a code, the state and iss %s", r.Body, err, issuer)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange on node A: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for a login with offline_access")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := recv.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var idClaims struct {
		SessionID string `json:"sid"`
	}
	if err := idt.Claims(&idClaims); err != nil || idClaims.SessionID == "" || idt.Nonce != "n0nce" || idt.Subject != alice.User.ID {
		t.Fatalf("ID token: sub %q nonce %q sid %q (%v)", idt.Subject, idt.Nonce, idClaims.SessionID, err)
	}

	for i, front := range fronts {
		if status := userinfoAt(t, ctx, front, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("userinfo on node %c before the revocation: %d", 'A'+i, status)
		}
	}

	// The phone sees the grant (through node C) under the ID token's sid
	// and revokes it through node B.
	grants, err := client.New(nodeC).Mobile(alice.Bearer, alice.DeviceID).Grants(ctx)
	if err != nil || len(grants) != 1 || grants[0].ID != idClaims.SessionID || grants[0].ClientID != app.ClientID {
		t.Fatalf("the phone's grants: %+v (%v), want the one of sid %s", grants, err, idClaims.SessionID)
	}
	if err := client.New(nodeB).Mobile(alice.Bearer, alice.DeviceID).RevokeGrant(ctx, idClaims.SessionID); err != nil {
		t.Fatalf("revoking through node B: %v", err)
	}
	revoked := time.Now()

	// Every node checks the database on each use: the tokens fail at
	// once.
	for i, front := range fronts {
		if status := userinfoAt(t, ctx, front, tok.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("userinfo on node %c after the revocation: %d, want 401", 'A'+i, status)
		}
		c := conf
		c.Endpoint.TokenURL = front + "/oauth/token"
		_, err := c.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("refresh on node %c after the revocation: %v, want invalid_grant", 'A'+i, err)
		}
	}

	if left, err := client.New(nodeA).Mobile(alice.Bearer, alice.DeviceID).Grants(ctx); err != nil || len(left) != 0 {
		t.Errorf("the phone's grants after the revocation, on node A: %+v (%v), want none", left, err)
	}

	select {
	case got := <-recv.got:
		if got.err != nil {
			t.Fatalf("the logout token that arrived does not check out: %v\n%s", got.err, logs())
		}
		if got.sub != alice.User.ID || got.sid != idClaims.SessionID {
			t.Errorf("the logout token names sub %q sid %q, want %q %q", got.sub, got.sid, alice.User.ID, idClaims.SessionID)
		}
		t.Logf("the logout token arrived %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	case <-time.After(time.Until(revoked.Add(logoutDeadline))):
		t.Fatalf("no logout token within %s of the revocation\n%s", logoutDeadline, logs())
	}
	// The refresh tokens tried above, replays of a revoked grant, told
	// the app nothing more.
	select {
	case got := <-recv.got:
		t.Errorf("a second logout token arrived: %+v", got)
	default:
	}
}

// logoutApp are an app's credentials, as apps add -json prints them.
type logoutApp struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// addLogoutApp registers "Demo Site" with redirect and logoutURI in the
// database dsn, as an operator would (apps add), and returns its
// credentials.
func addLogoutApp(t *testing.T, dsn, redirect, logoutURI string) logoutApp {
	t.Helper()
	var c logoutApp
	var out, errb bytes.Buffer
	if code := runApps([]string{"add", "-db", dsn, "--name", "Demo Site", "--redirect-uri", redirect,
		"--backchannel-logout-uri", logoutURI, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("apps add: exit %d: %s", code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("apps add -json printed %q (%v)", out.String(), err)
	}
	return c
}

// authorizeJSON GETs u asking for JSON, as an app drawing its own QR page does,
// and decodes the 200 answer into v.
func authorizeJSON(t *testing.T, u string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// userinfoAt returns the status of the userinfo endpoint at base for the
// access token.
func userinfoAt(t *testing.T, ctx context.Context, base, access string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/oauth/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logoutReceiver is an app's back-channel logout endpoint. It verifies
// each logout token (signature, iss, aud, exp by go-oidc; typ logout+jwt,
// iat, the events member, no nonce, sub or sid), answers 200 or 400, and
// passes what it found on got.
type logoutReceiver struct {
	verifier *oidc.IDTokenVerifier
	got      chan receivedLogout
}

// receivedLogout is a logout token that arrived: the person and the grant
// it names, or why it does not check out.
type receivedLogout struct {
	sub, sid string
	err      error
}

func (l *logoutReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := l.check(r)
	l.got <- got
	if got.err != nil {
		http.Error(w, got.err.Error(), http.StatusBadRequest)
	}
}

// check validates r, a back-channel logout request.
func (l *logoutReceiver) check(r *http.Request) receivedLogout {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return receivedLogout{err: fmt.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))}
	}
	raw := r.PostFormValue("logout_token")
	idt, err := l.verifier.Verify(r.Context(), raw)
	if err != nil {
		return receivedLogout{err: err}
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return receivedLogout{err: err}
	}
	var c struct {
		SessionID string                     `json:"sid"`
		JTI       string                     `json:"jti"`
		Nonce     *string                    `json:"nonce"`
		Events    map[string]json.RawMessage `json:"events"`
	}
	if err := idt.Claims(&c); err != nil {
		return receivedLogout{err: err}
	}
	switch typ := jws.Signatures[0].Protected.ExtraHeaders["typ"]; {
	case typ != "logout+jwt":
		err = fmt.Errorf("typ %v, want logout+jwt", typ)
	case time.Since(idt.IssuedAt) > time.Minute || idt.Expiry.Sub(idt.IssuedAt) > 2*time.Minute:
		err = fmt.Errorf("iat %s, exp %s: want a fresh token living at most 2 minutes", idt.IssuedAt, idt.Expiry)
	case string(c.Events[backchannelEvent]) != "{}":
		err = fmt.Errorf("events %v, want {%q: {}}", c.Events, backchannelEvent)
	case c.Nonce != nil:
		err = errors.New("a nonce")
	case idt.Subject == "" && c.SessionID == "":
		err = errors.New("neither sub nor sid")
	case c.JTI == "":
		err = errors.New("no jti")
	}
	return receivedLogout{sub: idt.Subject, sid: c.SessionID, err: err}
}
