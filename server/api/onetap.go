package api

import "time"

// Paths of one-tap login: a desktop whose key is enrolled (it signed in by
// a QR code with a DPoP proof) asks the account's phones to let it in
// again, and the person taps the number the desktop shows.
const (
	// PathDesktopKey: GET, with a DPoP proof, the account the desktop's
	// key is enrolled for (DesktopKeyInfo); 404 if it is not (any more).
	PathDesktopKey = "/api/v1/desktop/key"
	// PathDesktopLogin: POST DesktopLoginRequest, with a DPoP proof, asks
	// the phones (DesktopLoginResponse).
	PathDesktopLogin = "/api/v1/desktop/login"
	// PathMobileLoginRequests: GET lists the account's waiting requests
	// ([]LoginRequest); POST .../{id} DecideLoginRequest decides one.
	PathMobileLoginRequests = "/api/v1/mobile/login-requests"
	// PathMobileDesktops: GET lists the account's enrolled desktops
	// ([]EnrolledDesktop); DELETE .../{id} removes one and ends its
	// sessions.
	PathMobileDesktops = "/api/v1/mobile/desktops"
)

// Event types of one-tap login on the phone's channel.
const (
	// EventLoginRequest carries a new request (MobileEvent.Request).
	EventLoginRequest = "login_request"
	// EventLoginRequestClosed says request MobileEvent.Request.ID was
	// decided (on this or another phone) or expired: take it off screen.
	EventLoginRequestClosed = "login_request_closed"
)

// DesktopKeyInfo answers GET /api/v1/desktop/key: the account the key is
// enrolled for, as a desktop may show it before anyone logs in, and the
// name the desktop was enrolled under.
type DesktopKeyInfo struct {
	User MaskedUser `json:"user"`
	Name string     `json:"name"`
}

// DesktopLoginRequest is the body of POST /api/v1/desktop/login.
type DesktopLoginRequest struct {
	Device DesktopDevice `json:"device"`
}

// DesktopLoginResponse answers a one-tap request. The desktop shows
// Number, follows the ticket Ref with PollSecret as after a QR code (it
// starts scanned: the phones have been asked), and redeems it with a DPoP
// proof from the same key once confirmed.
type DesktopLoginResponse struct {
	Ref        string     `json:"ref"`
	PollSecret string     `json:"poll_secret"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Number     string     `json:"number"`
	User       MaskedUser `json:"user"`
}

// LoginRequest is a one-tap request as the phone shows it: the desktop's
// enrolled name, where it asks from, and three numbers of which the
// desktop shows one. Warning, when set, is a sentence to show (the
// networks differ).
type LoginRequest struct {
	ID        string      `json:"id"`
	Desktop   DesktopInfo `json:"desktop"`
	Choices   []string    `json:"choices"`
	ExpiresAt time.Time   `json:"expires_at"`
	Warning   string      `json:"warning,omitempty"`
}

// DecideLoginRequest is the body of POST /api/v1/mobile/login-requests/{id}:
// approve with the Number the person tapped, deny, or not_me, which
// denies, removes the desktop's enrolment and ends its sessions. The
// answer is a StateBody, confirmed or denied; a wrong number denies the
// request and is answered 403 forbidden. A request decided already is 409
// conflict, one that ran out of time 410 expired.
type DecideLoginRequest struct {
	Action string `json:"action"`
	Number string `json:"number,omitempty"`
}

// Actions of DecideLoginRequest.
const (
	ActionApprove = "approve"
	ActionDeny    = "deny"
	ActionNotMe   = "not_me"
)

// EnrolledDesktop is a desktop enrolled for one-tap login, in the phone's
// list of the account's devices.
type EnrolledDesktop struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	OS         string    `json:"os"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}
