package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeProvider is an OpenID Connect provider with the platform's rules
// that matter to a client: codes are single-use and bound to the client,
// the redirect URI and the PKCE challenge; a replayed code revokes the
// tokens issued from it. Each login has its own sid in its ID token, as
// the platform's grants do, and the answers carry iss (RFC 9207).
type fakeProvider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	signer jose.Signer

	mu sync.Mutex
	// authorize answers an authorization request with the callback's
	// query; by default, a code for the request.
	authorize func(q url.Values) url.Values
	// nonce, if set, replaces the nonce put in ID tokens.
	nonce string
	// subject is who the next logins are ("user-1" if unset); noSID
	// leaves sid out of their ID tokens.
	subject   string
	noSID     bool
	requests  []url.Values              // authorization requests seen
	codes     map[string]*fakeCode      // by code
	tokens    map[string]string         // access token -> code it came from
	revoked   map[string]bool           // access tokens revoked
	lastCode  string                    // the last code issued
	lastSID   string                    // the sid of the last code's login
	exchanges int                       // token requests received
	clients   map[string]string         // client id -> secret
	users     map[string]map[string]any // code -> userinfo claims
}

type fakeCode struct {
	req      url.Values
	used     bool
	sub, sid string // the login's subject and sid ("" for none)
}

const (
	testClientID     = "demo-client"
	testClientSecret = "demo-secret"
)

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProvider{
		t: t, key: key, signer: signer,
		codes: map[string]*fakeCode{}, tokens: map[string]string{}, revoked: map[string]bool{},
		clients: map[string]string{testClientID: testClientSecret}, users: map[string]map[string]any{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /oauth/jwks", f.jwks)
	mux.HandleFunc("GET /oauth/authorize", f.authorizeHandler)
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("GET /oauth/userinfo", f.userinfo)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) discovery(w http.ResponseWriter, r *http.Request) {
	u := f.srv.URL
	json.NewEncoder(w).Encode(map[string]any{
		"issuer": u, "authorization_endpoint": u + "/oauth/authorize", "token_endpoint": u + "/oauth/token",
		"userinfo_endpoint": u + "/oauth/userinfo", "jwks_uri": u + "/oauth/jwks",
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (f *fakeProvider) jwks(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

func (f *fakeProvider) authorizeHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.requests = append(f.requests, q)
	decide := f.authorize
	f.mu.Unlock()
	var back url.Values
	if decide != nil {
		back = decide(q)
	} else {
		back = url.Values{"code": {f.issueCode(q)}, "state": {q.Get("state")}, "iss": {f.srv.URL}}
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

// issueCode makes a code for the authorization request q, for the user
// Alice (f.subject), in a login with a new sid unless f.noSID.
func (f *fakeProvider) issueCode(q url.Values) string {
	code := randomString()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeCode{req: q, sub: f.subject}
	if c.sub == "" {
		c.sub = "user-1"
	}
	if !f.noSID {
		c.sid = "sid-" + randomString()
	}
	f.codes[code] = c
	f.users[code] = map[string]any{"sub": c.sub, "name": "Alice Liddell", "preferred_username": "alice",
		"picture": f.srv.URL + "/avatars/abc.svg"}
	f.lastCode, f.lastSID = code, c.sid
	return code
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchanges++
	if want, known := f.clients[id]; !known || want != secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	code := r.PostForm.Get("code")
	c := f.codes[code]
	switch {
	case c == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown code")
		return
	case c.used:
		for tok, from := range f.tokens {
			if from == code {
				f.revoked[tok] = true
			}
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code was already used; its tokens are revoked")
		return
	}
	c.used = true
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case c.req.Get("client_id") != id || c.req.Get("redirect_uri") != r.PostForm.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is not this client's or redirect URI's")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.req.Get("code_challenge"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	nonce := c.req.Get("nonce")
	if f.nonce != "" {
		nonce = f.nonce
	}
	now := time.Now()
	extra := map[string]any{"nonce": nonce}
	if c.sid != "" {
		extra["sid"] = c.sid
	}
	idt, err := jwt.Signed(f.signer).Claims(jwt.Claims{
		Issuer: f.srv.URL, Subject: c.sub, Audience: jwt.Audience{id},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
	}).Claims(extra).Serialize()
	if err != nil {
		f.t.Error(err)
		return
	}
	access := randomString()
	f.tokens[access] = code
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
}

func (f *fakeProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	code, ok := f.tokens[tok]
	if !ok || f.revoked[tok] {
		oauthError(w, http.StatusUnauthorized, "invalid_token", "unknown or revoked token")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(f.users[code])
}

// browser is a client with its own cookies, like one browser.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get fetches u, following redirects, and returns the final status and body.
func (b *browser) get(u string) (int, string) {
	b.t.Helper()
	resp, err := b.hc.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// startLogin opens /login without following the redirect and returns the
// authorization request it sends to the provider.
func (b *browser) startLogin(site string) url.Values {
	b.t.Helper()
	hc := *b.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(site + "/login")
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		b.t.Fatalf("/login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// newTestSite starts the demo site on provider f.
func newTestSite(t *testing.T, f *fakeProvider) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	site, err := NewSite(Config{Issuer: f.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		RedirectURL: "http://" + srv.Listener.Addr().String() + "/callback", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = site
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, body)
		}
	}
}

func TestLogsInWithPKCEStateAndNonce(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	b := newBrowser(t)
	_, body := b.get(site + "/")
	mustContain(t, body, "Log in by scanning", `href="/login"`)
	status, body := b.get(site + "/login")
	if status != http.StatusOK {
		t.Fatalf("after log-in: %d\n%s", status, body)
	}
	mustContain(t, body, "Alice Liddell", "@alice", `<img class="avatar" src="`+f.srv.URL+`/avatars/abc.svg"`, "user-1")
	q := f.requests[0]
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("PKCE: method %q, challenge %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
	}
	if len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 || q.Get("state") == q.Get("nonce") {
		t.Errorf("state %q and nonce %q must be distinct and random", q.Get("state"), q.Get("nonce"))
	}
	if q.Get("scope") != "openid profile" || q.Get("response_type") != "code" || q.Get("client_id") != testClientID {
		t.Errorf("authorization request: %v", q)
	}
	// Still signed in on the next visit; signed out after Log out.
	_, body = b.get(site + "/")
	mustContain(t, body, "Alice Liddell")
	resp, err := b.hc.Post(site+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, string(out), "Log in by scanning")
}

func TestShowsAccessDenied(t *testing.T) {
	f := newFakeProvider(t)
	f.authorize = func(q url.Values) url.Values {
		return url.Values{"error": {"access_denied"}, "state": {q.Get("state")}, "iss": {f.srv.URL}}
	}
	site := newTestSite(t, f)
	status, body := newBrowser(t).get(site + "/login")
	if status != http.StatusForbidden {
		t.Errorf("status %d, want 403", status)
	}
	mustContain(t, body, "access_denied", "You declined the login")
}

// A callback whose state this browser did not start is refused before any
// code is traded: a login CSRF.
func TestRefusesUnknownState(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	b := newBrowser(t)
	b.startLogin(site)
	status, body := b.get(site + "/callback?" + url.Values{"code": {"abc"}, "state": {"forged"}, "iss": {f.srv.URL}}.Encode())
	if status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", status)
	}
	mustContain(t, body, "bad_state")
	if len(f.tokens) != 0 {
		t.Error("a code was traded for a bad state")
	}
}

// A code that was already redeemed is refused by the platform, which then
// revokes the first login's tokens: the site says so on both sides.
func TestReplayedCodeShowsInvalidGrantAndEndsTheFirstLogin(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	victim := newBrowser(t)
	if _, body := victim.get(site + "/login"); !strings.Contains(body, "Alice Liddell") {
		t.Fatalf("first login failed:\n%s", body)
	}
	stolen := f.lastCode

	attacker := newBrowser(t)
	state := attacker.startLogin(site).Get("state")
	status, body := attacker.get(site + "/callback?" + url.Values{"code": {stolen}, "state": {state}, "iss": {f.srv.URL}}.Encode())
	if status != http.StatusBadGateway {
		t.Errorf("status %d, want 502", status)
	}
	mustContain(t, body, "invalid_grant", "already used")
	// Regression: x/oauth2's auth-style auto-detection sent a refused
	// exchange twice, itself a replay.
	if f.exchanges != 2 {
		t.Errorf("%d token requests, want 2: one per callback", f.exchanges)
	}

	_, body = victim.get(site + "/")
	mustContain(t, body, "the platform revoked it", "Log in by scanning")
}

func TestRefusesIDTokenWithAnotherNonce(t *testing.T) {
	f := newFakeProvider(t)
	f.nonce = "not-this-logins"
	site := newTestSite(t, f)
	_, body := newBrowser(t).get(site + "/login")
	mustContain(t, body, "invalid_id_token", "nonce")
}

func TestEachStateIsGoodForOneCallback(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	b := newBrowser(t)
	req := b.startLogin(site)
	code := f.issueCode(req)
	cb := site + "/callback?" + url.Values{"code": {code}, "state": {req.Get("state")}, "iss": {f.srv.URL}}.Encode()
	if _, body := b.get(cb); !strings.Contains(body, "Alice Liddell") {
		t.Fatalf("callback failed:\n%s", body)
	}
	_, body := b.get(cb)
	mustContain(t, body, "bad_state")
}

func TestFlags(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"-client-id", "x"}, &out); code != 2 {
		t.Errorf("without -issuer: exit %d, want 2", code)
	}
	if code := run([]string{"-issuer", "ftp://x", "-client-id", "x", "-addr", "127.0.0.1:0"}, &out); code != 2 {
		t.Errorf("with an ftp issuer: exit %d, want 2", code)
	}
}
