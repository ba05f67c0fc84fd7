package server

import (
	"slices"
	"time"
)

// State is a ticket's state. See docs/protocol.md, "States".
type State string

// The ticket's states.
const (
	StatePending   State = "pending"
	StateScanned   State = "scanned"
	StateConfirmed State = "confirmed"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
	StateCancelled State = "cancelled"
	StateRedeemed  State = "redeemed"
)

// States lists every state, in the order of the happy path first.
var States = []State{StatePending, StateScanned, StateConfirmed, StateRedeemed, StateDenied, StateExpired, StateCancelled}

// moves is the one table of allowed transitions.
var moves = map[State][]State{
	StatePending:   {StateScanned, StateExpired, StateCancelled},
	StateScanned:   {StateConfirmed, StateDenied, StateExpired, StateCancelled},
	StateConfirmed: {StateRedeemed, StateExpired, StateCancelled},
}

// CanMoveTo reports whether the protocol allows a move from s to next.
func (s State) CanMoveTo(next State) bool {
	return slices.Contains(moves[s], next)
}

// Final reports whether no move leaves s.
func (s State) Final() bool { return len(moves[s]) == 0 }

// Desktop is what the server records about a desktop when it asks for a
// ticket; the phone is shown it before it confirms.
type Desktop struct {
	Name      string
	OS        string
	App       string
	IP        string
	UserAgent string
}

// AppFlow names the open platform's flow that started a ticket.
type AppFlow string

// The flows. A ticket of an app's flow never redeems to a desktop session
// (the app gets its own grant), and its scan names the app.
const (
	AppNone      AppFlow = ""          // a desktop's own login
	AppAuthorize AppFlow = "authorize" // an app's authorization request
	AppDevice    AppFlow = "device"    // a device authorization grant
)

// Ticket is one scan-to-log-in attempt. The store keeps only hashes of its
// secrets and tokens. Version grows by one on every stored change and is what
// UpdateTicket compares and swaps.
type Ticket struct {
	ID             string
	Version        int64
	State          State
	PollSecretHash []byte
	// Ref is the ticket's first ref, the one its creation returned
	// (rotation 0): refs are public ids, kept in plain. While a rotating
	// ticket is pending its QR carries another ref every RotateEvery; the
	// service seals those from the ticket's ID and the rotation's number,
	// and stores none of them. (A ticket stored before refs were sealed
	// holds its last stored ref here.)
	Ref       string
	Desktop   Desktop
	CreatedAt time.Time
	// ExpiresAt is the deadline of the current state: while pending,
	// TicketTTL after creation, or after the last extension while watched
	// (never past RotateUntil); of the scan token while scanned; of the
	// redeem while confirmed.
	ExpiresAt time.Time
	// RotateUntil is when rotation stops.
	RotateUntil time.Time
	// RotateEvery, if not zero, is how often the QR of the pending ticket
	// is replaced: rotation k is current from CreatedAt + k*RotateEvery
	// until the next. Zero: the ticket's QR is never replaced.
	RotateEvery   time.Duration
	MatchCode     string
	MatchRequired bool
	MatchFailures int
	// Set by the scan.
	UserID        string
	DeviceID      string
	ScanTokenHash []byte
	ScannedAt     time.Time
	// Set by confirm and redeem.
	ConfirmedAt time.Time
	SessionID   string
	UpdatedAt   time.Time
	// KeyThumbprint is set, at creation and never after, on the ticket of
	// a one-tap request: the thumbprint of the desktop key that asked,
	// which alone may redeem it.
	KeyThumbprint string
	// App is set at creation and never after: the open platform's flow
	// that started the ticket, AppNone for a desktop's own.
	App AppFlow
}

// Expired reports whether the current state's deadline has passed at now
// for a ticket that is not final.
func (t *Ticket) Expired(now time.Time) bool {
	return !t.State.Final() && !now.Before(t.ExpiresAt)
}
