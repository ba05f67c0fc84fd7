// Package oauth holds the open platform's records (apps, their requests,
// codes, tokens) and the Store that keeps them; package oauth/provider
// implements OAuth 2.0 and OpenID Connect on them.
package oauth

import (
	"context"
	"time"
)

// Client is a registered app. Confidential clients authenticate with a
// secret, stored only as a hash; public ones (Public) have none. Every
// client uses PKCE.
type Client struct {
	ID           string
	Name         string
	SecretHash   []byte
	RedirectURIs []string
	Public       bool
	// GrantTypes are the grants the app may use (GrantCode, GrantRefresh,
	// GrantDevice), in the order registered.
	GrantTypes []string
	// BackchannelLogoutURI, when set, is where the app is told that a grant
	// ended (OpenID Connect Back-Channel Logout 1.0).
	BackchannelLogoutURI string
	CreatedAt            time.Time
}

// Grant types, as the token endpoint and discovery name them.
const (
	GrantCode    = "authorization_code"
	GrantRefresh = "refresh_token"
	GrantDevice  = "urn:ietf:params:oauth:grant-type:device_code"
)

// Grant is one authorization a person gave an app from a phone: a login on
// a site, or a device's. Every code and token issued through it carries its
// ID as FamilyID, and revoking it revokes them all. DeviceID is the phone
// that approved it. ExpiresAt is when its last token (or its code) expires;
// a grant is live until then unless revoked.
type Grant struct {
	ID         string
	UserID     string
	ClientID   string
	DeviceID   string
	Scope      string
	CreatedAt  time.Time
	LastUsedAt time.Time // when tokens were last issued through it
	ExpiresAt  time.Time
	RevokedAt  time.Time
}

// GrantFilter selects the grants RevokeGrants revokes: those that match
// every field set, of ID, UserID and DeviceID (the grants that the phone
// DeviceID approved: that device or any other device of the same account
// and ClientID, the same phone's other logins, as server.Store.RevokeDevice
// counts them). At least one must be set.
type GrantFilter struct {
	ID       string
	UserID   string
	DeviceID string
}

// Logout is a back-channel logout waiting to be delivered: the app ClientID
// is to be told, at URI, that the person UserID's grant GrantID ended. The
// logout token is signed when it is sent. Attempts counts the deliveries
// tried; NextAt is when the next may start.
type Logout struct {
	ID        string
	ClientID  string
	URI       string
	UserID    string
	GrantID   string
	Attempts  int
	NextAt    time.Time
	CreatedAt time.Time
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
	// UpdateClient stores c's Name, RedirectURIs, GrantTypes and
	// BackchannelLogoutURI for the client c.ID (its secret, type and
	// creation time stay); server.ErrNotFound if there is none. Grants and
	// tokens already issued stay as they are.
	UpdateClient(ctx context.Context, c Client) error
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

	// CreateGrant stores a new grant. A DeviceID that names no live device
	// (revoked, or unknown) is server.ErrConflict and stores nothing; the
	// check and the insert are one atomic step against a racing
	// server.Store.RevokeDevice, so that a phone's logout followed by
	// RevokeGrants{DeviceID} leaves no grant of that phone behind. An empty
	// DeviceID (grants from before devices were recorded) is not checked.
	CreateGrant(ctx context.Context, g Grant) error
	// GrantByID returns a grant, live or not.
	GrantByID(ctx context.Context, id string) (Grant, error)
	// GrantsByUser returns the person's live grants at now (not revoked, and
	// now before ExpiresAt: a grant is expired at its ExpiresAt instant), the
	// most recently used first, ties by ID.
	GrantsByUser(ctx context.Context, userID string, now time.Time) ([]Grant, error)
	// RevokeGrants revokes, in one transaction, the live grants that f
	// selects, every token issued through them, and their unused codes; for
	// each such grant whose app has a BackchannelLogoutURI it queues a
	// Logout due at at. It returns the grants it revoked. A filter by ID
	// that selects no live grant is server.ErrNotFound.
	RevokeGrants(ctx context.Context, f GrantFilter, at time.Time) ([]Grant, error)

	// CreateTokens stores tokens issued through one live grant (their
	// FamilyID) and, in the same transaction, records that grant's use:
	// LastUsedAt becomes the tokens' CreatedAt and ExpiresAt moves out to
	// the latest of theirs. A revoked, expired or missing grant is
	// server.ErrConflict and nothing is stored.
	CreateTokens(ctx context.Context, ts ...Token) error
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// RotateRefresh revokes the live refresh token old and stores next as
	// CreateTokens does, in one transaction; server.ErrConflict if old was
	// already revoked (a replayed refresh token) or its grant is not live.
	RotateRefresh(ctx context.Context, old []byte, at time.Time, next ...Token) error
	// RevokeToken revokes one token (RFC 7009): nothing else of its grant.
	// An unknown or already revoked token is not an error.
	RevokeToken(ctx context.Context, hash []byte, at time.Time) error

	// ClaimLogouts takes the up to limit (> 0) logouts that have been due
	// longest at at (NextAt at or before at, earliest NextAt first), and
	// leases each of them: its Attempts grows by one and its NextAt moves to
	// at+lease, so that no other caller (on any node) claims it while it is
	// being delivered. It returns them by CreatedAt, the oldest first.
	ClaimLogouts(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]Logout, error)
	// RetryLogout makes a claimed logout due again at next. A logout that is
	// gone (another node settled it) is not an error.
	RetryLogout(ctx context.Context, id string, next time.Time) error
	// DeleteLogout removes a logout: delivered, or given up. A logout that
	// is gone is not an error.
	DeleteLogout(ctx context.Context, id string) error

	// PurgeExpired removes, in one transaction, up to limit authorization
	// codes, up to limit tokens and up to limit grants that expired before t
	// and that replay detection no longer needs, and returns how many it
	// removed. A grant goes once it expired and no code or token names it. Unused
	// codes, access tokens and unrevoked refresh tokens go once expired; a
	// used code or a revoked (rotated) refresh token stays while its family
	// has a live token (unrevoked, expiring at or after t), because
	// presenting it again must revoke that family.
	PurgeExpired(ctx context.Context, t time.Time, limit int) (int, error)

	// SigningKeys returns every stored signing key, by ActiveFrom, the
	// earliest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// InitSigningKeys returns SigningKeys, first storing the key that create
	// makes if there is none (a new database). Callers racing on a new
	// database, on any node sharing it, all get the one key stored, and
	// create runs once. An error from create is returned and stores nothing.
	InitSigningKeys(ctx context.Context, create func() (SigningKey, error)) ([]SigningKey, error)
	// AddSigningKey stores k (a rotation) and, in the same transaction,
	// retires every key not yet retired: their RetiredAt becomes
	// k.ActiveFrom. k must become active after every stored key: if one's
	// ActiveFrom is at or after k's, it is server.ErrConflict and nothing
	// changes.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// DropSigningKeys deletes the keys retired before t and returns how many
	// it deleted. The newest key, never retired, stays.
	DropSigningKeys(ctx context.Context, t time.Time) (int, error)
}
