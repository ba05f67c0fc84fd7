package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// logoutClaims are the claims of a valid logout token of f for the demo
// site naming sub and sid (left out where ""): fresh, with a new jti.
func (f *fakeProvider) logoutClaims(sub, sid string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": f.srv.URL, "aud": testClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": randomString(), "events": map[string]any{logoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// signed signs claims with key (kid k1, as the provider's) and the header
// typ.
func signed(t *testing.T, key *ecdsa.PrivateKey, typ string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// logoutToken is claims signed by f as a logout token.
func (f *fakeProvider) logoutToken(t *testing.T, claims map[string]any) string {
	return signed(t, f.key, "logout+jwt", claims)
}

// postLogout posts form to the site's back-channel logout endpoint, as the
// platform does, and returns the answer with its body read.
func postLogout(t *testing.T, site string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(site+"/backchannel-logout", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantLoggedOut posts token and wants 200, not to be cached.
func wantLoggedOut(t *testing.T, site, token string) {
	t.Helper()
	resp, body := postLogout(t, site, url.Values{"logout_token": {token}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("logout: %d, Cache-Control %q: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
}

// signIn logs a new browser in to site and returns it.
func signIn(t *testing.T, site string) *browser {
	t.Helper()
	b := newBrowser(t)
	if _, body := b.get(site + "/login"); !strings.Contains(body, "Alice Liddell") {
		t.Fatalf("log-in failed:\n%s", body)
	}
	return b
}

// home returns b's home page.
func (b *browser) home(site string) string {
	b.t.Helper()
	_, body := b.get(site + "/")
	return body
}

// wantSignedIn fails unless b's home page shows the person signed in.
func wantSignedIn(t *testing.T, who string, b *browser, site string) {
	t.Helper()
	body := b.home(site)
	if !strings.Contains(body, "Alice Liddell") || strings.Contains(body, "Your login ended") {
		t.Errorf("%s is no longer signed in:\n%s", who, body)
	}
}

// wantRevokedFromPhone fails unless b's home page shows the log-in button
// and says that the login was revoked from the phone.
func wantRevokedFromPhone(t *testing.T, who string, b *browser, site string) {
	t.Helper()
	body := b.home(site)
	if !strings.Contains(body, `href="/login"`) || !strings.Contains(body, noticeRevokedByPhone) || strings.Contains(body, "Alice Liddell") {
		t.Errorf("%s is not shown signed out with the notice:\n%s", who, body)
	}
}

// A logout token ends the sessions of the login it names, by sid (a
// session whose ID token had no sid is named by its subject) or, without
// a sid, by subject; every other session stays.
func TestBackchannelLogoutEndsOnlyTheMatchingSessions(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	first := signIn(t, site)
	firstSID := f.lastSID
	second := signIn(t, site)
	f.noSID = true
	noSID := signIn(t, site)
	f.noSID, f.subject = false, "user-2"
	bob := signIn(t, site)
	bobSID := f.lastSID

	wantLoggedOut(t, site, f.logoutToken(t, f.logoutClaims("user-1", firstSID)))
	wantRevokedFromPhone(t, "the login of the sid", first, site)
	wantRevokedFromPhone(t, "the same person's login without a sid", noSID, site)
	wantSignedIn(t, "the same person's other login", second, site)
	wantSignedIn(t, "another person", bob, site)
	// The notice is this browser's: a new one is told nothing.
	if body := newBrowser(t).home(site); strings.Contains(body, "Your login ended") {
		t.Errorf("a new browser is told of another's logout:\n%s", body)
	}
	// It stays until the browser logs in again.
	wantRevokedFromPhone(t, "the login of the sid, visiting again", first, site)
	if _, body := first.get(site + "/login"); !strings.Contains(body, "Alice Liddell") || strings.Contains(body, "Your login ended") {
		t.Errorf("after logging in again:\n%s", body)
	}

	wantLoggedOut(t, site, f.logoutToken(t, f.logoutClaims("", bobSID)))
	wantRevokedFromPhone(t, "another person's login, by sid alone", bob, site)
	wantSignedIn(t, "the first person's other login", second, site)

	wantLoggedOut(t, site, f.logoutToken(t, f.logoutClaims("user-1", "")))
	wantRevokedFromPhone(t, "every login of the subject", second, site)
	wantSignedIn(t, "the browser logged in again, as another person", first, site)
}

// The platform revokes the grant before it sends the logout token: a
// browser that comes back in between learns it from userinfo, and once
// the logout token arrives it is told that the phone revoked it.
func TestBackchannelLogoutAfterUserinfoRefusedTheToken(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	b := signIn(t, site)
	f.mu.Lock()
	for tok := range f.tokens {
		f.revoked[tok] = true
	}
	f.mu.Unlock()
	mustContain(t, b.home(site), noticeRevokedByPlatform, `href="/login"`)
	wantLoggedOut(t, site, f.logoutToken(t, f.logoutClaims("user-1", f.lastSID)))
	wantRevokedFromPhone(t, "the login userinfo refused", b, site)
}

// Every token that fails a check of §2.6 is 400 with a JSON error, and
// ends nothing.
func TestBackchannelLogoutRefusesBadTokens(t *testing.T) {
	f := newFakeProvider(t)
	site := newTestSite(t, f)
	b := signIn(t, site)
	sid := f.lastSID
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// with returns a valid logout token of b's login changed by mod.
	with := func(mod func(c map[string]any)) string {
		c := f.logoutClaims("user-1", sid)
		mod(c)
		return f.logoutToken(t, c)
	}
	now := time.Now()
	replayed := f.logoutToken(t, f.logoutClaims("user-1", "sid-of-no-login"))
	wantLoggedOut(t, site, replayed)

	// Each case's why is in the error's description: the token fails that
	// check, not another.
	for _, tc := range []struct {
		name string
		form url.Values
		why  string
	}{
		{"no logout_token", url.Values{}, "logout_token is required"},
		{"not a JWT", url.Values{"logout_token": {"not.a.jwt"}}, "malformed jwt"},
		{"wrong signature", url.Values{"logout_token": {signed(t, other, "logout+jwt", f.logoutClaims("user-1", sid))}}, "signature"},
		{"wrong iss", url.Values{"logout_token": {with(func(c map[string]any) { c["iss"] = "https://evil.example" })}}, "different provider"},
		{"wrong aud", url.Values{"logout_token": {with(func(c map[string]any) { c["aud"] = "another-app" })}}, "audience"},
		{"expired", url.Values{"logout_token": {with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-3*time.Minute).Unix(), now.Add(-time.Minute).Unix()
		})}}, "expired"},
		{"no exp", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "exp") })}}, "expired"},
		{"iat too old", url.Values{"logout_token": {with(func(c map[string]any) { c["iat"] = now.Add(-10 * time.Minute).Unix() })}}, "too old"},
		{"iat in the future", url.Values{"logout_token": {with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(10*time.Minute).Unix(), now.Add(12*time.Minute).Unix()
		})}}, "future"},
		{"no iat", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "iat") })}}, "no iat"},
		{"no events", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "events") })}}, "events"},
		{"another event", url.Values{"logout_token": {with(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})}}, "events"},
		{"event not an object", url.Values{"logout_token": {with(func(c map[string]any) { c["events"] = map[string]any{logoutEvent: "yes"} })}}, "events"},
		{"nonce present", url.Values{"logout_token": {with(func(c map[string]any) { c["nonce"] = "n" })}}, "nonce"},
		{"neither sub nor sid", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })}}, "neither sub nor sid"},
		{"no jti", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "jti") })}}, "no jti"},
		{"typed as an ID token", url.Values{"logout_token": {signed(t, f.key, "JWT", f.logoutClaims("user-1", sid))}}, "typ"},
		{"replayed jti", url.Values{"logout_token": {replayed}}, "already received"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postLogout(t, site, tc.form)
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e.Error != "invalid_request" || !strings.Contains(e.Description, tc.why) {
				t.Errorf("%d %s, want 400 with a JSON invalid_request saying %q", resp.StatusCode, body, tc.why)
			}
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			wantSignedIn(t, "the browser", b, site)
		})
	}
}

func TestReplayCacheIsBounded(t *testing.T) {
	c := newReplayCache(2)
	now := time.Now()
	if !c.add("a", now.Add(time.Minute), now) || !c.add("b", now.Add(2*time.Minute), now) {
		t.Fatal("new jti refused")
	}
	if c.add("a", now.Add(time.Minute), now) {
		t.Error("a replay was accepted")
	}
	// Past its time a jti is forgotten (its token is refused as too old).
	later := now.Add(90 * time.Second)
	if !c.add("a", later.Add(time.Minute), later) || c.add("b", later.Add(time.Minute), later) {
		t.Error("expiry: want a forgotten and b remembered")
	}
	// Full: what expires first goes.
	if !c.add("c", later.Add(5*time.Minute), later) || len(c.m) != 2 {
		t.Errorf("full: %v", c.m)
	}
	if c.add("c", later.Add(5*time.Minute), later) {
		t.Error("the newest was dropped")
	}
}

// RFC 9207: an answer whose iss names another platform, or that names none
// though the platform advertises that it always does, is refused before its
// code is traded.
func TestRefusesAnswerFromAnotherIssuer(t *testing.T) {
	for _, tc := range []struct {
		name, iss string
		want      []string
	}{
		{"another issuer", "https://evil.example", []string{"wrong_issuer", "evil.example"}},
		{"no issuer", "", []string{"wrong_issuer", "names no issuer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProvider(t)
			f.authorize = func(q url.Values) url.Values {
				back := url.Values{"code": {f.issueCode(q)}, "state": {q.Get("state")}}
				if tc.iss != "" {
					back.Set("iss", tc.iss)
				}
				return back
			}
			site := newTestSite(t, f)
			status, body := newBrowser(t).get(site + "/login")
			if status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", status)
			}
			mustContain(t, body, tc.want...)
			if f.exchanges != 0 {
				t.Error("the code was traded")
			}
		})
	}
}
