package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth"
)

const redirect = "https://app.example/callback"

// app registers an app on h's server and returns its client id and secret.
func app(t *testing.T, h *harness, public bool) (id, secret string) {
	t.Helper()
	st := h.node.Store().(oauth.Store)
	c := oauth.Client{ID: server.NewRef(), Name: "Demo Site", RedirectURIs: []string{redirect}, Public: public, CreatedAt: time.Now(),
		GrantTypes: []string{oauth.GrantCode, oauth.GrantRefresh, oauth.GrantDevice}}
	if !public {
		secret = server.NewSecret()
		c.SecretHash = server.HashToken(secret)
	}
	if err := st.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID, secret
}

// noRedirects is an HTTP client that reports redirects instead of following
// them: the test plays the browser.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
}

// authorize opens the authorization endpoint as JSON with query q, adding
// a PKCE challenge (whose verifier nobody keeps) unless q has the
// parameter, even empty.
func authorize(t *testing.T, h *harness, q url.Values) protocoltest.Resp {
	t.Helper()
	if _, ok := q["code_challenge"]; !ok {
		_, challenge := pkce()
		q = maps.Clone(q)
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	req, _ := http.NewRequest("GET", h.node.URL()+"/oauth/authorize?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	res, err := noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return protocoltest.Resp{Status: res.StatusCode, Header: res.Header, Body: []byte(b.String())}
}

// approve scans the page's QR with p, confirms, and returns where the page
// sends the browser.
func approve(t *testing.T, h *harness, p protocoltest.Phone, page httpapi.AuthorizeJSON, yes bool) string {
	t.Helper()
	r := h.Scan(p, page.Ticket.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(t, &sr)
	if sr.App == nil || sr.App.Name != "Demo Site" || sr.App.RedirectHost != "app.example" {
		t.Fatalf("the phone is not shown the app: %+v", sr.App)
	}
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, yes, ""), http.StatusOK, "")
	r = h.Do("POST", "/oauth/authorize/complete", protocoltest.Auth{Bearer: page.Ticket.PollSecret}, map[string]string{"ref": page.Ticket.Ref})
	protocoltest.Want(t, r, http.StatusOK, "")
	return r.Map()["redirect"].(string)
}

func startOAuth(t *testing.T, mod func(*node.Config)) *harness {
	return start(t, func(c *node.Config) {
		c.DeviceInterval = time.Second
		if mod != nil {
			mod(c)
		}
	})
}

func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// Checklist 14: redirect_uri must equal a registered value byte for byte,
// or the request fails before any QR is shown.
func TestChecklist14_RedirectURIExactMatch(t *testing.T) {
	h := startOAuth(t, nil)
	id, _ := app(t, h, false)
	before := h.ticketCounts()
	for _, uri := range []string{redirect + "/", redirect + "?x=1", "HTTPS://app.example/callback", "https://app.example/Callback", "https://evil.example/callback", "https://app.example/callback#x", ""} {
		r := authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {uri}, "state": {"s"}})
		if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(string(r.Body), "invalid_request") {
			t.Fatalf("redirect_uri %q: %d %v %s, want 400 with no redirect", uri, r.Status, r.Header.Get("Location"), r.Body)
		}
	}
	r := authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {"unknown"}, "redirect_uri": {redirect}})
	protocoltest.Want(t, r, http.StatusBadRequest, "")
	if after := h.ticketCounts(); after[server.StatePending] != before[server.StatePending] {
		t.Fatalf("a ticket was made for a bad request: %v -> %v", before, after)
	}
	r = authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}})
	protocoltest.Want(t, r, http.StatusOK, "")
}

// Checklist 15: codes are single-use, short-lived, bound to the client, the
// redirect URI and the PKCE challenge; a second redemption gets
// invalid_grant and revokes every token issued from the first.
func TestChecklist15_CodesSingleUseAndBound(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := startOAuth(t, func(c *node.Config) { c.Now = clk.Now; c.CodeTTL = 30 * time.Second })
	id, secret := app(t, h, false)
	otherID, otherSecret := app(t, h, false)
	p := h.NewPhone("Alice")
	conf := oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: []string{"openid", "profile", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: h.node.URL() + "/oauth/authorize", TokenURL: h.node.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	ctx := context.Background()

	newCode := func(verifierChallenge string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "scope": {"openid profile offline_access"}, "state": {"st4te"}}
		if verifierChallenge != "" {
			q.Set("code_challenge", verifierChallenge)
			q.Set("code_challenge_method", "S256")
		}
		var page httpapi.AuthorizeJSON
		authorize(t, h, q).JSON(t, &page)
		back, _ := url.Parse(approve(t, h, p, page, true))
		if back.Query().Get("state") != "st4te" || back.Query().Get("code") == "" {
			t.Fatalf("redirect %s", back)
		}
		return back.Query().Get("code")
	}

	verifier, challenge := pkce()
	code := newCode(challenge)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	info := h.Do("GET", "/oauth/userinfo", protocoltest.Auth{Bearer: tok.AccessToken}, nil)
	if info.Status != 200 || info.Map()["sub"] != p.User.ID || info.Map()["name"] != "Alice" {
		t.Fatalf("userinfo: %d %s", info.Status, info.Body)
	}
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("second redemption: %v, want invalid_grant", err)
	}
	if r := h.Do("GET", "/oauth/userinfo", protocoltest.Auth{Bearer: tok.AccessToken}, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("access token after the code's replay: %d, want 401", r.Status)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("refresh token after the code's replay: %v, want invalid_grant", err)
	}

	// Bound to the client.
	verifier, challenge = pkce()
	code = newCode(challenge)
	other := conf
	other.ClientID, other.ClientSecret = otherID, otherSecret
	if _, err := other.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("another client's exchange: %v", err)
	}
	// Bound to the redirect URI.
	verifier, challenge = pkce()
	code = newCode(challenge)
	wrongURI := conf
	wrongURI.RedirectURL = redirect + "/other"
	if _, err := wrongURI.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("another redirect_uri: %v", err)
	}
	// Short-lived.
	verifier, challenge = pkce()
	code = newCode(challenge)
	clk.Add(31 * time.Second)
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("expired code: %v", err)
	}
	if _, err := node.Start(ctx, node.Config{Addr: "127.0.0.1:0", DBPath: t.TempDir() + "/db", CodeTTL: 11 * time.Minute}); err == nil {
		t.Fatal("a code lifetime over 10 minutes was accepted")
	}
}

// isOAuthErr reports whether err is an OAuth error response with code.
func isOAuthErr(err error, code string) bool {
	re, ok := err.(*oauth2.RetrieveError)
	return ok && re.ErrorCode == code
}

// Checklist 16: PKCE with S256 is required of every client, public or
// confidential (RFC 9700 section 2.1.1); client secrets are stored hashed
// and never shown to the browser.
func TestChecklist16_PKCE(t *testing.T) {
	h := startOAuth(t, nil)
	pub, _ := app(t, h, true)
	conf, secret := app(t, h, false)
	p := h.NewPhone("Alice")
	ctx := context.Background()

	for _, client := range []string{pub, conf} {
		r := authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "state": {"x"}, "code_challenge": {""}})
		loc := r.Map()["redirect"]
		if r.Status != 200 || loc == nil || !strings.Contains(loc.(string), "error=invalid_request") || !strings.Contains(loc.(string), "state=x") {
			t.Fatalf("client %s without PKCE: %d %s", client, r.Status, r.Body)
		}
	}
	_, challenge := pkce()
	r := authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {pub}, "redirect_uri": {redirect}, "code_challenge": {challenge}, "code_challenge_method": {"plain"}})
	if loc := r.Map()["redirect"]; loc == nil || !strings.Contains(loc.(string), "error=invalid_request") {
		t.Fatalf("plain PKCE accepted: %s", r.Body)
	}

	// A public client with PKCE: a wrong verifier fails, the right one works.
	pubConf := oauth2.Config{ClientID: pub, RedirectURL: redirect, Endpoint: oauth2.Endpoint{TokenURL: h.node.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	var page httpapi.AuthorizeJSON
	for _, right := range []bool{false, true} {
		verifier, challenge := pkce()
		authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {pub}, "redirect_uri": {redirect}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}).JSON(t, &page)
		back, _ := url.Parse(approve(t, h, p, page, true))
		if !right {
			verifier, _ = pkce()
		}
		_, err := pubConf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if right && err != nil || !right && !isOAuthErr(err, "invalid_grant") {
			t.Fatalf("right verifier %v: %v", right, err)
		}
	}

	// A confidential client must send the verifier too: its secret is no
	// substitute.
	_, challenge = pkce()
	authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {conf}, "redirect_uri": {redirect}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}).JSON(t, &page)
	if strings.Contains(string(authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {conf}, "redirect_uri": {redirect}}).Body), secret) {
		t.Fatal("the client secret reached the browser")
	}
	back, _ := url.Parse(approve(t, h, p, page, true))
	confConf := oauth2.Config{ClientID: conf, ClientSecret: secret, RedirectURL: redirect, Endpoint: oauth2.Endpoint{TokenURL: h.node.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	if _, err := confConf.Exchange(ctx, back.Query().Get("code")); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("a confidential client without its verifier: %v", err)
	}
	c, _ := h.node.Store().(oauth.Store).ClientByID(ctx, conf)
	if strings.Contains(string(c.SecretHash), secret) || len(c.SecretHash) != 32 {
		t.Fatal("the client secret is not stored as a hash")
	}
	// A wrong secret is invalid_client.
	confConf.ClientSecret = "wrong"
	if _, err := confConf.Exchange(ctx, "x"); !isOAuthErr(err, "invalid_client") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// Checklist 17: a device-grant client that polls faster than its interval
// gets slow_down.
func TestChecklist17_DeviceSlowDown(t *testing.T) {
	h := startOAuth(t, func(c *node.Config) { c.DeviceInterval = 5 * time.Second })
	id, secret := app(t, h, false)
	form := url.Values{"client_id": {id}, "client_secret": {secret}}
	res, err := http.PostForm(h.node.URL()+"/oauth/device/code", form)
	if err != nil {
		t.Fatal(err)
	}
	var dev struct {
		DeviceCode string `json:"device_code"`
		Interval   int    `json:"interval"`
	}
	json.NewDecoder(res.Body).Decode(&dev)
	res.Body.Close()
	if dev.DeviceCode == "" || dev.Interval != 5 {
		t.Fatalf("device code answer: %+v", dev)
	}
	poll := func() string {
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dev.DeviceCode}, "client_id": {id}, "client_secret": {secret}}
		res, err := http.PostForm(h.node.URL()+"/oauth/token", f)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(res.Body).Decode(&e)
		return e.Error
	}
	if got := poll(); got != "authorization_pending" {
		t.Fatalf("first poll: %s", got)
	}
	if got := poll(); got != "slow_down" {
		t.Fatalf("second poll at once: %s, want slow_down", got)
	}
}

// The device grant with golang.org/x/oauth2's stock client: the phone scans
// verification_uri_complete and approves.
func TestDeviceGrantWithStockClient(t *testing.T) {
	h := startOAuth(t, nil)
	id, secret := app(t, h, false)
	p := h.NewPhone("Alice")
	conf := oauth2.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: h.node.URL() + "/oauth/device/code", TokenURL: h.node.URL() + "/oauth/token"}}
	ctx := context.Background()
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(da.VerificationURIComplete, h.node.URL()+"/device?user_code=") {
		t.Fatalf("verification_uri_complete %q", da.VerificationURIComplete)
	}
	go func() {
		r := h.Scan(p, da.VerificationURIComplete)
		var sr api.ScanResponse
		json.Unmarshal(r.Body, &sr)
		if r.Status != 200 || sr.App == nil || sr.App.Name != "Demo Site" {
			t.Errorf("scan of the device URI: %d %s", r.Status, r.Body)
			return
		}
		h.Confirm(p, sr.ScanToken, true, "")
	}()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	info := h.Do("GET", "/oauth/userinfo", protocoltest.Auth{Bearer: tok.AccessToken}, nil)
	if info.Map()["sub"] != p.User.ID {
		t.Fatalf("userinfo: %s", info.Body)
	}
}

// OpenID Connect with go-oidc's stock client: discovery, a verified ID
// token with the nonce, userinfo, and refresh tokens that rotate.
func TestOpenIDConnectWithStockClient(t *testing.T) {
	h := startOAuth(t, nil)
	id, secret := app(t, h, false)
	p := h.NewPhone("Alice")
	ctx := context.Background()
	prov, err := oidc.NewProvider(ctx, h.node.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Endpoint: prov.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}}
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(verifier)))
	var page httpapi.AuthorizeJSON
	authorize(t, h, authURL.Query()).JSON(t, &page)
	back, _ := url.Parse(approve(t, h, p, page, true))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&oidc.Config{ClientID: id}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Nonce string `json:"nonce"`
		Name  string `json:"name"`
	}
	idt.Claims(&claims)
	if idt.Subject != p.User.ID || claims.Nonce != "n0nce" || claims.Name != "Alice" {
		t.Fatalf("ID token: sub %s %+v", idt.Subject, claims)
	}
	ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != p.User.ID {
		t.Fatalf("userinfo: %v %+v", err, ui)
	}
	// Refresh rotates; the old refresh token then revokes the family.
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("reused refresh token: %v", err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("the family was not revoked: %v", err)
	}
}

// A denial on the phone sends the browser back with access_denied, and an
// app's ticket never yields a desktop session.
func TestAuthorizeDeniedAndNoDesktopSession(t *testing.T) {
	h := startOAuth(t, nil)
	id, _ := app(t, h, false)
	p := h.NewPhone("Alice")
	var page httpapi.AuthorizeJSON
	authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "state": {"s"}}).JSON(t, &page)
	back, _ := url.Parse(approve(t, h, p, page, false))
	if back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "s" || back.Query().Get("code") != "" {
		t.Fatalf("denied: %s", back)
	}
	authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}}).JSON(t, &page)
	var sr api.ScanResponse
	h.Scan(p, page.Ticket.QRPayload).JSON(t, &sr)
	h.Confirm(p, sr.ScanToken, true, "")
	protocoltest.Want(t, h.Redeem(page.Ticket.Ref, protocoltest.Auth{Bearer: page.Ticket.PollSecret}), http.StatusForbidden, "forbidden")
}
