// Package oauth holds the open platform's records (apps, their requests,
// codes, tokens) and the Store that keeps them; package oauth/provider
// implements OAuth 2.0 and OpenID Connect on them.
package oauth

import (
	"context"
	"time"
)

// Client is a registered app. Confidential clients authenticate with a
// secret, stored only as a hash; public ones (Public) must use PKCE.
type Client struct {
	ID           string
	Name         string
	SecretHash   []byte
	RedirectURIs []string
	Public       bool
	CreatedAt    time.Time
}

// Request is what an app asked for, tied to the ticket that shows the QR.
// An authorization request has a RedirectURI; a device grant has a UserCode
// and a DeviceCodeHash.
type Request struct {
	TicketID       string
	Ref            string // the ticket's first ref
	ClientID       string
	RedirectURI    string
	Scope          string
	State          string
	Nonce          string
	CodeChallenge  string // S256, base64url
	UserCode       string
	DeviceCodeHash []byte
	Interval       time.Duration // the device's polling interval
	LastPollAt     time.Time
	CreatedAt      time.Time
}

// Code is an authorization code, single-use, bound to the client, the
// redirect URI and the PKCE challenge. FamilyID names every token issued
// from it, so that a replay can revoke them all.
type Code struct {
	Hash          []byte
	ClientID      string
	UserID        string
	RedirectURI   string
	Scope         string
	Nonce         string
	CodeChallenge string
	FamilyID      string
	AuthTime      time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time
}

// Token kinds.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Token is an access or refresh token, stored only as a hash.
type Token struct {
	Hash      []byte
	Kind      string
	ClientID  string
	UserID    string
	Scope     string
	FamilyID  string
	AuthTime  time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
	CreatedAt time.Time
}

// Store persists the open platform's state. It returns server.ErrNotFound
// for a missing row and server.ErrConflict for a duplicate or a lost race.
type Store interface {
	CreateClient(ctx context.Context, c Client) error
	ClientByID(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client and revokes every token it holds.
	DeleteClient(ctx context.Context, id string) error

	CreateRequest(ctx context.Context, r Request) error
	RequestByTicket(ctx context.Context, ticketID string) (Request, error)
	RequestByUserCode(ctx context.Context, code string) (Request, error)
	RequestByDeviceCode(ctx context.Context, hash []byte) (Request, error)
	// PollDevice records a device's poll at at, in one transaction: if the
	// last poll was less than the interval before, it lengthens the interval
	// by slowDown and reports tooFast.
	PollDevice(ctx context.Context, ticketID string, at time.Time, slowDown time.Duration) (tooFast bool, err error)

	CreateCode(ctx context.Context, c Code) error
	// UseCode marks the code used at at and returns it; firstUse is false
	// when it had been used before (a replay), in which case nothing changes.
	UseCode(ctx context.Context, hash []byte, at time.Time) (c Code, firstUse bool, err error)

	CreateTokens(ctx context.Context, ts ...Token) error
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// RotateRefresh revokes the live refresh token old and stores next, in
	// one transaction; server.ErrConflict if old was already revoked (a
	// replayed refresh token).
	RotateRefresh(ctx context.Context, old []byte, at time.Time, next ...Token) error
	// RevokeFamily revokes every token of a family.
	RevokeFamily(ctx context.Context, familyID string, at time.Time) error

	// PurgeExpired removes, in one transaction, up to limit authorization
	// codes and up to limit tokens that expired before t and that replay
	// detection no longer needs, and returns how many it removed. Unused
	// codes, access tokens and unrevoked refresh tokens go once expired; a
	// used code or a revoked (rotated) refresh token stays while its family
	// has a live token (unrevoked, expiring at or after t), because
	// presenting it again must revoke that family.
	PurgeExpired(ctx context.Context, t time.Time, limit int) (int, error)

	// SigningKey returns the ID-token signing key (PEM), storing the one that
	// create makes if there is none yet; racing callers get the same key.
	SigningKey(ctx context.Context, create func() ([]byte, error)) ([]byte, error)
}
