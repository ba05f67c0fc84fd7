package server

import (
	"context"
	"time"
)

// User is an account.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	AvatarURL    string
	PasswordHash string
	CreatedAt    time.Time
}

// Device is a phone logged in to an account. ID is the server's row id;
// ClientID is the id the phone chose, which its token is bound to.
type Device struct {
	ID         string
	UserID     string
	ClientID   string
	Name       string
	Platform   string
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	RevokedAt  time.Time
}

// Session is a desktop signed in through a confirmed ticket.
type Session struct {
	ID         string
	UserID     string
	DeviceID   string // the phone that confirmed it
	TokenHash  []byte
	Desktop    Desktop
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	// KeyThumbprint, when set, binds the session to the desktop's key (the
	// RFC 7638 thumbprint of its public key): every use of the token must
	// come with a DPoP proof signed by that key.
	KeyThumbprint string
}

// Live reports whether the session is neither revoked nor expired at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// Store persists accounts, devices, tickets and sessions. Every backend
// returns exactly these errors: ErrNotFound for a missing row, ErrConflict
// for a duplicate username or a lost compare-and-swap, whatever the updater
// returned, and anything else only for faults of its own.
type Store interface {
	DesktopKeys

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error

	// CreateUser stores u; ErrConflict if the username is taken
	// (case-insensitively).
	CreateUser(ctx context.Context, u User) error
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)

	// CreateDevice stores d and, in the same transaction, revokes any earlier
	// token of the same account and ClientID.
	CreateDevice(ctx context.Context, d Device) error
	// DeviceByTokenHash returns the device whose token hashes to h, revoked
	// or not.
	DeviceByTokenHash(ctx context.Context, h []byte) (Device, error)
	// RevokeDevice logs a phone out at at, in one transaction. The phone is
	// the device and every other device of the same account and ClientID,
	// revoked or not (its other logins: a new login revokes the earlier
	// ones' tokens, not what they confirmed). It revokes the phone's live
	// devices and every live session that any of them confirmed, and
	// cancels every ticket that any of them scanned or confirmed and that
	// has not ended (scanned or confirmed: State becomes StateCancelled,
	// UpdatedAt at, Version one more), so that no login in flight can be
	// redeemed. It returns the sessions revoked and the tickets cancelled,
	// as stored. An unknown device ends nothing. A racing UpdateTicket
	// either lands first (a redeem's session is then revoked too) or finds
	// the ticket cancelled.
	RevokeDevice(ctx context.Context, deviceID string, at time.Time) ([]Session, []Ticket, error)

	// CreateTicket stores a new ticket; one that does not rotate
	// (RotateEvery 0) with its ref, which TicketByRef then finds. A
	// rotating ticket's refs are sealed values (the ticket's id, opened by
	// the service), not stored.
	CreateTicket(ctx context.Context, t Ticket) error
	// TicketByID returns the ticket whose ID is id.
	TicketByID(ctx context.Context, id string) (Ticket, error)
	// TicketByRef returns the ticket that a stored ref names (CreateTicket;
	// or, for a ticket stored before refs were sealed, any ref it had).
	TicketByRef(ctx context.Context, ref string) (Ticket, error)
	// UpdateTicket loads the ticket, calls update on it and stores the result,
	// all in one transaction, with the version compared and swapped: of racing
	// updates exactly one wins. If update returns an error nothing is stored
	// and that error is returned. The ticket's ID, Ref and App stay as they are.
	// With a non-nil session (from update) it is created in the same
	// transaction. update may be called more than once (a store may try a
	// copy it holds first, or lose a race and read again), each time on a
	// ticket of its own: only its last call's outcome counts, so it must set
	// whatever it reports outside t on every call, and change nothing else.
	UpdateTicket(ctx context.Context, id string, update func(t *Ticket) (*Session, error)) (Ticket, error)
	// UpdateTicketByScanToken is UpdateTicket of the ticket whose scan
	// token hashes to h (ErrNotFound for none, or an empty h).
	UpdateTicketByScanToken(ctx context.Context, h []byte, update func(t *Ticket) (*Session, error)) (Ticket, error)
	// ExtendTickets moves the deadline (ExpiresAt) of each ticket of ids
	// that is pending and not expired at now to until, or to its
	// RotateUntil if that is sooner, in one transaction, where that is
	// later than its deadline: its UpdatedAt becomes now and its Version
	// one more, as UpdateTicket would store it. A ticket never updated
	// (Version 1) is updated so even if its deadline stays: that marks it
	// as watched. It returns how many it updated; the others (gone, no
	// longer pending, expired, or updated before with a deadline as late
	// already) are left as they are.
	ExtendTickets(ctx context.Context, ids []string, until, now time.Time) (int, error)
	// DueTickets returns up to limit non-final tickets whose ExpiresAt is
	// before t.
	DueTickets(ctx context.Context, t time.Time, limit int) ([]Ticket, error)
	// DeleteTicketsBefore removes tickets last changed before t that are
	// final or expired, and returns how many.
	DeleteTicketsBefore(ctx context.Context, t time.Time) (int, error)
	// CountTicketsByState counts the stored tickets in each state.
	CountTicketsByState(ctx context.Context) (map[State]int, error)

	// SessionByTokenHash returns the session whose token hashes to h.
	SessionByTokenHash(ctx context.Context, h []byte) (Session, error)
	// ListSessions returns the account's live sessions at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeSession revokes one live session of the account; ErrNotFound if
	// there is no such live session of that account.
	RevokeSession(ctx context.Context, userID, sessionID string, at time.Time) (Session, error)
	// TouchSession records that the session was used at t.
	TouchSession(ctx context.Context, id string, t time.Time) error

	// PurgeSessions removes, in one transaction, up to limit sessions that
	// were revoked or expired before t and up to limit devices that were
	// revoked before t, keeping any that is still named: a session while
	// the ticket whose UpdateTicket created it is stored and names it
	// (Ticket.SessionID); a device while a stored session (Session.DeviceID)
	// or a ticket that has not ended (Ticket.DeviceID; a redeemed ticket's
	// device is kept through its session) names it. It returns how many
	// sessions and devices it removed; fewer than limit means none is left
	// to remove.
	PurgeSessions(ctx context.Context, t time.Time, limit int) (int, error)

	// CheckWrites reports whether the database takes writes, by a probe:
	// one heartbeat row updated and committed. It probes at most once every
	// 5 s of now (the caller's clock) and otherwise returns the last
	// probe's outcome, also while a probe runs, so that a flood of checks is
	// no flood of writes; a probe cut short by ctx is not kept.
	CheckWrites(ctx context.Context, now time.Time) error

	// ServerKey returns the secret key stored under name, storing fresh
	// first if there is none: every node of a cluster, and every run of
	// the server, gets the same key once one is stored. Racing first calls
	// store one key, and each gets that one.
	ServerKey(ctx context.Context, name string, fresh []byte) ([]byte, error)
}
