package oauthtest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// Legacy is what a database held of the open platform before migration
// 005 (grants): a backend's migration test stores it with SQL into a
// database migrated up to 004, as the code of then stored it (no grant
// types, no back-channel logout URI, no grants), migrates it to the latest
// and checks it with CheckMigrated.
type Legacy struct {
	Users   []server.User
	Clients []oauth.Client
	Tokens  []oauth.Token
	Codes   []oauth.Code
	// Key is the one signing key of before (migration 006 keeps it).
	Key oauth.SigningKey
}

// legacyBase is when the legacy rows were made.
var legacyBase = time.Date(2029, 6, 1, 12, 0, 0, 0, time.UTC)

// LegacyData returns the rows of before: the apps site (with a redirect
// URI) and tv (public, without one); the token families fam-live (u1's
// login on site, its refresh token rotated once and live), fam-revoked
// (u2's on tv, every token revoked), fam-offline (a scope with
// offline_access already), fam-empty (an empty scope) and fam-access (an
// access token alone); and fam-code, a code of u1 on tv not yet
// exchanged.
func LegacyData() Legacy {
	at := func(d time.Duration) time.Time { return legacyBase.Add(d) }
	const day = 24 * time.Hour
	tok := func(name, kind, client, user, scope, family string, created, expires, revoked time.Duration) oauth.Token {
		k := oauth.Token{Hash: h(name), Kind: kind, ClientID: client, UserID: user, Scope: scope, FamilyID: family,
			AuthTime: legacyBase, ExpiresAt: at(expires), CreatedAt: at(created)}
		if revoked != 0 {
			k.RevokedAt = at(revoked)
		}
		return k
	}
	return Legacy{
		Users: []server.User{user("u1", "alice"), user("u2", "bob")},
		Clients: []oauth.Client{
			{ID: "site", Name: "Site", SecretHash: h("secret"), RedirectURIs: []string{"https://site.example/cb"}, CreatedAt: legacyBase},
			{ID: "tv", Name: "TV", Public: true, CreatedAt: at(time.Second)},
		},
		Tokens: []oauth.Token{
			tok("a1", oauth.KindAccess, "site", "u1", "openid profile", "fam-live", 0, time.Hour, 0),
			tok("r0", oauth.KindRefresh, "site", "u1", "openid profile", "fam-live", 0, 30*day, 10*time.Minute),
			tok("a2", oauth.KindAccess, "site", "u1", "openid profile", "fam-live", 10*time.Minute, time.Hour+10*time.Minute, 0),
			tok("r1", oauth.KindRefresh, "site", "u1", "openid profile", "fam-live", 10*time.Minute, 30*day+10*time.Minute, 0),
			tok("a3", oauth.KindAccess, "tv", "u2", "openid", "fam-revoked", 0, time.Hour, 5*time.Minute),
			tok("r3", oauth.KindRefresh, "tv", "u2", "openid", "fam-revoked", 0, 30*day, 6*time.Minute),
			tok("r4", oauth.KindRefresh, "site", "u1", "openid offline_access profile", "fam-offline", time.Minute, 30*day+time.Minute, 0),
			tok("r5", oauth.KindRefresh, "site", "u2", "", "fam-empty", 2*time.Minute, 30*day+2*time.Minute, 0),
			tok("a6", oauth.KindAccess, "site", "u2", "openid profile", "fam-access", 3*time.Minute, time.Hour+3*time.Minute, 0),
		},
		Codes: []oauth.Code{{Hash: h("k1"), ClientID: "tv", UserID: "u1", Scope: "openid", CodeChallenge: "cc", FamilyID: "fam-code",
			AuthTime: at(20 * time.Minute), ExpiresAt: at(21 * time.Minute)}},
		Key: oauth.SigningKey{PEM: []byte("legacy key"), CreatedAt: legacyBase},
	}
}

// CheckMigrated checks s, a database that held LegacyData and was then
// migrated to the latest: each token family, and the code's, is a grant
// of the family's person and app, without a device, made when its first
// token was, last used when its last one was, expiring with its last
// one, and revoked if all of its tokens are, when the last was; the
// refresh tokens, and the grants of the families that have one, have
// offline_access in their scope (once), and the refresh chain goes on;
// the access tokens keep their scope; every app may use every grant, as it
// could before; the key signs on.
func CheckMigrated(t *testing.T, s OAuthAndCoreStore) {
	at := func(d time.Duration) time.Time { return legacyBase.Add(d) }
	const day = 24 * time.Hour
	for _, want := range []oauth.Grant{
		{ID: "fam-live", UserID: "u1", ClientID: "site", Scope: "openid profile offline_access",
			CreatedAt: legacyBase, LastUsedAt: at(10 * time.Minute), ExpiresAt: at(30*day + 10*time.Minute)},
		{ID: "fam-revoked", UserID: "u2", ClientID: "tv", Scope: "openid offline_access",
			CreatedAt: legacyBase, LastUsedAt: legacyBase, ExpiresAt: at(30 * day), RevokedAt: at(6 * time.Minute)},
		{ID: "fam-offline", UserID: "u1", ClientID: "site", Scope: "openid offline_access profile",
			CreatedAt: at(time.Minute), LastUsedAt: at(time.Minute), ExpiresAt: at(30*day + time.Minute)},
		{ID: "fam-empty", UserID: "u2", ClientID: "site", Scope: "offline_access",
			CreatedAt: at(2 * time.Minute), LastUsedAt: at(2 * time.Minute), ExpiresAt: at(30*day + 2*time.Minute)},
		{ID: "fam-access", UserID: "u2", ClientID: "site", Scope: "openid profile",
			CreatedAt: at(3 * time.Minute), LastUsedAt: at(3 * time.Minute), ExpiresAt: at(time.Hour + 3*time.Minute)},
		{ID: "fam-code", UserID: "u1", ClientID: "tv", Scope: "openid",
			CreatedAt: at(20 * time.Minute), LastUsedAt: at(20 * time.Minute), ExpiresAt: at(21 * time.Minute)},
	} {
		got, err := s.GrantByID(ctx, want.ID)
		must(t, "GrantByID "+want.ID, err)
		same(t, "grant "+want.ID, got, want)
	}
	if gs, err := s.GrantsByUser(ctx, "u1", at(15*time.Minute)); err != nil || !slices.Equal(grantIDs(gs), []string{"fam-code", "fam-live", "fam-offline"}) {
		t.Errorf("u1's live grants: %q %v, want fam-code, fam-live, fam-offline", grantIDs(gs), err)
	}

	for name, want := range map[string]string{
		"r0": "openid profile offline_access", "r1": "openid profile offline_access", "r3": "openid offline_access",
		"r4": "openid offline_access profile", "r5": "offline_access",
		"a1": "openid profile", "a2": "openid profile", "a3": "openid", "a6": "openid profile",
	} {
		if k := getToken(t, s, name); k.Scope != want {
			t.Errorf("token %s: scope %q, want %q", name, k.Scope, want)
		}
	}
	// The chain goes on: r1 rotates through its grant.
	r7 := oauth.Token{Hash: h("r7"), Kind: oauth.KindRefresh, ClientID: "site", UserID: "u1", Scope: "openid profile offline_access",
		FamilyID: "fam-live", AuthTime: legacyBase, ExpiresAt: at(31 * day), CreatedAt: at(20 * time.Minute)}
	must(t, "RotateRefresh of the refresh token of before", s.RotateRefresh(ctx, h("r1"), at(20*time.Minute), r7))

	for _, c := range LegacyData().Clients {
		want := c
		want.GrantTypes = []string{oauth.GrantCode, oauth.GrantRefresh, oauth.GrantDevice}
		got, err := s.ClientByID(ctx, c.ID)
		must(t, "ClientByID "+c.ID, err)
		same(t, "client "+c.ID, got, want)
	}

	ks, err := s.SigningKeys(ctx)
	must(t, "SigningKeys", err)
	if len(ks) != 1 || !bytes.Equal(ks[0].PEM, []byte("legacy key")) || !ks[0].ActiveFrom.Equal(legacyBase) || !ks[0].RetiredAt.IsZero() {
		t.Errorf("the signing keys: %+v, want the key of before, active since it was made", ks)
	}
}
