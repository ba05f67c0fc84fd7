package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures a Site.
type Config struct {
	Issuer       string // the platform's issuer URL
	ClientID     string
	ClientSecret string // empty for a public client
	RedirectURL  string // this site's /callback, as registered
	Logger       *slog.Logger
	// HTTPClient makes the site's calls to the platform (discovery, token,
	// keys, userinfo); one with a 10 s timeout if nil.
	HTTPClient *http.Client
}

// Site is the demo website: its pages, its login flow and its sessions.
type Site struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	replays  *replayCache // logout tokens' jti seen
	mux      *http.ServeMux
	csp      string
	secure   bool // cookies are Secure: the site is served over https

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use, then kept
}

// scopes are what the site asks for: an identity, and a name and picture.
var scopes = []string{oidc.ScopeOpenID, "profile"}

// NewSite returns the site of cfg. It does not reach the platform: the
// issuer is discovered on the first log-in (or back-channel logout), so the
// site can start first.
func NewSite(cfg Config) (*Site, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" {
		return nil, fmt.Errorf("-issuer %q is not an http(s) URL", cfg.Issuer)
	}
	red, err := url.Parse(cfg.RedirectURL)
	if err != nil || (red.Scheme != "http" && red.Scheme != "https") || red.Host == "" {
		return nil, fmt.Errorf("-redirect-url %q is not an http(s) URL", cfg.RedirectURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Site{
		cfg: cfg, log: cfg.Logger, sessions: newSessions(), replays: newReplayCache(maxReplays), mux: http.NewServeMux(),
		secure: red.Scheme == "https",
		// Avatars (userinfo's picture) come from the platform.
		csp: "default-src 'none'; style-src 'self'; img-src 'self' data: " + iss.Scheme + "://" + iss.Host +
			"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("GET "+red.Path, s.callback)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.HandleFunc("POST "+backchannelPath, s.backchannelLogout)
	s.mux.HandleFunc("GET /style.css", s.asset("style.css", "text/css; charset=utf-8"))
	s.mux.HandleFunc("GET /favicon.svg", s.asset("favicon.svg", "image/svg+xml"))
	return s, nil
}

// ServeHTTP serves the site with its security headers.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the callback's code never leaks by Referer
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// oidcProvider returns the platform, discovering it the first time.
func (s *Site) oidcProvider(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.cfg.HTTPClient), s.cfg.Issuer)
		if err != nil {
			return nil, err
		}
		s.provider = p
	}
	return s.provider, nil
}

// oauth2Config is the client of p. How it authenticates is said, never
// guessed: x/oauth2's auto-detection sends a refused code exchange again
// with the other style, and a second exchange of a code is a replay, which
// the platform answers by revoking the login.
func (s *Site) oauth2Config(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = authStyle(p, s.cfg.ClientSecret)
	return &oauth2.Config{
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret,
		Endpoint: ep, RedirectURL: s.cfg.RedirectURL, Scopes: scopes,
	}
}

// authStyle is how the client authenticates at p's token endpoint:
// client_secret_basic where p supports it (the default of OpenID Connect
// discovery), else client_secret_post; a public client (no secret) sends
// its id in the form.
func authStyle(p *oidc.Provider, secret string) oauth2.AuthStyle {
	if secret == "" {
		return oauth2.AuthStyleInParams
	}
	var d struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&d); err != nil || len(d.Methods) == 0 || slices.Contains(d.Methods, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// noticeRevokedByPlatform is what a browser is told when userinfo refuses
// its login's access token.
const noticeRevokedByPlatform = "Your login ended: the platform revoked it. Log in again."

// home shows the person signed in, or the log-in button, with why the
// browser's session ended if the platform ended it (a back-channel logout).
// For someone signed in it asks userinfo again, so that a login the
// platform revoked without telling the site shows as ended too.
func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	sess := s.sessions.get(r)
	if sess == nil || sess.user == nil {
		s.page(w, http.StatusOK, "home.html", homePage{Notice: s.sessions.endedNotice(r)})
		return
	}
	valid, err := s.stillValid(r.Context(), sess.token)
	if err == nil && !valid {
		s.log.Info("the platform no longer accepts this login's access token")
		s.sessions.end(sess, noticeRevokedByPlatform)
		s.page(w, http.StatusOK, "home.html", homePage{Notice: noticeRevokedByPlatform})
		return
	}
	notice := ""
	if err != nil {
		s.log.Warn("userinfo", "err", err)
		notice = "The platform could not be asked whether this login still stands."
	}
	s.page(w, http.StatusOK, "home.html", homePage{User: sess.user, Notice: notice})
}

// login starts a log-in: a fresh state (CSRF), nonce (ID token replay) and
// PKCE verifier (code interception), kept in this browser's session, and a
// redirect to the platform's authorization endpoint.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	p, err := s.oidcProvider(r.Context())
	if err != nil {
		s.log.Warn("discovery", "err", err)
		s.fail(w, http.StatusBadGateway, "platform_unreachable", "The login platform could not be reached: "+err.Error())
		return
	}
	sess := s.sessions.getOrCreate(w, r, s.secure)
	pl := pendingLogin{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier(), at: time.Now()}
	s.sessions.addPending(sess, pl)
	u := s.oauth2Config(p).AuthCodeURL(pl.state, oidc.Nonce(pl.nonce), oauth2.S256ChallengeOption(pl.verifier))
	http.Redirect(w, r, u, http.StatusFound)
}

// callback finishes a log-in: it checks the state and the issuer, trades
// the code (with the PKCE verifier) for tokens, verifies the ID token and
// its nonce, asks userinfo for the name and picture, and signs the browser
// in, keeping the ID token's sid for back-channel logout.
func (s *Site) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess := s.sessions.get(r)
	var pl pendingLogin
	ok := false
	if sess != nil && q.Get("state") != "" {
		pl, ok = s.sessions.takePending(sess, q.Get("state"))
	}
	if msg := s.issuerMismatch(r.Context(), q); msg != "" {
		s.fail(w, http.StatusBadRequest, "wrong_issuer", msg)
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if e == "access_denied" && desc == "" {
			desc = "The login was declined on the phone."
		}
		s.fail(w, http.StatusForbidden, e, desc)
		return
	}
	if !ok {
		s.fail(w, http.StatusBadRequest, "bad_state", "This answer does not match a login started in this browser (its state is unknown or was already used). Start again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		s.fail(w, http.StatusBadRequest, "invalid_request", "The platform sent no code.")
		return
	}
	p, err := s.oidcProvider(r.Context())
	if err != nil {
		s.fail(w, http.StatusBadGateway, "platform_unreachable", "The login platform could not be reached: "+err.Error())
		return
	}
	ctx := oidc.ClientContext(r.Context(), s.cfg.HTTPClient)
	tok, err := s.oauth2Config(p).Exchange(ctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			s.fail(w, http.StatusBadGateway, re.ErrorCode, re.ErrorDescription)
		} else {
			s.fail(w, http.StatusBadGateway, "token_error", err.Error())
		}
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.fail(w, http.StatusBadGateway, "no_id_token", "The platform's answer had no ID token.")
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "invalid_id_token", err.Error())
		return
	}
	if idt.Nonce != pl.nonce {
		s.fail(w, http.StatusBadGateway, "invalid_id_token", "The ID token's nonce is not this login's.")
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			s.fail(w, http.StatusBadGateway, "invalid_id_token", err.Error())
			return
		}
	}
	var idClaims struct {
		SessionID string `json:"sid"`
	}
	if err := idt.Claims(&idClaims); err != nil {
		s.fail(w, http.StatusBadGateway, "invalid_id_token", err.Error())
		return
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		s.fail(w, http.StatusBadGateway, "userinfo_error", err.Error())
		return
	}
	var claims struct {
		Name              string `json:"name"`
		Picture           string `json:"picture"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := info.Claims(&claims); err != nil {
		s.fail(w, http.StatusBadGateway, "userinfo_error", err.Error())
		return
	}
	if info.Subject != idt.Subject {
		s.fail(w, http.StatusBadGateway, "userinfo_error", "userinfo names another subject than the ID token.")
		return
	}
	u := &user{Subject: idt.Subject, Name: claims.Name, Username: claims.PreferredUsername, Picture: safePicture(claims.Picture), SignedInAt: time.Now()}
	s.sessions.signIn(w, sess, u, idClaims.SessionID, tok, s.secure)
	s.log.Info("signed in", "sub", u.Subject, "sid", idClaims.SessionID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// issuerMismatch says why an authorization answer q cannot be from this
// site's platform, or returns "" (RFC 9207): an answer that names its
// issuer must name ours, error or not (a mix-up attack sends another
// platform's answer here), and one that names none is refused when the
// platform says it always names itself (else an attacker would only strip
// iss).
func (s *Site) issuerMismatch(ctx context.Context, q url.Values) string {
	if q.Has("iss") {
		if q.Get("iss") != s.cfg.Issuer {
			return fmt.Sprintf("The answer comes from %q, not from this site's login platform %q.", q.Get("iss"), s.cfg.Issuer)
		}
		return ""
	}
	p, err := s.oidcProvider(ctx)
	if err != nil {
		return "" // the code's exchange will say the platform is unreachable
	}
	var meta struct {
		ISS bool `json:"authorization_response_iss_parameter_supported"`
	}
	if p.Claims(&meta) == nil && meta.ISS {
		return "The answer names no issuer, though this site's login platform always names itself: it may come from another platform."
	}
	return ""
}

// stillValid asks the platform's userinfo endpoint whether tok is still
// accepted: false on 401, an error when the platform did not say.
func (s *Site) stillValid(ctx context.Context, tok *oauth2.Token) (bool, error) {
	p, err := s.oidcProvider(ctx)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserInfoEndpoint(), nil)
	if err != nil {
		return false, err
	}
	tok.SetAuthHeader(req)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusUnauthorized:
		return false, nil
	}
	return false, fmt.Errorf("userinfo: %s", resp.Status)
}

// logout signs the browser out of this site (not of the platform).
func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if sess := s.sessions.get(r); sess != nil {
		s.sessions.signOut(sess)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// safePicture returns u if it is an http(s) URL, else "": the picture goes
// in an <img src>.
func safePicture(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return ""
	}
	return u
}

//go:embed templates
var templateFS embed.FS

var pages = func() map[string]*template.Template {
	layout := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range []string{"home.html", "error.html"} {
		m[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name))
	}
	return m
}()

// homePage is the home page's data: User when signed in; Notice, if set,
// is said above the rest.
type homePage struct {
	User   *user
	Notice string
}

// errorPage is the error page's data: the OAuth error code and what it
// means for a person.
type errorPage struct {
	Code        string
	Title       string
	Description string
}

// errorTitles say, for a person, what each error the flow can end in means.
var errorTitles = map[string]string{
	"access_denied":        "You declined the login",
	"bad_state":            "This login answer is not for this browser",
	"invalid_grant":        "The login code was refused",
	"invalid_client":       "This site is not registered with the platform",
	"invalid_id_token":     "The platform's ID token did not check out",
	"wrong_issuer":         "This login answer comes from another platform",
	"platform_unreachable": "The login platform can't be reached",
}

// fail shows the error page with the OAuth error code and its description.
func (s *Site) fail(w http.ResponseWriter, status int, code, desc string) {
	s.log.Info("login failed", "error", code, "description", desc)
	title, ok := errorTitles[code]
	if !ok {
		title = "The login did not go through"
	}
	s.page(w, status, "error.html", errorPage{Code: code, Title: title, Description: desc})
}

func (s *Site) page(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages[name].ExecuteTemplate(w, "layout", data); err != nil {
		s.log.Error("template", "page", name, "err", err)
	}
}

// asset serves the embedded file templates/name.
func (s *Site) asset(name, contentType string) http.HandlerFunc {
	b, err := templateFS.ReadFile("templates/" + name)
	if err != nil {
		panic(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(b)
	}
}
