// Package desktop is the desktop app without its window: the state machine
// of a QR log-in (ticket, scan, confirmation, session) driven by the
// protocol's Go client, the saved session, and the choice of server
// (embedded or remote). It knows nothing of Wails: what the window shows is
// a View, handed to an emit func on every change, so it is tested against a
// real server without a window.
package desktop

import (
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// EventView is the event that carries the new View, as its one argument, on
// every change. frontend/src/events.ts holds the same name.
const EventView = "qrlogin:view"

// View states. Those named after a ticket state show that state one to one;
// the others are the window around the ticket.
const (
	ViewLoading     = "loading"                     // asking for a QR code, checking a saved session, logging out
	ViewPending     = string(server.StatePending)   // the QR code, waiting for a scan
	ViewScanned     = string(server.StateScanned)   // scanned: confirm on the phone
	ViewConfirmed   = string(server.StateConfirmed) // approved on the phone: redeeming
	ViewDenied      = string(server.StateDenied)
	ViewExpired     = string(server.StateExpired)
	ViewCancelled   = string(server.StateCancelled)
	ViewSignedIn    = "signed_in"   // the ticket was redeemed: the session
	ViewUnreachable = "unreachable" // the server could not be reached
	ViewError       = "error"       // the server refused (rate limit, fault) or could not start

	// One-tap login: logged out, on a desktop whose key is enrolled.
	ViewOneTap        = "one_tap"         // the account: Log in, Switch account (to the QR code)
	ViewOneTapWaiting = "one_tap_waiting" // asked: the number to tap on the phone (the ticket is scanned)
	ViewOneTapDenied  = "one_tap_denied"  // the phone denied, or the wrong number was tapped
	ViewOneTapExpired = "one_tap_expired" // no answer from the phone in time
	ViewOneTapLimited = "one_tap_limited" // too many requests: Message says when to try again
)

// Server modes.
const (
	ModeEmbedded = "embedded" // a server in this process, on loopback
	ModeRemote   = "remote"
)

// View is everything the window shows.
type View struct {
	State  string     `json:"state"`
	Server ServerInfo `json:"server"`
	// QR is the code to show while pending, and the last one shown after.
	QR *QR `json:"qr,omitempty"`
	// Scanner is set while scanned and confirmed.
	Scanner *Scanner `json:"scanner,omitempty"`
	// Session is set while signed in.
	Session *Session `json:"session,omitempty"`
	// OneTap is set in the one-tap states.
	OneTap *OneTap `json:"oneTap,omitempty"`
	// Message, for a person, says why the window shows this state: an
	// error, or a notice such as "You were logged out from your phone".
	Message string `json:"message,omitempty"`
}

// ServerInfo names the server in use.
type ServerInfo struct {
	Mode string `json:"mode"` // ModeEmbedded or ModeRemote
	URL  string `json:"url"`  // its base URL; empty while an embedded server is not running
}

// QR is a QR code to show. ImageURL is the server's PNG of it
// (GET /q/{ref}.png); the window adds ?px=N for its size. It holds no secret.
type QR struct {
	Ref       string    `json:"ref"`
	Payload   string    `json:"payload"`
	ImageURL  string    `json:"imageUrl"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Scanner is the account that scanned, masked, as the server shows it before
// confirmation. MatchCode is the code to type on the phone, set only when the
// server requires it.
type Scanner struct {
	DisplayName string `json:"displayName"`
	AvatarURL   string `json:"avatarUrl"`
	MatchCode   string `json:"matchCode,omitempty"`
}

// Session is the signed-in account and what this desktop knows of its
// session: the protocol lets only the phone list an account's sessions.
type Session struct {
	DisplayName string    `json:"displayName"`
	AvatarURL   string    `json:"avatarUrl"`
	SignedInAt  time.Time `json:"signedInAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Device      string    `json:"device"`  // this computer's name and OS, as the phone was shown: "name (OS)"
	App         string    `json:"app"`     // the app and its version, as the phone was shown
	LocalIP     string    `json:"localIp"` // this computer's address on the way to the server, if known
}

// OneTap is the account that this desktop's key is enrolled for, masked,
// as the server shows it before anyone logs in, and, while waiting, the
// number to tap on the phone.
type OneTap struct {
	DisplayName string `json:"displayName"`
	AvatarURL   string `json:"avatarUrl"`
	Number      string `json:"number,omitempty"`
}
