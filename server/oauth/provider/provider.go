// Package provider is the open platform: OAuth 2.0 and OpenID Connect on
// top of the scan-to-log-in protocol, so that third-party sites and devices
// log people in by a scan. It implements the authorization code flow with
// PKCE for every client (RFC 6749, RFC 7636, RFC 9700), refresh tokens that
// rotate (with offline_access), the device grant (RFC 8628), the iss
// parameter of authorization responses (RFC 9207), token revocation (RFC
// 7009), grants that the person sees and revokes from the phone,
// back-channel logout (OpenID Connect Back-Channel Logout 1.0), userinfo,
// discovery and signed ID tokens. Its HTTP endpoints live in package
// httpapi.
package provider

import (
	"cmp"
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

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/service"
)

// Config holds the open platform's lifetimes. Zero values take the
// defaults.
type Config struct {
	CodeTTL        time.Duration // authorization code life: 60 s, at most 10 min
	AccessTTL      time.Duration // 1 h
	RefreshTTL     time.Duration // 30 days
	DeviceTTL      time.Duration // device grant life: 10 min
	DeviceInterval time.Duration // device polling interval: 5 s
	LogoutPoll     time.Duration // how often a node looks for due back-channel logouts: 5 s
	LogoutGiveUp   time.Duration // how long a failing back-channel logout is retried: 24 h
	KeyReload      time.Duration // how often a node reloads the signing keys: 30 s, at most 1 min (keys.go)
}

// MaxCodeTTL is the longest an authorization code may live (RFC 6749
// section 4.1.2 recommends at most 10 minutes).
const MaxCodeTTL = 10 * time.Minute

// Scopes the platform knows. offline_access asks for a refresh token (OpenID
// Connect Core 1.0 section 11); any other scope value is ignored (section
// 3.1.2.1): left out of what is granted, not refused.
const (
	scopeOpenID  = "openid"
	scopeProfile = "profile"
	scopeOffline = "offline_access"
)

var supportedScopes = []string{scopeOpenID, scopeProfile, scopeOffline}

// grantedScope is the scope granted for a request's scope parameter: the
// values the platform knows, each once, in the order asked; "openid" when
// none is known.
func grantedScope(asked string) string {
	var out []string
	for s := range strings.FieldsSeq(asked) {
		if slices.Contains(supportedScopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return scopeOpenID
	}
	return strings.Join(out, " ")
}

// hasScope reports whether the space-separated scope holds s.
func hasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// Provider is the open platform of one server.
type Provider struct {
	*Apps
	cfg    Config
	users  server.Store
	svc    *service.Service
	issuer string
	sig    *signer
	hc     *http.Client // delivers back-channel logouts
}

// Apps is the open platform's side of the login service (service.Apps):
// which app a ticket logs in to, the ticket of a typed user code, and the
// grants that a phone's logout ends. It is made first and given to both
// service.New (service.Config.Apps) and New.
type Apps struct {
	st   oauth.Store
	now  func() time.Time
	log  *slog.Logger
	kick chan struct{} // wakes the back-channel logout sender
}

// NewApps returns the open platform's Apps over st, on the clock now
// (time.Now if nil), logging to log (slog.Default if nil).
func NewApps(st oauth.Store, now func() time.Time, log *slog.Logger) *Apps {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Apps{st: st, now: now, log: log, kick: make(chan struct{}, 1)}
}

// New returns the open platform over apps' store, issuing for svc's base
// URL. svc must have been made with apps as its service.Config.Apps.
func New(ctx context.Context, apps *Apps, svc *service.Service, cfg Config) (*Provider, error) {
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = time.Minute
	}
	if cfg.CodeTTL < 0 || cfg.CodeTTL > MaxCodeTTL {
		return nil, errors.New("oauth: the code lifetime must be positive and at most 10 minutes")
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = DefaultAccessTTL
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
	if cfg.LogoutPoll == 0 {
		cfg.LogoutPoll = 5 * time.Second
	}
	if cfg.LogoutGiveUp == 0 {
		cfg.LogoutGiveUp = 24 * time.Hour
	}
	sig, err := loadSigner(ctx, apps.st, &cfg, apps.now)
	if err != nil {
		return nil, err
	}
	return &Provider{Apps: apps, cfg: cfg, users: svc.Store(), svc: svc, issuer: svc.Config().BaseURL, sig: sig, hc: logoutClient()}, nil
}

// App implements service.Apps.
func (p *Apps) App(ctx context.Context, ticketID string) (*api.App, error) {
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
	if r.UserCode != "" {
		app.UserCode = displayUserCode(r.UserCode)
	}
	return app, nil
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
		v := url.Values{"error": {string(e.Code)}, "error_description": {e.Description}}
		if q.State != "" {
			v.Set("state", q.State)
		}
		return &RedirectError{URL: p.respond(q.RedirectURI, v), Err: e}
	}
	if q.ResponseType != "code" {
		return Page{}, back(oerr(UnsupportedResponseType, "only response_type=code is supported"))
	}
	if !slices.Contains(c.GrantTypes, oauth.GrantCode) {
		return Page{}, back(oerr(UnauthorizedClient, "this app is not registered for the authorization code grant"))
	}
	scope := grantedScope(q.Scope)
	switch {
	case q.CodeChallenge == "":
		return Page{}, back(invalidRequest("PKCE is required: send code_challenge with code_challenge_method=S256"))
	case q.CodeChallengeMethod != "S256":
		return Page{}, back(invalidRequest("code_challenge_method must be S256"))
	case !pkceValue.MatchString(q.CodeChallenge):
		return Page{}, back(invalidRequest("code_challenge is malformed"))
	case len(q.State) > 512 || len(q.Nonce) > 512:
		return Page{}, back(invalidRequest("state or nonce is too long"))
	}
	d.App = c.Name
	t, resp, err := p.svc.NewTicket(ctx, d, 0, server.AppAuthorize)
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
		v.Set("error", string(AccessDenied))
		v.Set("error_description", "the person denied the login on the phone")
		return p.respond(r.RedirectURI, v), nil
	}
	t, err = p.svc.Consume(ctx, t)
	if err != nil {
		return "", err
	}
	code, now := server.NewSecret(), p.now().UTC()
	g, err := p.newGrant(ctx, r.ClientID, r.Scope, t, now.Add(p.cfg.CodeTTL))
	if errors.Is(err, server.ErrConflict) {
		v.Set("error", string(AccessDenied))
		v.Set("error_description", "the phone that approved the login has logged out")
		return p.respond(r.RedirectURI, v), nil
	}
	if err != nil {
		return "", err
	}
	if err := p.st.CreateCode(ctx, oauth.Code{
		Hash: server.HashToken(code), ClientID: r.ClientID, UserID: t.UserID, RedirectURI: r.RedirectURI, Scope: r.Scope,
		Nonce: r.Nonce, CodeChallenge: r.CodeChallenge, FamilyID: g.ID, AuthTime: t.ConfirmedAt,
		ExpiresAt: g.ExpiresAt,
	}); err != nil {
		return "", err
	}
	v.Set("code", code)
	return p.respond(r.RedirectURI, v), nil
}

// respond returns the authorization response v (a code or an error) at the
// redirect URI, with the issuer's iss (RFC 9207), so that a client talking
// to several servers knows which one answered.
func (p *Provider) respond(redirectURI string, v url.Values) string {
	v.Set("iss", p.issuer)
	return addQuery(redirectURI, v)
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

// oauth.Token serves the token endpoint.
func (p *Provider) Token(ctx context.Context, form url.Values, cc ClientCredentials) (TokenResponse, error) {
	c, err := p.authClient(ctx, cc)
	if err != nil {
		return TokenResponse{}, err
	}
	gt := form.Get("grant_type")
	switch gt {
	case oauth.GrantCode, oauth.GrantRefresh, oauth.GrantDevice:
		if !slices.Contains(c.GrantTypes, gt) {
			return TokenResponse{}, oerr(UnauthorizedClient, "this app is not registered for the %s grant", gt)
		}
	case "":
		return TokenResponse{}, invalidRequest("grant_type is required")
	default:
		return TokenResponse{}, oerr(UnsupportedGrantType, "grant_type %q is not supported", gt)
	}
	switch gt {
	case oauth.GrantCode:
		return p.exchangeCode(ctx, c, form)
	case oauth.GrantRefresh:
		return p.refresh(ctx, c, form.Get("refresh_token"))
	default:
		return p.deviceToken(ctx, c, form.Get("device_code"))
	}
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
		if err := p.revokeGrant(ctx, g.FamilyID, now); err != nil {
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
	case !pkceValue.MatchString(verifier):
		return TokenResponse{}, invalidGrant("a valid code_verifier is required")
	case subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(g.CodeChallenge)) != 1:
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
		if err := p.revokeGrant(ctx, old.FamilyID, now); err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, invalidGrant("the refresh token was already used; its tokens are revoked")
	}
	if !now.Before(old.ExpiresAt) {
		return TokenResponse{}, invalidGrant("the refresh token has expired")
	}
	return p.issue(ctx, c, old.UserID, old.Scope, "", old.FamilyID, old.AuthTime, old.Hash)
}

// issue makes an access token, a refresh token where the scope has
// offline_access and the app may refresh, and, for the openid scope, an ID
// token, through the grant family. With rotating set, the refresh token it
// replaces is revoked in the same transaction (a lost race is a replay). A
// grant revoked meanwhile is invalid_grant: nothing is issued.
func (p *Provider) issue(ctx context.Context, c oauth.Client, userID, scope, nonce, family string, authTime time.Time, rotating []byte) (TokenResponse, error) {
	now := p.now().UTC()
	access := server.NewSecret()
	ts := []oauth.Token{
		{Hash: server.HashToken(access), Kind: oauth.KindAccess, ClientID: c.ID, UserID: userID, Scope: scope, FamilyID: family, AuthTime: authTime, ExpiresAt: now.Add(p.cfg.AccessTTL), CreatedAt: now},
	}
	var refresh string
	if hasScope(scope, scopeOffline) && slices.Contains(c.GrantTypes, oauth.GrantRefresh) {
		refresh = server.NewSecret()
		ts = append(ts, oauth.Token{Hash: server.HashToken(refresh), Kind: oauth.KindRefresh, ClientID: c.ID, UserID: userID, Scope: scope, FamilyID: family, AuthTime: authTime, ExpiresAt: now.Add(p.cfg.RefreshTTL), CreatedAt: now})
	}
	var err error
	if rotating != nil {
		err = p.st.RotateRefresh(ctx, rotating, now, ts...)
		if errors.Is(err, server.ErrConflict) {
			return TokenResponse{}, p.lostRotation(ctx, rotating, family, now)
		}
	} else {
		err = p.st.CreateTokens(ctx, ts...)
		if errors.Is(err, server.ErrConflict) {
			return TokenResponse{}, invalidGrant("the grant was revoked or has expired")
		}
	}
	if err != nil {
		return TokenResponse{}, err
	}
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(p.cfg.AccessTTL / time.Second), RefreshToken: refresh, Scope: scope}
	if hasScope(scope, scopeOpenID) {
		u, err := p.users.UserByID(ctx, userID)
		if err != nil {
			return TokenResponse{}, err
		}
		claims := idClaims{
			Claims: jwt.Claims{Issuer: p.issuer, Subject: userID, Audience: jwt.Audience{c.ID}, Expiry: jwt.NewNumericDate(now.Add(p.cfg.AccessTTL))},
			Nonce:  nonce, AuthTime: authTime.Unix(), SessionID: family,
		}
		if hasScope(scope, scopeProfile) {
			claims.Name, claims.Picture, claims.PreferredUsername = u.DisplayName, u.AvatarURL, u.Username
		}
		if resp.IDToken, err = p.sig.sign(claims, now); err != nil {
			return TokenResponse{}, err
		}
	}
	return resp, nil
}

// lostRotation answers a rotation of the refresh token old that the store
// refused: a replay (old was rotated away by a racing request) or a grant
// revoked meanwhile is invalid_grant, and the grant is revoked. Anything
// else (a database's deadlock or serialization failure, reported as a
// conflict too) is the server's fault: old stays good for a retry.
func (p *Provider) lostRotation(ctx context.Context, old []byte, family string, now time.Time) error {
	t, err := p.st.TokenByHash(ctx, old)
	if err != nil {
		return err
	}
	if t.RevokedAt.IsZero() {
		if g, err := p.st.GrantByID(ctx, family); err != nil || g.RevokedAt.IsZero() && now.Before(g.ExpiresAt) {
			return cmp.Or(err, errors.New("oauth: the refresh token's rotation failed; try again"))
		}
	}
	if err := p.revokeGrant(ctx, family, now); err != nil {
		return err
	}
	return invalidGrant("the refresh token was already used, or its grant was revoked; its tokens are revoked")
}

// UserInfo returns the claims an access token may see.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	t, err := p.st.TokenByHash(ctx, server.HashToken(accessToken))
	now := p.now()
	if errors.Is(err, server.ErrNotFound) || err == nil && (t.Kind != oauth.KindAccess || !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt)) {
		return nil, oerr(InvalidToken, "the access token is not valid")
	}
	if err != nil {
		return nil, err
	}
	u, err := p.users.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{"sub": u.ID}
	if hasScope(t.Scope, scopeProfile) {
		claims["name"], claims["picture"], claims["preferred_username"] = u.DisplayName, u.AvatarURL, u.Username
	}
	return claims, nil
}

// Discovery is the OpenID Provider metadata.
func (p *Provider) Discovery() map[string]any {
	i := p.issuer
	return map[string]any{
		"issuer":                                         i,
		"authorization_endpoint":                         i + PathAuthorize,
		"token_endpoint":                                 i + PathToken,
		"userinfo_endpoint":                              i + PathUserInfo,
		"jwks_uri":                                       i + PathJWKS,
		"device_authorization_endpoint":                  i + PathDeviceCode,
		"revocation_endpoint":                            i + PathRevoke,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{oauth.GrantCode, oauth.GrantRefresh, oauth.GrantDevice},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{string(jose.ES256)},
		"scopes_supported":                               supportedScopes,
		"token_endpoint_auth_methods_supported":          authMethods,
		"revocation_endpoint_auth_methods_supported":     authMethods,
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"claims_supported":                               []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name", "picture", "preferred_username"},
	}
}

// authMethods are how clients authenticate at the token and revocation
// endpoints.
var authMethods = []string{"client_secret_basic", "client_secret_post", "none"}

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
	PathRevoke     = "/oauth/revoke"
)
