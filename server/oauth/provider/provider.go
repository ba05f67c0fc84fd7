// Package provider is the open platform: OAuth 2.0 and OpenID Connect on
// top of the scan-to-log-in protocol, so that third-party sites and devices
// log people in by a scan. It implements the authorization code flow with
// PKCE (RFC 6749, RFC 7636), refresh tokens that rotate, the device grant
// (RFC 8628), userinfo, discovery and signed ID tokens. Its HTTP endpoints
// live in package httpapi.
package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"qrlogin/server"
	"qrlogin/server/api"
	"qrlogin/server/oauth"
	"qrlogin/server/service"
)

// Config holds the open platform's lifetimes. Zero values take the
// defaults.
type Config struct {
	CodeTTL        time.Duration // authorization code life: 60 s, at most 10 min
	AccessTTL      time.Duration // 1 h
	RefreshTTL     time.Duration // 30 days
	DeviceTTL      time.Duration // device grant life: 10 min
	DeviceInterval time.Duration // device polling interval: 5 s
}

// MaxCodeTTL is the longest an authorization code may live (RFC 6749
// section 4.1.2 recommends at most 10 minutes).
const MaxCodeTTL = 10 * time.Minute

// Scopes the platform grants.
var supportedScopes = []string{"openid", "profile"}

// Provider is the open platform of one server.
type Provider struct {
	cfg    Config
	st     oauth.Store
	users  server.Store
	svc    *service.Service
	issuer string
	now    func() time.Time
	sig    *signer
	log    *slog.Logger
}

// New returns the open platform over st, issuing for svc's base URL, and
// links it to svc (service.Apps).
func New(ctx context.Context, st oauth.Store, svc *service.Service, cfg Config) (*Provider, error) {
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = time.Minute
	}
	if cfg.CodeTTL < 0 || cfg.CodeTTL > MaxCodeTTL {
		return nil, errors.New("oauth: the code lifetime must be positive and at most 10 minutes")
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.DeviceTTL == 0 {
		cfg.DeviceTTL = 10 * time.Minute
	}
	if cfg.DeviceInterval == 0 {
		cfg.DeviceInterval = 5 * time.Second
	}
	sig, err := loadSigner(ctx, st)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, st: st, users: svc.Store(), svc: svc, issuer: svc.Config().BaseURL, now: svc.Config().Now, sig: sig,
		log: svc.Config().Logger}
	svc.SetApps(p)
	return p, nil
}

// App implements service.Apps.
func (p *Provider) App(ctx context.Context, ticketID string) (*api.App, error) {
	r, err := p.st.RequestByTicket(ctx, ticketID)
	if errors.Is(err, server.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := p.st.ClientByID(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	app := &api.App{ClientID: c.ID, Name: c.Name, Scopes: strings.Fields(r.Scope)}
	if u, err := url.Parse(r.RedirectURI); err == nil && r.RedirectURI != "" {
		app.RedirectHost = u.Host
	}
	return app, nil
}

// RefForUserCode implements service.Apps.
func (p *Provider) RefForUserCode(ctx context.Context, code string) (string, error) {
	r, err := p.st.RequestByUserCode(ctx, code)
	if err != nil {
		return "", err
	}
	return r.Ref, nil
}

// AuthorizeParams are the authorization request's parameters.
type AuthorizeParams struct {
	ResponseType, ClientID, RedirectURI, Scope, State, Nonce, CodeChallenge, CodeChallengeMethod string
}

// Page is what the QR page of an authorization request shows.
type Page struct {
	App    api.App
	Ticket api.CreateTicketResponse
}

var pkceValue = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// Authorize checks an authorization request and starts its ticket. An
// unknown client or a redirect URI that is not registered byte for byte is
// an *Error (shown, never redirected to); any other fault is a
// *RedirectError back to the client.
func (p *Provider) Authorize(ctx context.Context, q AuthorizeParams, d server.Desktop) (Page, error) {
	c, err := p.st.ClientByID(ctx, q.ClientID)
	if errors.Is(err, server.ErrNotFound) || q.ClientID == "" {
		return Page{}, invalidRequest("unknown client_id")
	}
	if err != nil {
		return Page{}, err
	}
	if !slices.Contains(c.RedirectURIs, q.RedirectURI) {
		return Page{}, invalidRequest("redirect_uri is not registered for this app")
	}
	back := func(e *Error) error {
		v := url.Values{"error": {e.Code}, "error_description": {e.Description}}
		if q.State != "" {
			v.Set("state", q.State)
		}
		return &RedirectError{URL: addQuery(q.RedirectURI, v), Err: e}
	}
	if q.ResponseType != "code" {
		return Page{}, back(oerr(http.StatusBadRequest, "unsupported_response_type", "only response_type=code is supported"))
	}
	scope := q.Scope
	if scope == "" {
		scope = "openid"
	}
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(supportedScopes, s) {
			return Page{}, back(oerr(http.StatusBadRequest, "invalid_scope", "unknown scope %q", s))
		}
	}
	switch {
	case q.CodeChallenge == "" && c.Public:
		return Page{}, back(invalidRequest("public clients must use PKCE (code_challenge with S256)"))
	case q.CodeChallenge != "" && q.CodeChallengeMethod != "S256":
		return Page{}, back(invalidRequest("code_challenge_method must be S256"))
	case q.CodeChallenge != "" && !pkceValue.MatchString(q.CodeChallenge):
		return Page{}, back(invalidRequest("code_challenge is malformed"))
	case len(q.State) > 512 || len(q.Nonce) > 512:
		return Page{}, back(invalidRequest("state or nonce is too long"))
	}
	d.App = c.Name
	t, resp, err := p.svc.NewTicket(ctx, d, 0)
	if err != nil {
		return Page{}, err
	}
	r := oauth.Request{
		TicketID: t.ID, Ref: resp.Ref, ClientID: c.ID, RedirectURI: q.RedirectURI, Scope: scope, State: q.State,
		Nonce: q.Nonce, CodeChallenge: q.CodeChallenge, CreatedAt: t.CreatedAt,
	}
	if err := p.st.CreateRequest(ctx, r); err != nil {
		return Page{}, err
	}
	app, _ := p.App(ctx, t.ID)
	return Page{App: *app, Ticket: resp}, nil
}

// Complete ends an authorization request whose ticket ref and poll secret
// the page holds: it returns the redirect to the client with a code once the
// ticket is confirmed (consuming it, exactly once), or with access_denied
// once it is denied. Before that it is a conflict; after, expired.
func (p *Provider) Complete(ctx context.Context, ref, pollSecret string) (string, error) {
	t, err := p.svc.AuthTicket(ctx, ref, pollSecret)
	if err != nil {
		return "", err
	}
	r, err := p.st.RequestByTicket(ctx, t.ID)
	if errors.Is(err, server.ErrNotFound) || err == nil && r.RedirectURI == "" {
		return "", server.Errorf(server.CodeNotFound, "this ticket is not an authorization request")
	}
	if err != nil {
		return "", err
	}
	v := url.Values{}
	if r.State != "" {
		v.Set("state", r.State)
	}
	if t.State == server.StateDenied {
		v.Set("error", "access_denied")
		v.Set("error_description", "the person denied the login on the phone")
		return addQuery(r.RedirectURI, v), nil
	}
	t, err = p.svc.Consume(ctx, t)
	if err != nil {
		return "", err
	}
	code, now := server.NewSecret(), p.now().UTC()
	if err := p.st.CreateCode(ctx, oauth.Code{
		Hash: server.HashToken(code), ClientID: r.ClientID, UserID: t.UserID, RedirectURI: r.RedirectURI, Scope: r.Scope,
		Nonce: r.Nonce, CodeChallenge: r.CodeChallenge, FamilyID: server.NewRef(), AuthTime: t.ConfirmedAt,
		ExpiresAt: now.Add(p.cfg.CodeTTL),
	}); err != nil {
		return "", err
	}
	v.Set("code", code)
	return addQuery(r.RedirectURI, v), nil
}

// addQuery appends v to u's query.
func addQuery(u string, v url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + v.Encode()
	}
	return u + "?" + v.Encode()
}

// ClientCredentials are what a token or device request authenticates with:
// HTTP Basic (client_secret_basic), or the form's client_id and
// client_secret (client_secret_post, or none for public clients).
type ClientCredentials struct {
	ID, Secret string
	Basic      bool
}

// authClient checks a client's credentials.
func (p *Provider) authClient(ctx context.Context, cc ClientCredentials) (oauth.Client, error) {
	if cc.ID == "" {
		return oauth.Client{}, invalidClient("client authentication is required")
	}
	c, err := p.st.ClientByID(ctx, cc.ID)
	if errors.Is(err, server.ErrNotFound) {
		return oauth.Client{}, invalidClient("unknown client")
	}
	if err != nil {
		return oauth.Client{}, err
	}
	if c.Public {
		if cc.Secret != "" {
			return oauth.Client{}, invalidClient("a public client has no secret")
		}
		return c, nil
	}
	if cc.Secret == "" || subtle.ConstantTimeCompare(server.HashToken(cc.Secret), c.SecretHash) != 1 {
		return oauth.Client{}, invalidClient("wrong client credentials")
	}
	return c, nil
}

// TokenResponse is the token endpoint's success body.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// Grant types.
const (
	grantCode    = "authorization_code"
	grantRefresh = "refresh_token"
	grantDevice  = "urn:ietf:params:oauth:grant-type:device_code"
)

// oauth.Token serves the token endpoint.
func (p *Provider) Token(ctx context.Context, form url.Values, cc ClientCredentials) (TokenResponse, error) {
	c, err := p.authClient(ctx, cc)
	if err != nil {
		return TokenResponse{}, err
	}
	switch form.Get("grant_type") {
	case grantCode:
		return p.exchangeCode(ctx, c, form)
	case grantRefresh:
		return p.refresh(ctx, c, form.Get("refresh_token"))
	case grantDevice:
		return p.deviceToken(ctx, c, form.Get("device_code"))
	case "":
		return TokenResponse{}, invalidRequest("grant_type is required")
	}
	return TokenResponse{}, oerr(http.StatusBadRequest, "unsupported_grant_type", "grant_type %q is not supported", form.Get("grant_type"))
}

func (p *Provider) exchangeCode(ctx context.Context, c oauth.Client, form url.Values) (TokenResponse, error) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" {
		return TokenResponse{}, invalidRequest("code is required")
	}
	now := p.now().UTC()
	g, first, err := p.st.UseCode(ctx, server.HashToken(code), now)
	if errors.Is(err, server.ErrNotFound) {
		return TokenResponse{}, invalidGrant("unknown code")
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if !first {
		// A replayed code: whoever holds it may be an attacker, so every
		// token issued from its first use goes too (RFC 6749 section 4.1.2).
		if err := p.st.RevokeFamily(ctx, g.FamilyID, now); err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, invalidGrant("the code was already used; the tokens issued from it are revoked")
	}
	switch {
	case g.ClientID != c.ID:
		return TokenResponse{}, invalidGrant("the code was issued to another client")
	case !now.Before(g.ExpiresAt):
		return TokenResponse{}, invalidGrant("the code has expired")
	case form.Get("redirect_uri") != g.RedirectURI:
		return TokenResponse{}, invalidGrant("redirect_uri differs from the authorization request's")
	case g.CodeChallenge == "" && verifier != "":
		return TokenResponse{}, invalidGrant("code_verifier sent, but the authorization request had no code_challenge")
	case g.CodeChallenge != "" && !pkceValue.MatchString(verifier):
		return TokenResponse{}, invalidGrant("a valid code_verifier is required")
	case g.CodeChallenge != "" && subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(g.CodeChallenge)) != 1:
		return TokenResponse{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	return p.issue(ctx, c, g.UserID, g.Scope, g.Nonce, g.FamilyID, g.AuthTime, nil)
}

// s256 is PKCE's S256 transform.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (p *Provider) refresh(ctx context.Context, c oauth.Client, token string) (TokenResponse, error) {
	if token == "" {
		return TokenResponse{}, invalidRequest("refresh_token is required")
	}
	now := p.now().UTC()
	old, err := p.st.TokenByHash(ctx, server.HashToken(token))
	if errors.Is(err, server.ErrNotFound) || err == nil && (old.Kind != oauth.KindRefresh || old.ClientID != c.ID) {
		return TokenResponse{}, invalidGrant("unknown refresh token")
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if !old.RevokedAt.IsZero() {
		// A rotated-away refresh token came back: revoke the family.
		if err := p.st.RevokeFamily(ctx, old.FamilyID, now); err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, invalidGrant("the refresh token was already used; its tokens are revoked")
	}
	if !now.Before(old.ExpiresAt) {
		return TokenResponse{}, invalidGrant("the refresh token has expired")
	}
	return p.issue(ctx, c, old.UserID, old.Scope, "", old.FamilyID, old.AuthTime, old.Hash)
}

// issue makes an access token, a refresh token and, for the openid scope, an
// ID token. With rotating set, the refresh token it replaces is revoked in
// the same transaction (a lost race is a replay).
func (p *Provider) issue(ctx context.Context, c oauth.Client, userID, scope, nonce, family string, authTime time.Time, rotating []byte) (TokenResponse, error) {
	now := p.now().UTC()
	access, refresh := server.NewSecret(), server.NewSecret()
	ts := []oauth.Token{
		{Hash: server.HashToken(access), Kind: oauth.KindAccess, ClientID: c.ID, UserID: userID, Scope: scope, FamilyID: family, AuthTime: authTime, ExpiresAt: now.Add(p.cfg.AccessTTL), CreatedAt: now},
		{Hash: server.HashToken(refresh), Kind: oauth.KindRefresh, ClientID: c.ID, UserID: userID, Scope: scope, FamilyID: family, AuthTime: authTime, ExpiresAt: now.Add(p.cfg.RefreshTTL), CreatedAt: now},
	}
	var err error
	if rotating != nil {
		err = p.st.RotateRefresh(ctx, rotating, now, ts...)
		if errors.Is(err, server.ErrConflict) {
			p.st.RevokeFamily(ctx, family, now)
			return TokenResponse{}, invalidGrant("the refresh token was already used; its tokens are revoked")
		}
	} else {
		err = p.st.CreateTokens(ctx, ts...)
	}
	if err != nil {
		return TokenResponse{}, err
	}
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(p.cfg.AccessTTL / time.Second), RefreshToken: refresh, Scope: scope}
	if slices.Contains(strings.Fields(scope), "openid") {
		u, err := p.users.UserByID(ctx, userID)
		if err != nil {
			return TokenResponse{}, err
		}
		claims := idClaims{
			Claims: jwt.Claims{Issuer: p.issuer, Subject: userID, Audience: jwt.Audience{c.ID}, Expiry: jwt.NewNumericDate(now.Add(p.cfg.AccessTTL))},
			Nonce:  nonce, AuthTime: authTime.Unix(),
		}
		if slices.Contains(strings.Fields(scope), "profile") {
			claims.Name, claims.Picture, claims.PreferredUsername = u.DisplayName, u.AvatarURL, u.Username
		}
		if resp.IDToken, err = p.sig.sign(claims, now); err != nil {
			return TokenResponse{}, err
		}
	}
	return resp, nil
}

// UserInfo returns the claims an access token may see.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	t, err := p.st.TokenByHash(ctx, server.HashToken(accessToken))
	now := p.now()
	if errors.Is(err, server.ErrNotFound) || err == nil && (t.Kind != oauth.KindAccess || !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt)) {
		return nil, oerr(http.StatusUnauthorized, "invalid_token", "the access token is not valid")
	}
	if err != nil {
		return nil, err
	}
	u, err := p.users.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{"sub": u.ID}
	if slices.Contains(strings.Fields(t.Scope), "profile") {
		claims["name"], claims["picture"], claims["preferred_username"] = u.DisplayName, u.AvatarURL, u.Username
	}
	return claims, nil
}

// Discovery is the OpenID Provider metadata.
func (p *Provider) Discovery() map[string]any {
	i := p.issuer
	return map[string]any{
		"issuer":                                i,
		"authorization_endpoint":                i + PathAuthorize,
		"token_endpoint":                        i + PathToken,
		"userinfo_endpoint":                     i + PathUserInfo,
		"jwks_uri":                              i + PathJWKS,
		"device_authorization_endpoint":         i + PathDeviceCode,
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{grantCode, grantRefresh, grantDevice},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"scopes_supported":                      supportedScopes,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "picture", "preferred_username"},
	}
}

// JWKS is the public key set that verifies ID tokens.
func (p *Provider) JWKS() jose.JSONWebKeySet { return p.sig.JWKS() }

// Endpoint paths.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathAuthorize  = "/oauth/authorize"
	PathComplete   = "/oauth/authorize/complete"
	PathToken      = "/oauth/token"
	PathUserInfo   = "/oauth/userinfo"
	PathJWKS       = "/oauth/jwks"
	PathDeviceCode = "/oauth/device/code"
)
