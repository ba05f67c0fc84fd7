package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The stock-client tests run the real server binary and log people in to
// third-party apps with off-the-shelf relying-party libraries, used as a
// site would use them and nothing more: golang.org/x/oauth2 with
// github.com/coreos/go-oidc here (TestStockClients), and panva's
// openid-client for Node.js in frontend/e2e/openid-client.mjs
// (TestOpenIDClientNode). The phone is mobile-sim, logged in to the server.
// The "browser" is plain HTTP: the authorization endpoint answers JSON to a
// client that asks for it, as it does for a single-page app that draws its
// own QR page.

// The apps a third party registers, with these redirect URIs. Nothing is
// served there: the test reads the redirect instead of following it.
const (
	stockSiteRedirect = "https://site.example/callback"
	stockSPARedirect  = "https://spa.example/callback"
	stockUser         = "alice"
	stockName         = "Alice Liddell"
	stockPass         = "correct horse battery staple"
)

// stockApp is a registered app's credentials.
type stockApp struct {
	ID       string `json:"client_id"`
	Secret   string `json:"client_secret"`
	Redirect string `json:"-"`
}

// stockServer is the real server with three apps registered by its
// operator's command (a confidential website, a confidential TV app with
// the device grant, a public single-page app) and a phone logged in.
type stockServer struct {
	*proc
	site, tv, spa stockApp
	sim           string // the mobile-sim binary
	phones        string // its QRLOGIN_MOBILE_SIM_HOME
}

// startStockServer registers the apps in a fresh database, starts the
// server on it and registers and logs in the phone.
func startStockServer(t *testing.T) *stockServer {
	t.Helper()
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	s := &stockServer{
		site: addStockApp(t, db, stockSiteRedirect, "--name", "Stock Site", "--redirect-uri", stockSiteRedirect, "--grants", "code,refresh"),
		tv:   addStockApp(t, db, "", "--name", "Stock TV", "--grants", "device,refresh"),
		spa:  addStockApp(t, db, stockSPARedirect, "--name", "Stock SPA", "--redirect-uri", stockSPARedirect, "--grants", "code,refresh", "--public"),
		sim:  stockMobileSim(t),
	}
	if s.spa.Secret != "" {
		t.Fatalf("a --public app was given a secret")
	}
	// The device grant's clients may poll every second, so that an approved
	// TV gets its token soon.
	s.proc = startServer(t, db, "-match", "never", "-rotate-every", "50s", "-device-interval", "1s")
	s.phones = t.TempDir()
	s.phone(t, "register", "-username", stockUser, "-display-name", stockName, "-password", stockPass)
	s.phone(t, "login", "-username", stockUser, "-password", stockPass)
	return s
}

// addStockApp registers an app with "qrlogin-server apps add ... -json", as an
// operator would.
func addStockApp(t *testing.T, db, redirect string, args ...string) stockApp {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"apps", "add", "-db", db, "-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qrlogin-server apps add %q: %v\n%s%s", args, err, out, stderr.Bytes())
	}
	var a stockApp
	if err := json.Unmarshal(out, &a); err != nil || a.ID == "" {
		t.Fatalf("qrlogin-server apps add -json printed %q (%v)", out, err)
	}
	a.Redirect = redirect
	return a
}

var (
	stockSimOnce sync.Once
	stockSimPath string
	stockSimErr  error
)

// stockMobileSim builds mobile-sim once for these tests.
func stockMobileSim(t *testing.T) string {
	t.Helper()
	stockSimOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qrlogin-mobile-sim")
		if err != nil {
			stockSimErr = err
			return
		}
		stockSimPath = filepath.Join(dir, "mobile-sim")
		if out, err := exec.Command("go", "build", "-o", stockSimPath, "github.com/qrlogin/qrlogin/mobile-sim").CombinedOutput(); err != nil {
			stockSimErr = &buildError{out: out, err: err}
		}
	})
	if stockSimErr != nil {
		t.Fatal(stockSimErr)
	}
	return stockSimPath
}

// phone runs mobile-sim as the test's phone on the server and returns its
// output; it fails the test if mobile-sim fails.
func (s *stockServer) phone(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.sim, append(args, "-server", s.url, "-profile", stockUser)...)
	cmd.Env = append(os.Environ(), "QRLOGIN_MOBILE_SIM_HOME="+s.phones)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mobile-sim %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stockPage is what the authorization endpoint answers a client that asks
// for JSON: the app and the ticket whose QR code the page would show, or,
// for a request refused back to the app, where to send the browser.
type stockPage struct {
	App struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	} `json:"app"`
	Ticket struct {
		Ref        string `json:"ref"`
		PollSecret string `json:"poll_secret"`
		QRPayload  string `json:"qr_payload"`
	} `json:"ticket"`
	Redirect string `json:"redirect"`
}

// openStockAuthorize opens the authorization URL as a browser page that asks for
// JSON would.
func openStockAuthorize(t *testing.T, authURL string) stockPage {
	t.Helper()
	req, err := http.NewRequest("GET", authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	var page stockPage
	if status, body := stockHTTP(t, req, &page); status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", authURL, status, body)
	}
	return page
}

// stockHTTP sends req without following redirects and decodes a JSON answer
// into v; it returns the status and the body.
func stockHTTP(t *testing.T, req *http.Request, v any) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %v: %s", req.Method, req.URL, err, body)
		}
	}
	return res.StatusCode, body
}

// login walks the browser's part of an authorization request: it opens the
// authorization URL, approves the login on the phone (mobile-sim scans the
// page's QR code), asks the server where to send the browser, and returns
// that redirect's query after checking that it goes to app's redirect URI
// and names the issuer (RFC 9207).
func (s *stockServer) login(t *testing.T, app stockApp, authURL string) (stockPage, url.Values) {
	t.Helper()
	page := openStockAuthorize(t, authURL)
	if page.Redirect != "" {
		t.Fatalf("the authorization request was refused: %s", page.Redirect)
	}
	if page.Ticket.QRPayload == "" || page.Ticket.PollSecret == "" {
		t.Fatalf("the authorization page has no ticket: %+v", page)
	}
	if out := s.phone(t, "scan", "--payload", page.Ticket.QRPayload, "--yes"); !strings.Contains(out, "state: confirmed") || !strings.Contains(out, page.App.Name) {
		t.Fatalf("the phone did not approve %q:\n%s", page.App.Name, out)
	}
	body, _ := json.Marshal(map[string]string{"ref": page.Ticket.Ref})
	req, err := http.NewRequest("POST", s.url+"/oauth/authorize/complete", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+page.Ticket.PollSecret)
	var done struct {
		Redirect string `json:"redirect"`
	}
	if status, b := stockHTTP(t, req, &done); status != http.StatusOK {
		t.Fatalf("POST /oauth/authorize/complete: %d %s", status, b)
	}
	return page, s.redirected(t, app, done.Redirect)
}

// redirected checks that the authorization response (a URL) goes to app's
// redirect URI with the issuer's iss, and returns its query.
func (s *stockServer) redirected(t *testing.T, app stockApp, to string) url.Values {
	t.Helper()
	u, err := url.Parse(to)
	if err != nil {
		t.Fatalf("redirect %q: %v", to, err)
	}
	q := u.Query()
	u.RawQuery = ""
	if u.String() != app.Redirect {
		t.Fatalf("redirected to %s, want the app's redirect URI %s", to, app.Redirect)
	}
	if got := q.Get("iss"); got != s.url {
		t.Fatalf("authorization response iss = %q, want the issuer %q (RFC 9207)", got, s.url)
	}
	return q
}

// stockScope is the scope of a token response.
func stockScope(tok *oauth2.Token) string {
	s, _ := tok.Extra("scope").(string)
	return s
}

// wantStockGrantError checks that err is the token endpoint's OAuth error code.
func wantStockGrantError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("%s: %v, want the token endpoint's %s", what, err, code)
	}
}

// stockClient is a third-party site's setup: go-oidc's provider from
// discovery and an x/oauth2 config for one app.
type stockClient struct {
	provider *oidc.Provider
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (s *stockServer) client(t *testing.T, ctx context.Context, app stockApp, scopes ...string) *stockClient {
	t.Helper()
	p, err := oidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatalf("oidc.NewProvider(%s): %v", s.url, err)
	}
	return &stockClient{
		provider: p,
		conf:     &oauth2.Config{ClientID: app.ID, ClientSecret: app.Secret, Endpoint: p.Endpoint(), RedirectURL: app.Redirect, Scopes: scopes},
		verifier: p.Verifier(&oidc.Config{ClientID: app.ID}),
	}
}

// codeFlow logs the phone's person in to app through c: the authorization
// URL with state, nonce and an S256 challenge, the browser's walk, and the
// code exchanged with its verifier. It returns the tokens and the nonce
// sent.
func (s *stockServer) codeFlow(t *testing.T, ctx context.Context, c *stockClient, app stockApp) (*oauth2.Token, string) {
	t.Helper()
	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := c.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	_, q := s.login(t, app, authURL)
	if q.Get("state") != state {
		t.Fatalf("state came back as %q, want %q", q.Get("state"), state)
	}
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization error %s: %s", e, q.Get("error_description"))
	}
	tok, err := c.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		t.Fatalf("token response: %+v", tok)
	}
	return tok, nonce
}

// idToken verifies the token response's ID token and returns it with its
// claims.
func (c *stockClient) idToken(t *testing.T, ctx context.Context, tok *oauth2.Token) (*oidc.IDToken, stockClaims) {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatalf("the token response has no id_token: %+v", tok)
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	var claims stockClaims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return idt, claims
}

// stockClaims are the ID token's and userinfo's claims a site reads.
type stockClaims struct {
	Sub               string `json:"sub"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	AuthTime          int64  `json:"auth_time"`
	Nonce             string `json:"nonce"`
}

// userInfo asks the userinfo endpoint with the access token, through
// go-oidc, and returns the claims.
func (c *stockClient) userInfo(t *testing.T, ctx context.Context, tok *oauth2.Token) stockClaims {
	t.Helper()
	ui, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	var claims stockClaims
	if err := ui.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub == "" || ui.Subject != claims.Sub {
		t.Fatalf("userinfo has no sub: %+v", claims)
	}
	return claims
}

// wantTokenDead checks that the userinfo endpoint refuses accessToken with
// 401 and a Bearer challenge (RFC 6750 section 3.1).
func (c *stockClient) wantTokenDead(t *testing.T, ctx context.Context, what, accessToken string) {
	t.Helper()
	if _, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken})); err == nil {
		t.Fatalf("%s: go-oidc's UserInfo succeeded", what)
	}
	req, err := http.NewRequest("GET", c.provider.UserInfoEndpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	status, body := stockHTTP(t, req, nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("%s: userinfo answered %d %s, want 401", what, status, body)
	}
}

// refresh is what a site's token source does when the access token it
// holds has expired: it refreshes with the refresh token.
func (c *stockClient) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	return c.conf.TokenSource(ctx, &oauth2.Token{AccessToken: "expired", RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
}

// TestStockClients walks the open platform with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3 against the real server binary.
func TestStockClients(t *testing.T) {
	s := startStockServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("qrlogin-server log:\n%s", stockLogTail(s.log(), 60))
		}
	})
	full := []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}
	var sub string // the person's subject, the same for every app

	t.Run("discovery", func(t *testing.T) {
		p, err := oidc.NewProvider(ctx, s.url)
		if err != nil {
			t.Fatalf("oidc.NewProvider: %v", err)
		}
		ep := p.Endpoint()
		for _, e := range [][2]string{
			{ep.AuthURL, "/oauth/authorize"}, {ep.TokenURL, "/oauth/token"},
			{ep.DeviceAuthURL, "/oauth/device/code"}, {p.UserInfoEndpoint(), "/oauth/userinfo"},
		} {
			if e[0] != s.url+e[1] {
				t.Errorf("endpoint %q, want %q", e[0], s.url+e[1])
			}
		}
		var meta struct {
			JWKS               string   `json:"jwks_uri"`
			Revocation         string   `json:"revocation_endpoint"`
			ResponseTypes      []string `json:"response_types_supported"`
			GrantTypes         []string `json:"grant_types_supported"`
			Scopes             []string `json:"scopes_supported"`
			PKCE               []string `json:"code_challenge_methods_supported"`
			AuthMethods        []string `json:"token_endpoint_auth_methods_supported"`
			RevokeAuthMethods  []string `json:"revocation_endpoint_auth_methods_supported"`
			SigningAlgs        []string `json:"id_token_signing_alg_values_supported"`
			Subjects           []string `json:"subject_types_supported"`
			IssInAuthorization bool     `json:"authorization_response_iss_parameter_supported"`
		}
		if err := p.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if meta.JWKS != s.url+"/oauth/jwks" || meta.Revocation != s.url+"/oauth/revoke" {
			t.Errorf("jwks_uri %q, revocation_endpoint %q", meta.JWKS, meta.Revocation)
		}
		for _, want := range []struct {
			field string
			list  []string
			items []string
		}{
			{"response_types_supported", meta.ResponseTypes, []string{"code"}},
			{"grant_types_supported", meta.GrantTypes, []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}},
			{"scopes_supported", meta.Scopes, full},
			{"code_challenge_methods_supported", meta.PKCE, []string{"S256"}},
			{"token_endpoint_auth_methods_supported", meta.AuthMethods, []string{"client_secret_basic", "client_secret_post", "none"}},
			{"revocation_endpoint_auth_methods_supported", meta.RevokeAuthMethods, []string{"client_secret_basic", "none"}},
			{"subject_types_supported", meta.Subjects, []string{"public"}},
		} {
			for _, item := range want.items {
				if !slices.Contains(want.list, item) {
					t.Errorf("%s = %q lacks %q", want.field, want.list, item)
				}
			}
		}
		if slices.Contains(meta.PKCE, "plain") {
			t.Errorf("code_challenge_methods_supported offers plain: %q", meta.PKCE)
		}
		if len(meta.SigningAlgs) == 0 || slices.Contains(meta.SigningAlgs, "none") {
			t.Errorf("id_token_signing_alg_values_supported = %q", meta.SigningAlgs)
		}
		if !meta.IssInAuthorization {
			t.Error("authorization_response_iss_parameter_supported is not true")
		}
		// The keys are there for the verifier to fetch.
		req, _ := http.NewRequest("GET", meta.JWKS, nil)
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		if status, body := stockHTTP(t, req, &jwks); status != http.StatusOK || len(jwks.Keys) == 0 {
			t.Errorf("GET jwks_uri: %d %s", status, body)
		}
	})

	t.Run("code flow with PKCE", func(t *testing.T) {
		c := s.client(t, ctx, s.site, full...)
		tok, nonce := s.codeFlow(t, ctx, c, s.site)
		if tok.RefreshToken == "" {
			t.Error("no refresh token for offline_access")
		}
		if got := strings.Fields(stockScope(tok)); !slices.Equal(got, full) {
			t.Errorf("granted scope %q, want %q", got, full)
		}
		idt, claims := c.idToken(t, ctx, tok)
		if idt.Issuer != s.url || !slices.Equal(idt.Audience, []string{s.site.ID}) {
			t.Errorf("ID token iss %q aud %q", idt.Issuer, idt.Audience)
		}
		if idt.Nonce != nonce {
			t.Errorf("ID token nonce %q, want the request's %q", idt.Nonce, nonce)
		}
		if claims.Name != stockName || claims.PreferredUsername != stockUser {
			t.Errorf("ID token profile claims: %+v", claims)
		}
		if at := time.Unix(claims.AuthTime, 0); claims.AuthTime == 0 || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("ID token auth_time %d", claims.AuthTime)
		}
		ui := c.userInfo(t, ctx, tok)
		if ui.Sub != idt.Subject || ui.Name != stockName || ui.PreferredUsername != stockUser {
			t.Errorf("userinfo %+v for the ID token's sub %q", ui, idt.Subject)
		}
		sub = idt.Subject
	})

	t.Run("refresh rotation", func(t *testing.T) {
		c := s.client(t, ctx, s.site, full...)
		tok, _ := s.codeFlow(t, ctx, c, s.site)
		first, _ := c.idToken(t, ctx, tok)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		tok2, err := c.refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
			t.Fatal("the refresh token did not rotate")
		}
		// A refreshed ID token is the same person's, from the same
		// authentication (OpenID Connect Core 1.0 section 12.2).
		idt, claims := c.idToken(t, ctx, tok2)
		var firstClaims stockClaims
		first.Claims(&firstClaims)
		if idt.Subject != first.Subject || claims.AuthTime != firstClaims.AuthTime || claims.Nonce != "" && claims.Nonce != firstClaims.Nonce {
			t.Errorf("refreshed ID token %+v, first %+v", claims, firstClaims)
		}
		if ui := c.userInfo(t, ctx, tok2); ui.Sub != first.Subject {
			t.Errorf("userinfo with the new access token: %+v", ui)
		}
		// The rotated-away refresh token is refused, and its reuse ends the
		// grant: the new tokens stop working too.
		_, err = c.refresh(ctx, tok.RefreshToken)
		wantStockGrantError(t, "reusing the rotated refresh token", err, "invalid_grant")
		c.wantTokenDead(t, ctx, "the new access token after the old refresh token's reuse", tok2.AccessToken)
		_, err = c.refresh(ctx, tok2.RefreshToken)
		wantStockGrantError(t, "the new refresh token after the old one's reuse", err, "invalid_grant")
	})

	t.Run("code replay", func(t *testing.T) {
		c := s.client(t, ctx, s.site, full...)
		verifier, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		_, q := s.login(t, s.site, c.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-"+state)))
		code := q.Get("code")
		tok, err := c.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		c.userInfo(t, ctx, tok)
		_, err = c.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		wantStockGrantError(t, "exchanging the code again", err, "invalid_grant")
		c.wantTokenDead(t, ctx, "the first exchange's access token after the replay", tok.AccessToken)
		_, err = c.refresh(ctx, tok.RefreshToken)
		wantStockGrantError(t, "the first exchange's refresh token after the replay", err, "invalid_grant")
	})

	t.Run("unknown scope is ignored", func(t *testing.T) {
		c := s.client(t, ctx, s.site, oidc.ScopeOpenID, "profile", "email")
		verifier, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		page, q := s.login(t, s.site, c.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
		if slices.Contains(page.App.Scopes, "email") {
			t.Errorf("the phone is asked for scopes %q", page.App.Scopes)
		}
		tok, err := c.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if got := stockScope(tok); got != "openid profile" {
			t.Errorf("granted scope %q, want %q", got, "openid profile")
		}
		c.idToken(t, ctx, tok)
		c.userInfo(t, ctx, tok)
	})

	t.Run("no refresh token without offline_access", func(t *testing.T) {
		c := s.client(t, ctx, s.site, oidc.ScopeOpenID, "profile")
		tok, _ := s.codeFlow(t, ctx, c, s.site)
		if tok.RefreshToken != "" {
			t.Error("a refresh token was issued without offline_access")
		}
		if _, claims := c.idToken(t, ctx, tok); claims.Name != stockName {
			t.Errorf("ID token claims %+v", claims)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		c := s.client(t, ctx, s.site, full...)
		tok, _ := s.codeFlow(t, ctx, c, s.site)
		var meta struct {
			Revocation string `json:"revocation_endpoint"`
		}
		if err := c.provider.Claims(&meta); err != nil || meta.Revocation == "" {
			t.Fatalf("no revocation_endpoint: %v", err)
		}
		revoke := func(token, hint string) {
			t.Helper()
			req, _ := http.NewRequest("POST", meta.Revocation, strings.NewReader(url.Values{"token": {token}, "token_type_hint": {hint}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(s.site.ID), url.QueryEscape(s.site.Secret))
			if status, body := stockHTTP(t, req, nil); status != http.StatusOK {
				t.Fatalf("revoking: %d %s, want 200", status, body)
			}
		}
		// An unknown token is answered the same way (RFC 7009 section 2.2).
		revoke("not-a-token-of-this-server", "refresh_token")
		c.userInfo(t, ctx, tok)
		// Revoking the refresh token ends its grant: the access token too.
		revoke(tok.RefreshToken, "refresh_token")
		c.wantTokenDead(t, ctx, "the access token after its refresh token was revoked", tok.AccessToken)
		_, err := c.refresh(ctx, tok.RefreshToken)
		wantStockGrantError(t, "the revoked refresh token", err, "invalid_grant")
		revoke(tok.RefreshToken, "refresh_token") // revoking twice is fine
	})

	t.Run("device grant", func(t *testing.T) {
		c := s.client(t, ctx, s.tv, full...)
		da, err := c.conf.DeviceAuth(ctx)
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		if !regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`).MatchString(da.UserCode) || da.VerificationURI != s.url+"/device" ||
			!strings.HasPrefix(da.VerificationURIComplete, s.url+"/device?") || da.Interval == 0 {
			t.Fatalf("device authorization response: %+v", da)
		}
		type result struct {
			tok *oauth2.Token
			err error
		}
		polled := make(chan result, 1)
		go func() {
			tok, err := c.conf.DeviceAccessToken(ctx, da)
			polled <- result{tok, err}
		}()
		out := s.phone(t, "scan", "--payload", da.VerificationURIComplete, "--yes")
		for _, want := range []string{"Stock TV", da.UserCode, "state: confirmed"} {
			if !strings.Contains(out, want) {
				t.Errorf("mobile-sim's scan output lacks %q:\n%s", want, out)
			}
		}
		r := <-polled
		if r.err != nil {
			t.Fatalf("DeviceAccessToken: %v", r.err)
		}
		if r.tok.RefreshToken == "" {
			t.Error("no refresh token for offline_access")
		}
		idt, claims := c.idToken(t, ctx, r.tok)
		if claims.Name != stockName || sub != "" && idt.Subject != sub {
			t.Errorf("the TV's ID token: %+v", claims)
		}
		c.userInfo(t, ctx, r.tok)
		if _, err := c.refresh(ctx, r.tok.RefreshToken); err != nil {
			t.Errorf("the TV's refresh: %v", err)
		}
	})

	t.Run("public client", func(t *testing.T) {
		c := s.client(t, ctx, s.spa, full...)
		// PKCE is required: an authorization request without it is sent back.
		page := openStockAuthorize(t, c.conf.AuthCodeURL("no-pkce"))
		if q := s.redirected(t, s.spa, page.Redirect); q.Get("error") != "invalid_request" || q.Get("state") != "no-pkce" {
			t.Errorf("authorization request without PKCE answered %s", page.Redirect)
		}
		tok, nonce := s.codeFlow(t, ctx, c, s.spa)
		idt, _ := c.idToken(t, ctx, tok)
		if idt.Nonce != nonce || !slices.Equal(idt.Audience, []string{s.spa.ID}) || sub != "" && idt.Subject != sub {
			t.Errorf("the public client's ID token: aud %q nonce %q sub %q", idt.Audience, idt.Nonce, idt.Subject)
		}
		c.userInfo(t, ctx, tok)
		tok2, err := c.refresh(ctx, tok.RefreshToken)
		if err != nil || tok2.RefreshToken == tok.RefreshToken {
			t.Fatalf("the public client's refresh: %v (rotated: %v)", err, err == nil && tok2.RefreshToken != tok.RefreshToken)
		}
	})
}

// TestOpenIDClientNode walks the same list with openid-client (panva's,
// OpenID-certified) for Node.js, from frontend/e2e/openid-client.mjs, one
// subtest a scenario. Without node or frontend/node_modules/openid-client it
// skips, saying how to install them, unless QRLOGIN_E2E_BROWSER is set (as
// `make test` sets it, after `npm ci`): then it fails.
func TestOpenIDClientNode(t *testing.T) {
	frontend, err := filepath.Abs("../../../frontend")
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		t.Helper()
		if os.Getenv("QRLOGIN_E2E_BROWSER") != "" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("the openid-client test needs node (Node 20) on PATH")
	}
	if _, err := os.Stat(filepath.Join(frontend, "node_modules/openid-client/package.json")); err != nil {
		missing("the openid-client test needs frontend/node_modules/openid-client: run `npm ci` in frontend")
	}
	script := filepath.Join("e2e", "openid-client.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	list := exec.CommandContext(ctx, node, script, "--list")
	list.Dir = frontend
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s --list: %v\n%s", script, err, out)
	}
	scenarios := strings.Fields(string(out))
	if len(scenarios) == 0 {
		t.Fatalf("node %s --list named no scenario", script)
	}

	s := startStockServer(t)
	env := append(os.Environ(),
		"QRLOGIN_E2E_ISSUER="+s.url,
		"QRLOGIN_E2E_SITE_ID="+s.site.ID,
		"QRLOGIN_E2E_SITE_SECRET="+s.site.Secret,
		"QRLOGIN_E2E_SITE_REDIRECT="+s.site.Redirect,
		"QRLOGIN_E2E_TV_ID="+s.tv.ID,
		"QRLOGIN_E2E_TV_SECRET="+s.tv.Secret,
		"QRLOGIN_E2E_SPA_ID="+s.spa.ID,
		"QRLOGIN_E2E_SPA_REDIRECT="+s.spa.Redirect,
		"QRLOGIN_E2E_MOBILE_SIM="+s.sim,
		"QRLOGIN_MOBILE_SIM_HOME="+s.phones,
		"QRLOGIN_E2E_PROFILE="+stockUser,
		"QRLOGIN_E2E_USERNAME="+stockUser,
		"QRLOGIN_E2E_DISPLAY_NAME="+stockName,
	)
	for _, scenario := range scenarios {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script, scenario)
			cmd.Dir = frontend
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node %s %s: %v\n%s", script, scenario, err, out)
			}
			t.Logf("%s", out)
		})
	}
	if t.Failed() {
		t.Logf("qrlogin-server log:\n%s", stockLogTail(s.log(), 60))
	}
}

// stockLogTail returns the last n lines of s.
func stockLogTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
