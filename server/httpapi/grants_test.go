package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// site is a registered app and what it holds after a login.
type site struct {
	conf oauth2.Config
	prov *oidc.Provider
}

// newSite registers an app with grants and logoutURI on h's server.
func newSite(t *testing.T, h *harness, grants []string, logoutURI string) site {
	t.Helper()
	ctx := context.Background()
	secret := server.NewSecret()
	c := oauth.Client{ID: server.NewRef(), Name: "Demo Site", RedirectURIs: []string{redirect}, SecretHash: server.HashToken(secret),
		GrantTypes: grants, BackchannelLogoutURI: logoutURI, CreatedAt: time.Now()}
	if err := h.node.Store().(oauth.Store).CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	prov, err := oidc.NewProvider(ctx, h.node.URL())
	if err != nil {
		t.Fatal(err)
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return site{conf: oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirect, Endpoint: ep}, prov: prov}
}

// login runs the code flow for scope with phone p approving, and returns
// the tokens and the redirect the browser came back with.
func (s site) login(t *testing.T, h *harness, p protocoltest.Phone, scope string) (*oauth2.Token, *url.URL) {
	t.Helper()
	verifier, challenge := pkce()
	var page httpapi.AuthorizeJSON
	authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {s.conf.ClientID}, "redirect_uri": {redirect},
		"scope": {scope}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}).JSON(t, &page)
	back, _ := url.Parse(approve(t, h, p, page, true))
	tok, err := s.conf.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok, back
}

// userinfo returns userinfo's status for an access token.
func userinfo(h *harness, access string) int {
	return h.Do("GET", "/oauth/userinfo", protocoltest.Auth{Bearer: access}, nil).Status
}

// refresh uses a refresh token and returns the new tokens or the error.
func (s site) refresh(refreshToken string) (*oauth2.Token, error) {
	return s.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

var allGrants = []string{oauth.GrantCode, oauth.GrantRefresh}

// offline_access is accepted and is what brings a refresh token; scopes
// the server does not know are ignored, not refused (OpenID Connect Core
// 3.1.2.1 and 11).
func TestOfflineAccessAndUnknownScopes(t *testing.T) {
	h := startOAuth(t, nil)
	s := newSite(t, h, allGrants, "")
	p := h.NewPhone("Alice")

	tok, _ := s.login(t, h, p, "openid email profile offline_access https://unknown.example/scope")
	if tok.RefreshToken == "" || tok.Extra("scope") != "openid profile offline_access" {
		t.Fatalf("with offline_access: refresh %q, scope %v", tok.RefreshToken, tok.Extra("scope"))
	}
	if _, err := s.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	tok, _ = s.login(t, h, p, "openid profile")
	if tok.RefreshToken != "" || tok.Extra("scope") != "openid profile" || userinfo(h, tok.AccessToken) != http.StatusOK {
		t.Fatalf("without offline_access: refresh %q, scope %v", tok.RefreshToken, tok.Extra("scope"))
	}
	// An app without the refresh grant gets none, even asking.
	norefresh := newSite(t, h, []string{oauth.GrantCode}, "")
	if tok, _ = norefresh.login(t, h, p, "openid offline_access"); tok.RefreshToken != "" {
		t.Fatal("an app without the refresh grant got a refresh token")
	}
}

// RFC 9207: every authorization response carries iss, and discovery says
// so.
func TestIssuerInAuthorizationResponses(t *testing.T) {
	h := startOAuth(t, nil)
	s := newSite(t, h, allGrants, "")
	p := h.NewPhone("Alice")
	iss := h.node.URL()

	_, back := s.login(t, h, p, "openid")
	if back.Query().Get("iss") != iss {
		t.Fatalf("code response %s: no iss %s", back, iss)
	}
	var page httpapi.AuthorizeJSON
	authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {s.conf.ClientID}, "redirect_uri": {redirect}}).JSON(t, &page)
	denied, _ := url.Parse(approve(t, h, p, page, false))
	if denied.Query().Get("error") != "access_denied" || denied.Query().Get("iss") != iss {
		t.Fatalf("denial %s: no iss", denied)
	}
	r := authorize(t, h, url.Values{"response_type": {"token"}, "client_id": {s.conf.ClientID}, "redirect_uri": {redirect}})
	loc, _ := url.Parse(r.Map()["redirect"].(string))
	if loc.Query().Get("error") != "unsupported_response_type" || loc.Query().Get("iss") != iss {
		t.Fatalf("error response %s: no iss", loc)
	}
	var meta struct {
		ISS        bool   `json:"authorization_response_iss_parameter_supported"`
		Revocation string `json:"revocation_endpoint"`
		BCL        bool   `json:"backchannel_logout_supported"`
		BCLSession bool   `json:"backchannel_logout_session_supported"`
	}
	if err := s.prov.Claims(&meta); err != nil || !meta.ISS || meta.Revocation != iss+"/oauth/revoke" || !meta.BCL || !meta.BCLSession {
		t.Fatalf("discovery: %+v %v", meta, err)
	}
}

// An app uses only the grants it was registered for: a website is not
// given the device grant unless asked (device-code phishing), and a TV app
// cannot send browsers through the code flow.
func TestGrantTypesPerApp(t *testing.T) {
	h := startOAuth(t, nil)
	web := newSite(t, h, allGrants, "")
	tv := newSite(t, h, []string{oauth.GrantDevice, oauth.GrantRefresh}, "")

	_, err := web.conf.DeviceAuth(context.Background())
	if !isOAuthErr(err, "unauthorized_client") {
		t.Fatalf("a website's device authorization: %v, want unauthorized_client", err)
	}
	r := authorize(t, h, url.Values{"response_type": {"code"}, "client_id": {tv.conf.ClientID}, "redirect_uri": {redirect}, "state": {"s"}})
	loc, _ := url.Parse(r.Map()["redirect"].(string))
	if loc.Query().Get("error") != "unauthorized_client" || loc.Query().Get("state") != "s" {
		t.Fatalf("a TV app's code flow: %s", loc)
	}
	resp, err := http.PostForm(h.node.URL()+"/oauth/token", url.Values{"grant_type": {oauth.GrantCode}, "code": {"x"},
		"client_id": {tv.conf.ClientID}, "client_secret": {tv.conf.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "unauthorized_client") {
		t.Fatalf("a TV app's code exchange: %d %s", resp.StatusCode, body)
	}
}

// RFC 7009: a refresh token revoked ends its grant; an access token ends
// alone; unknown tokens and other clients' are answered 200 and left
// alone; a client must authenticate.
func TestRevocationEndpoint(t *testing.T) {
	h := startOAuth(t, nil)
	s := newSite(t, h, allGrants, "")
	other := newSite(t, h, allGrants, "")
	p := h.NewPhone("Alice")
	revoke := func(c oauth2.Config, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", h.node.URL()+"/oauth/revoke", strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	a, _ := s.login(t, h, p, "openid offline_access")
	b, _ := s.login(t, h, p, "openid offline_access")
	if st, _ := revoke(s.conf, a.AccessToken); st != http.StatusOK || userinfo(h, a.AccessToken) != http.StatusUnauthorized {
		t.Fatalf("access token revoked: %d, userinfo %d", st, userinfo(h, a.AccessToken))
	}
	if _, err := s.refresh(a.RefreshToken); err != nil {
		t.Fatalf("revoking an access token ended its grant: %v", err)
	}
	// Another client's token: 200, untouched.
	if st, _ := revoke(other.conf, b.RefreshToken); st != http.StatusOK || userinfo(h, b.AccessToken) != http.StatusOK {
		t.Fatalf("another client's revocation: %d, userinfo %d", st, userinfo(h, b.AccessToken))
	}
	if st, _ := revoke(s.conf, "no-such-token"); st != http.StatusOK {
		t.Fatalf("unknown token: %d", st)
	}
	// A refresh token ends the whole grant.
	if st, _ := revoke(s.conf, b.RefreshToken); st != http.StatusOK || userinfo(h, b.AccessToken) != http.StatusUnauthorized {
		t.Fatalf("refresh token revoked: %d, its access token: %d", st, userinfo(h, b.AccessToken))
	}
	if _, err := s.refresh(b.RefreshToken); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("revoked refresh token: %v", err)
	}
	bad := s.conf
	bad.ClientSecret = "wrong"
	if st, body := revoke(bad, a.RefreshToken); st != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
		t.Fatalf("wrong secret: %d %s", st, body)
	}
}

// logoutSink is an app's back-channel logout endpoint: it verifies each
// logout token with the platform's published keys and records its claims;
// fail makes it answer 500 that many times first.
type logoutSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
	typ []string
	bad []string
	hit chan struct{}
}

func newLogoutSink(t *testing.T, issuer, clientID func() string, fail int) *logoutSink {
	s := &logoutSink{hit: make(chan struct{}, 16)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { s.hit <- struct{}{} }()
		s.mu.Lock()
		defer s.mu.Unlock()
		if fail > 0 {
			fail--
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		raw := r.PostFormValue("logout_token")
		ks := oidc.NewRemoteKeySet(r.Context(), issuer()+"/oauth/jwks")
		tok, err := oidc.NewVerifier(issuer(), ks, &oidc.Config{ClientID: clientID(), SupportedSigningAlgs: []string{oidc.ES256}}).Verify(r.Context(), raw)
		if err != nil {
			s.bad = append(s.bad, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var c map[string]any
		tok.Claims(&c)
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		var h struct{ Typ string }
		json.Unmarshal(hdr, &h)
		s.got, s.typ = append(s.got, c), append(s.typ, h.Typ)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait waits for the n-th delivery attempt, for at most d.
func (s *logoutSink) wait(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for range n {
		select {
		case <-s.hit:
		case <-deadline:
			t.Fatalf("no logout delivered within %s", d)
		}
	}
}

// The phone lists the account's grants and revokes one: its tokens fail at
// once, and the app is told with a verified logout token naming the
// grant's sid.
func TestPhoneRevokesGrantAndAppIsTold(t *testing.T) {
	h := startOAuth(t, nil)
	var s site
	sink := newLogoutSink(t, h.node.URL, func() string { return s.conf.ClientID }, 0)
	s = newSite(t, h, allGrants, sink.srv.URL+"/logout")
	alice, bob := h.NewPhone("Alice"), h.NewPhone("Bob")

	tok, _ := s.login(t, h, alice, "openid profile offline_access")
	idt, err := s.prov.Verifier(&oidc.Config{ClientID: s.conf.ClientID}).Verify(context.Background(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var idc struct {
		SID string `json:"sid"`
	}
	idt.Claims(&idc)

	var list api.GrantsBody
	r := h.Do("GET", api.PathMobileGrants, alice.Auth, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	r.JSON(t, &list)
	if len(list.Grants) != 1 || list.Grants[0].ID != idc.SID || list.Grants[0].App != "Demo Site" ||
		strings.Join(list.Grants[0].Scopes, " ") != "openid profile offline_access" || list.Grants[0].LastUsedAt.IsZero() {
		t.Fatalf("grants: %+v (ID token sid %q)", list, idc.SID)
	}
	h.Do("GET", api.PathMobileGrants, bob.Auth, nil).JSON(t, &list)
	if len(list.Grants) != 0 {
		t.Fatalf("Bob sees Alice's grants: %+v", list)
	}
	protocoltest.Want(t, h.Do("DELETE", api.PathMobileGrants+"/"+idc.SID, bob.Auth, nil), http.StatusNotFound, "not_found")
	if userinfo(h, tok.AccessToken) != http.StatusOK {
		t.Fatal("Bob's revocation touched Alice's grant")
	}

	protocoltest.Want(t, h.Do("DELETE", api.PathMobileGrants+"/"+idc.SID, alice.Auth, nil), http.StatusNoContent, "")
	if userinfo(h, tok.AccessToken) != http.StatusUnauthorized {
		t.Fatal("the access token works after its grant was revoked")
	}
	if _, err := s.refresh(tok.RefreshToken); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("the refresh token after its grant was revoked: %v", err)
	}
	h.Do("GET", api.PathMobileGrants, alice.Auth, nil).JSON(t, &list)
	if len(list.Grants) != 0 {
		t.Fatalf("a revoked grant is listed: %+v", list)
	}
	protocoltest.Want(t, h.Do("DELETE", api.PathMobileGrants+"/"+idc.SID, alice.Auth, nil), http.StatusNotFound, "not_found")

	sink.wait(t, 1, 5*time.Second)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.bad) > 0 || len(sink.got) != 1 {
		t.Fatalf("logouts: %v, refused: %v", sink.got, sink.bad)
	}
	c := sink.got[0]
	events, _ := c["events"].(map[string]any)
	if c["sub"] != alice.User.ID || c["sid"] != idc.SID || c["jti"] == nil || c["nonce"] != nil || sink.typ[0] != "logout+jwt" ||
		events == nil || events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("logout token: typ %q, claims %v", sink.typ[0], c)
	}
}

// A phone's logout ends the grants it approved (and only those), and the
// apps are told; a failed delivery is retried.
func TestPhoneLogoutEndsItsGrants(t *testing.T) {
	h := startOAuth(t, nil)
	var s site
	sink := newLogoutSink(t, h.node.URL, func() string { return s.conf.ClientID }, 1)
	s = newSite(t, h, allGrants, sink.srv.URL)
	phone := h.NewPhone("Alice")
	tablet := h.Login(phone.Username, "tablet")

	byPhone, _ := s.login(t, h, phone, "openid offline_access")
	byTablet, _ := s.login(t, h, tablet, "openid offline_access")
	protocoltest.Want(t, h.Do("POST", api.PathMobileLogout, phone.Auth, nil), http.StatusNoContent, "")
	if userinfo(h, byPhone.AccessToken) != http.StatusUnauthorized {
		t.Fatal("a grant outlived the phone that approved it")
	}
	if _, err := s.refresh(byPhone.RefreshToken); !isOAuthErr(err, "invalid_grant") {
		t.Fatalf("refresh after the phone's logout: %v", err)
	}
	if userinfo(h, byTablet.AccessToken) != http.StatusOK {
		t.Fatal("the phone's logout ended the tablet's grant")
	}
	// The first delivery fails (500); the retry, a second later, lands.
	sink.wait(t, 2, 10*time.Second)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 1 || len(sink.bad) > 0 || sink.got[0]["sub"] != phone.User.ID {
		t.Fatalf("logouts: %v, refused: %v", sink.got, sink.bad)
	}
}
