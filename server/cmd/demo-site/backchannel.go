package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
// person's grant ends at the platform (revoked from the phone, or the phone
// logged out), the platform POSTs a signed logout token to
// backchannelPath, and the site ends the sessions of that login at once,
// instead of finding out at the person's next visit.

// backchannelPath is the site's back-channel logout URI's path: register
// http(s)://HOST/backchannel-logout with the app.
const backchannelPath = "/backchannel-logout"

// logoutEvent is the events claim's member that makes a JWT a logout token.
const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout token limits: a token issued more than logoutMaxAge ago (or more
// than logoutSkew in the future) is refused, whatever its exp says; each
// jti accepted is remembered until its token would be refused as too old
// anyway, for at most maxReplays tokens.
const (
	logoutMaxAge = 5 * time.Minute
	logoutSkew   = time.Minute
	maxReplays   = 10000
	// maxLogoutBody bounds the POST body: a logout token is a few hundred
	// bytes.
	maxLogoutBody = 64 << 10
)

// noticeRevokedByPhone is what a browser whose login the platform ended by
// back-channel logout is told. The logout token does not say why the grant
// ended; the phone is what ends grants (a revoke, or the phone's logout),
// save the platform's own revocation of a replayed code.
const noticeRevokedByPhone = "Your login ended: it was revoked from your phone."

// logoutToken is what a valid logout token names: the person (Subject)
// and the login (SessionID, the ID token's sid); at least one is set.
type logoutToken struct {
	Subject   string
	SessionID string
}

// backchannelLogout serves POST /backchannel-logout: it validates the form's
// logout_token (§2.6 of the spec) and ends every session of the login it
// names, answering 200; any fault is 400 with a JSON error and nothing
// ends. Answers are never cached (ServeHTTP's Cache-Control: no-store).
func (s *Site) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		logoutError(w, "invalid_request", "the body is not a form: "+err.Error())
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		logoutError(w, "invalid_request", "logout_token is required (application/x-www-form-urlencoded)")
		return
	}
	p, err := s.oidcProvider(r.Context())
	if err != nil {
		s.log.Warn("back-channel logout: discovery", "err", err)
		logoutError(w, "temporarily_unavailable", "the login platform could not be reached to check the token")
		return
	}
	lt, err := s.verifyLogoutToken(r.Context(), p, raw)
	if err != nil {
		s.log.Warn("back-channel logout refused", "err", err)
		logoutError(w, "invalid_request", err.Error())
		return
	}
	n := s.sessions.endLogin(lt.Subject, lt.SessionID, noticeRevokedByPhone)
	s.log.Info("back-channel logout", "sub", lt.Subject, "sid", lt.SessionID, "sessions_ended", n)
	w.WriteHeader(http.StatusOK)
}

// verifyLogoutToken validates raw as a logout token of p for this site:
// signature, alg, iss, aud and exp as for an ID token (go-oidc's verifier,
// which leaves typ alone), then typ (logout+jwt if set), iat (neither too
// old nor in the future), the events member, no nonce, sub or sid, and a
// jti not seen before, which it then remembers.
func (s *Site) verifyLogoutToken(ctx context.Context, p *oidc.Provider, raw string) (logoutToken, error) {
	idt, err := p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}).Verify(oidc.ClientContext(ctx, s.cfg.HTTPClient), raw)
	if err != nil {
		return logoutToken{}, err
	}
	typ, err := headerType(raw)
	if err != nil {
		return logoutToken{}, err
	}
	if t := strings.ToLower(typ); t != "" && strings.TrimPrefix(t, "application/") != "logout+jwt" {
		return logoutToken{}, fmt.Errorf("the token's typ is %q, not logout+jwt", typ)
	}
	var c struct {
		SessionID string                     `json:"sid"`
		JTI       string                     `json:"jti"`
		Events    map[string]json.RawMessage `json:"events"`
		Nonce     json.RawMessage            `json:"nonce"` // nil only if absent
	}
	if err := idt.Claims(&c); err != nil {
		return logoutToken{}, fmt.Errorf("the token's claims: %v", err)
	}
	var event map[string]any
	now := time.Now()
	switch {
	case idt.IssuedAt.IsZero():
		return logoutToken{}, errors.New("the token has no iat")
	case now.Sub(idt.IssuedAt) > logoutMaxAge:
		return logoutToken{}, fmt.Errorf("the token was issued %s ago: too old", now.Sub(idt.IssuedAt).Round(time.Second))
	case idt.IssuedAt.Sub(now) > logoutSkew:
		return logoutToken{}, errors.New("the token is issued in the future")
	case c.Events[logoutEvent] == nil || json.Unmarshal(c.Events[logoutEvent], &event) != nil || event == nil:
		return logoutToken{}, errors.New("the token's events claim has no back-channel logout event")
	case c.Nonce != nil:
		return logoutToken{}, errors.New("the token has a nonce: it is not a logout token")
	case idt.Subject == "" && c.SessionID == "":
		return logoutToken{}, errors.New("the token names neither sub nor sid")
	case c.JTI == "":
		return logoutToken{}, errors.New("the token has no jti")
	}
	if !s.replays.add(c.JTI, idt.IssuedAt.Add(logoutMaxAge), now) {
		return logoutToken{}, errors.New("the token was already received (its jti was seen)")
	}
	return logoutToken{Subject: idt.Subject, SessionID: c.SessionID}, nil
}

// headerType returns the typ of the JWS compact serialization raw's
// protected header ("" if unset).
func headerType(raw string) (string, error) {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("the token's header: %v", err)
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("the token's header: %v", err)
	}
	return h.Typ, nil
}

// logoutError answers 400 with an OAuth-style JSON error, as the spec
// allows.
func logoutError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// replayCache remembers the jti of the logout tokens accepted, each until
// a time after which its token is refused anyway. It holds at most max:
// when full it forgets what has expired, then what expires first.
type replayCache struct {
	mu  sync.Mutex
	m   map[string]time.Time // jti -> remembered until
	max int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{m: map[string]time.Time{}, max: max}
}

// add remembers jti until until and reports true, or reports false if jti
// is remembered already (a replay) at now.
func (c *replayCache) add(jti string, until, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[jti]; ok && now.Before(t) {
		return false
	}
	if len(c.m) >= c.max {
		first := ""
		for k, t := range c.m {
			if !now.Before(t) {
				delete(c.m, k)
			} else if first == "" || t.Before(c.m[first]) {
				first = k
			}
		}
		if len(c.m) >= c.max {
			delete(c.m, first)
		}
	}
	c.m[jti] = until
	return true
}
