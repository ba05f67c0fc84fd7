package server

import (
	"context"
	"time"
)

// DesktopKey is a desktop enrolled for one-tap login: the key it proved at
// a QR login (DPoP), by its RFC 7638 thumbprint, and the account it may
// ask the phones of. Requests and PendingUntil are its budget of requests
// (the service's limits); TicketRef is the ticket of its latest request.
type DesktopKey struct {
	ID         string
	UserID     string
	Thumbprint string
	Name       string
	OS         string
	IP         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// Requests are the times of its recent requests, oldest first.
	Requests []time.Time
	// PendingUntil is when its waiting request expires; zero when none
	// waits.
	PendingUntil time.Time
	TicketRef    string
}

// DesktopKeys is the part of a Store that keeps enrolled desktops. Every
// method returns ErrNotFound for a key that is not stored (or not the
// account's).
type DesktopKeys interface {
	// EnrollDesktopKey stores k, or, if its thumbprint is enrolled already
	// (the desktop signed in again, maybe to another account), replaces
	// that key's account, name, OS, address and last use with k's, keeping
	// its ID and its budget of requests; a key that moves to another
	// account has no request waiting any more. It returns the key as
	// stored.
	EnrollDesktopKey(ctx context.Context, k DesktopKey) (DesktopKey, error)
	// DesktopKeyByThumbprint returns the key with that thumbprint.
	DesktopKeyByThumbprint(ctx context.Context, thumbprint string) (DesktopKey, error)
	// DesktopKeysOf returns the account's keys, newest use first.
	DesktopKeysOf(ctx context.Context, userID string) ([]DesktopKey, error)
	// UpdateDesktopKey loads key id, calls update on it and stores the
	// result in one transaction; racing updates are serialized, so a
	// budget checked in update holds. If update returns an error nothing
	// is stored and that error is returned.
	UpdateDesktopKey(ctx context.Context, id string, update func(k *DesktopKey) error) (DesktopKey, error)
	// RemoveDesktopKey deletes the account's key id and, in the same
	// transaction, revokes at at the account's live sessions bound to it
	// (Session.KeyThumbprint), which it returns.
	RemoveDesktopKey(ctx context.Context, userID, id string, at time.Time) (DesktopKey, []Session, error)
}
