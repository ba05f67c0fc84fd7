// Package api holds the JSON wire types of the scan-to-log-in protocol
// (docs/protocol.md), shared by the server, its Go client, the desktop app
// and mobile-sim. It has no behaviour: field names and JSON tags are the
// contract.
package api

import (
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// Paths of the protocol, relative to the server's base URL. Those with a
// placeholder take the value with fmt.Sprintf or strings.Replace.
const (
	PathAccounts       = "/api/v1/accounts"
	PathMobileLogin    = "/api/v1/mobile/login"
	PathMobileLogout   = "/api/v1/mobile/logout"
	PathMobileSessions = "/api/v1/mobile/sessions"
	PathMobileScan     = "/api/v1/mobile/scan"
	PathMobileConfirm  = "/api/v1/mobile/confirm"
	PathMobileEvents   = "/api/v1/mobile/events"
	PathMobileGrants   = "/api/v1/mobile/grants"
	PathMobileAccount  = "/api/v1/mobile/account"
	PathTickets        = "/api/v1/tickets"
	PathMe             = "/api/v1/me"
	PathSessionEvents  = "/api/v1/session/events"
	PathLogout         = "/api/v1/logout"
	PathHealth         = "/healthz"
	PathMetrics        = "/metrics"
	// PathQRPrefix is followed by a ref: <base URL>/q/<ref> is what a QR code
	// carries, and /q/<ref>.png or .svg renders it.
	PathQRPrefix = "/q/"
)

// Header names the mobile sends besides Authorization.
const HeaderDeviceID = "X-Device-Id"

// HeaderCredential on a mobile login set to CredentialCookie asks for the
// device token as HttpOnly cookies (the phone web app) instead of in the
// answer, whose device_token is then empty.
const (
	HeaderCredential = "X-Credential"
	CredentialCookie = "cookie"
)

// Event types sent on WebSockets and long-polls.
const (
	EventState          = "state"
	EventRotated        = "rotated"
	EventAuth           = "auth"
	EventRevoked        = "revoked"
	EventSessionCreated = "session_created"
	EventSessionRevoked = "session_revoked"
)

// Error is the body of every failed call: {"error": {"code", "message"}}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody wraps Error as the protocol sends it.
type ErrorBody struct {
	Error Error `json:"error"`
}

// User is an account as the server shows it to its owner. Username is left
// out where the protocol does not hand it over (redeem).
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username,omitempty"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
}

// UserBody wraps a User: {"user": {...}}.
type UserBody struct {
	User User `json:"user"`
}

// MaskedUser is all a desktop learns of the account before confirmation.
type MaskedUser struct {
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
}

// RegisterRequest is the body of POST /api/v1/accounts.
type RegisterRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// MobileDevice names the phone at login. ID is chosen by the phone and binds
// the device token: the token is refused with any other X-Device-Id.
type MobileDevice struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
}

// MobileLoginRequest is the body of POST /api/v1/mobile/login.
type MobileLoginRequest struct {
	Username string       `json:"username"`
	Password string       `json:"password"`
	Device   MobileDevice `json:"device"`
}

// MobileLoginResponse answers a mobile login.
type MobileLoginResponse struct {
	DeviceToken string `json:"device_token"`
	DeviceID    string `json:"device_id"`
	User        User   `json:"user"`
}

// DesktopDevice is what a desktop says of itself when it asks for a ticket.
type DesktopDevice struct {
	Name string `json:"name"`
	OS   string `json:"os"`
	App  string `json:"app"`
}

// CreateTicketRequest is the body of POST /api/v1/tickets.
type CreateTicketRequest struct {
	Device DesktopDevice `json:"device"`
}

// CreateTicketResponse answers a ticket creation. PollSecret and MatchCode
// are for the desktop alone.
type CreateTicketResponse struct {
	Ref        string    `json:"ref"`
	PollSecret string    `json:"poll_secret"`
	QRPayload  string    `json:"qr_payload"`
	ExpiresAt  time.Time `json:"expires_at"`
	MatchCode  string    `json:"match_code"`
}

// TicketEvent is one message to a watching desktop, on the WebSocket or as a
// long-poll answer. Type is EventState or EventRotated.
type TicketEvent struct {
	Type  string       `json:"type"`
	State server.State `json:"state,omitempty"`
	// MatchRequired and User are set on the scanned state only.
	MatchRequired *bool       `json:"match_required,omitempty"`
	User          *MaskedUser `json:"user,omitempty"`
	// Ref, QRPayload and ExpiresAt name the QR to show: on rotated events,
	// and on long-poll answers while pending.
	Ref       string     `json:"ref,omitempty"`
	QRPayload string     `json:"qr_payload,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// AuthMessage is the first WebSocket message of a client that cannot set an
// Authorization header: {"type":"auth","poll_secret":"..."} for a ticket,
// {"type":"auth","token":"..."} for a session or device channel.
//
// DPoP is the proof of a session bound to a key (RedeemResponse), made for
// GET on the socket's URL with http(s) for ws(s).
type AuthMessage struct {
	Type       string `json:"type"`
	PollSecret string `json:"poll_secret,omitempty"`
	Token      string `json:"token,omitempty"`
	DeviceID   string `json:"device_id,omitempty"`
	DPoP       string `json:"dpop,omitempty"`
}

// ScanRequest is the body of POST /api/v1/mobile/scan.
type ScanRequest struct {
	QRPayload string `json:"qr_payload"`
}

// DesktopInfo is what the server recorded when the desktop asked for the QR.
type DesktopInfo struct {
	Name      string    `json:"name"`
	OS        string    `json:"os"`
	App       string    `json:"app"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
}

// ScanResponse answers a scan: what the phone shows before asking to log in.
// Warning, when set, is a sentence to show the person (the networks differ).
// App is set when the login is for a third-party app (the open platform).
type ScanResponse struct {
	ScanToken     string      `json:"scan_token"`
	ExpiresAt     time.Time   `json:"expires_at"`
	Desktop       DesktopInfo `json:"desktop"`
	MatchRequired bool        `json:"match_required"`
	Warning       string      `json:"warning,omitempty"`
	App           *App        `json:"app,omitempty"`
}

// App is a third-party app that asks to log the person in: its name, the
// scopes it asks for, and the host the browser returns to (empty for a
// device such as a TV).
//
// UserCode is set for a device grant: the code the device shows, which the
// phone shows too, for the person to check that they are the same before
// approving (it takes the place of the match code).
type App struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Scopes       []string `json:"scopes"`
	RedirectHost string   `json:"redirect_host,omitempty"`
	UserCode     string   `json:"user_code,omitempty"`
}

// ConfirmRequest is the body of POST /api/v1/mobile/confirm. Approve is
// required; MatchCode only where the scan said match_required.
type ConfirmRequest struct {
	ScanToken string `json:"scan_token"`
	Approve   *bool  `json:"approve"`
	MatchCode string `json:"match_code,omitempty"`
}

// StateBody answers confirm and cancel: {"state": "..."}.
type StateBody struct {
	State server.State `json:"state"`
}

// RedeemResponse hands the desktop its session, exactly once.
//
// TokenType is TokenDPoP when the redeem carried a DPoP proof (RFC 9449):
// the session is bound to the proof's key, and every call with it must
// send "Authorization: DPoP <token>" and a fresh proof from that key in
// the DPoP header. Else it is TokenBearer.
type RedeemResponse struct {
	SessionToken string    `json:"session_token"`
	TokenType    string    `json:"token_type"`
	ExpiresAt    time.Time `json:"expires_at"`
	User         User      `json:"user"`
}

// Token types of RedeemResponse.
const (
	TokenBearer = "Bearer"
	TokenDPoP   = "DPoP"
)

// Session is a live desktop session of an account.
type Session struct {
	ID         string        `json:"id"`
	Device     DesktopDevice `json:"device"`
	IP         string        `json:"ip"`
	CreatedAt  time.Time     `json:"created_at"`
	LastSeenAt time.Time     `json:"last_seen_at"`
}

// SessionsBody wraps the list of sessions: {"sessions": [...]}.
type SessionsBody struct {
	Sessions []Session `json:"sessions"`
}

// Grant is a third-party app's access to the account, as the phone lists it
// (GET /api/v1/mobile/grants): one per login through the open platform,
// live until it expires or is revoked.
type Grant struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"client_id"`
	App        string    `json:"app"`
	Scopes     []string  `json:"scopes"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// GrantsBody wraps the list of grants: {"grants": [...]}.
type GrantsBody struct {
	Grants []Grant `json:"grants"`
}

// SessionEvent is pushed on a desktop session's channel: {"type":"revoked"}.
type SessionEvent struct {
	Type string `json:"type"`
}

// MobileEvent is pushed on the phone's own channel.
type MobileEvent struct {
	Type    string        `json:"type"`
	Session *Session      `json:"session,omitempty"`
	Request *LoginRequest `json:"request,omitempty"`
}

// Health answers GET /healthz.
type Health struct {
	Status string `json:"status"`
}
