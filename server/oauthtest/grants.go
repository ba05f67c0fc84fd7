package oauthtest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// The suite's tests of grants (their use, their revocation) and of the
// back-channel logouts that revoking them queues.

func grantIDs(gs []oauth.Grant) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// byID returns the grants sorted by ID: RevokeGrants returns them in no
// set order.
func byID(gs []oauth.Grant) []oauth.Grant {
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b oauth.Grant) int { return strings.Compare(a.ID, b.ID) })
	return gs
}

// sameGrants checks that got are the grants want, in that order.
func sameGrants(t *testing.T, what string, got []oauth.Grant, want ...oauth.Grant) {
	t.Helper()
	if !slices.Equal(grantIDs(got), grantIDs(want)) {
		t.Errorf("%s: grants %q, want %q", what, grantIDs(got), grantIDs(want))
		return
	}
	for i := range got {
		same(t, what+": grant "+want[i].ID, got[i], want[i])
	}
}

// grantRevokedAt checks when the grant id was revoked (zero: it was not).
func grantRevokedAt(t *testing.T, s OAuthAndCoreStore, id string, want time.Time) {
	t.Helper()
	g, err := s.GrantByID(ctx, id)
	must(t, "GrantByID "+id, err)
	checkTime(t, "grant "+id+" revoked at", g.RevokedAt, want)
}

// CreateGrant stores a grant as given, and a taken id is a conflict that
// changes nothing. GrantByID finds a grant, live or not. GrantsByUser lists
// the person's live grants, the most recently used first: not revoked
// ones, not expired ones (one expires at its ExpiresAt), not another
// person's.
func testGrants(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0), public("c2", t0))
	must(t, "CreateUser u2", s.CreateUser(ctx, user("u2", "bob")))
	must(t, "CreateDevice d2", s.CreateDevice(ctx, device("d2", "u1", "p2")))
	mk := func(id, clientID string, lastUsed, expires time.Duration) oauth.Grant {
		g := grant(id, clientID)
		g.LastUsedAt, g.ExpiresAt = t0.Add(lastUsed), t0.Add(expires)
		return g
	}
	now := t0.Add(5 * time.Minute)
	ga := mk("ga", "c1", 3*time.Minute, time.Hour)
	gb := mk("gb", "c2", time.Minute, time.Hour)
	gc := mk("gc", "c1", 2*time.Minute, time.Hour)
	gc.DeviceID, gc.Scope = "d2", "openid"
	gd := mk("gd", "c1", 4*time.Minute, time.Hour)
	gd.RevokedAt = t0.Add(4 * time.Minute)
	ge := mk("ge", "c1", 4*time.Minute, 5*time.Minute-time.Microsecond) // expired just before now
	gf := mk("gf", "c1", 0, 5*time.Minute)                              // expires at now
	gu := mk("gu", "c1", 5*time.Minute, time.Hour)
	gu.UserID = "u2"
	all := []oauth.Grant{ga, gb, gc, gd, ge, gf, gu}
	for _, g := range all {
		must(t, "CreateGrant "+g.ID, s.CreateGrant(ctx, g))
	}
	wantCode(t, "CreateGrant of a taken id", s.CreateGrant(ctx, grant("ga", "c2")), server.ErrConflict)
	for _, want := range all {
		got, err := s.GrantByID(ctx, want.ID)
		must(t, "GrantByID "+want.ID, err)
		same(t, "grant "+want.ID, got, want)
	}
	_, err := s.GrantByID(ctx, "nope")
	wantCode(t, "GrantByID(unknown)", err, server.ErrNotFound)

	list := func(userID string, at time.Time, want ...oauth.Grant) {
		t.Helper()
		got, err := s.GrantsByUser(ctx, userID, at)
		must(t, "GrantsByUser", err)
		sameGrants(t, fmt.Sprintf("GrantsByUser(%s, %v)", userID, at), got, want...)
	}
	list("u1", now, ga, gc, gb)
	list("u1", now.Add(-time.Microsecond), ga, gc, gb, gf)
	list("u1", t0, ge, ga, gc, gb, gf)
	list("u2", now, gu)
	list("nobody", now)
}

// CreateGrant stores a grant only from a live device: one that is
// unknown, logged out (RevokeDevice), or an earlier login of a phone that
// has logged in again is a conflict that stores nothing. A grant without
// a device (from before grants had phones) is not checked.
func testCreateGrantDevice(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	for _, d := range []server.Device{device("d2", "u1", "p2"), device("d4", "u1", "p4")} {
		must(t, "CreateDevice "+d.ID, s.CreateDevice(ctx, d))
	}
	_, _, err := s.RevokeDevice(ctx, "d2", t0) // p2 logged out
	must(t, "RevokeDevice d2", err)
	must(t, "CreateDevice d4b", s.CreateDevice(ctx, device("d4b", "u1", "p4"))) // p4 logged in again: d4 is logged out
	mk := func(id, device string) oauth.Grant {
		g := grant(id, "c1")
		g.DeviceID = device
		return g
	}
	for _, g := range []oauth.Grant{mk("g1", "nope"), mk("g2", "d2"), mk("g3", "d4")} {
		wantCode(t, "CreateGrant from "+g.DeviceID, s.CreateGrant(ctx, g), server.ErrConflict)
		_, err := s.GrantByID(ctx, g.ID)
		wantCode(t, "GrantByID of the refused "+g.ID, err, server.ErrNotFound)
	}
	for _, g := range []oauth.Grant{mk("g4", "d1"), mk("g5", "d4b"), mk("g6", "")} {
		must(t, "CreateGrant from "+g.DeviceID, s.CreateGrant(ctx, g))
		got, err := s.GrantByID(ctx, g.ID)
		must(t, "GrantByID "+g.ID, err)
		same(t, "grant "+g.ID, got, g)
	}
	// A taken id from a logged-out phone: a conflict too, and the grant
	// stays as it was.
	wantCode(t, "CreateGrant of a taken id from d2", s.CreateGrant(ctx, mk("g4", "d2")), server.ErrConflict)
	if g, err := s.GrantByID(ctx, "g4"); err != nil || g.DeviceID != "d1" {
		t.Errorf("g4 after the refused duplicate: %+v %v", g, err)
	}
	if gs, err := s.GrantsByUser(ctx, "u1", t0); err != nil || !slices.Equal(grantIDs(gs), []string{"g4", "g5", "g6"}) {
		t.Errorf("GrantsByUser: %q %v, want g4 g5 g6", grantIDs(gs), err)
	}
}

// A phone logs out (RevokeDevice, then RevokeGrants of the phone) while
// logins it confirmed are being turned into grants: each CreateGrant
// stores its grant or is a conflict, and once the logout is done no grant
// of the phone is live, whichever way each went.
//
// A store that checks the device and then inserts, not atomically, fails
// when a grant's check comes before RevokeDevice and its insert after
// RevokeGrants. The grants' scope, 64 KiB that do not compress, keeps each
// insert in flight long enough for that to happen in most rounds.
func testCreateGrantRace(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	const tries = 5 // each login racer's grants, at most
	var scope strings.Builder
	scope.WriteString("openid")
	for i := 0; scope.Len() < 64<<10; i++ {
		fmt.Fprintf(&scope, " %x", h(fmt.Sprint(i)))
	}
	logout := t0.Add(30 * time.Second)
	for round := range rounds {
		dev := fmt.Sprint("d-", round)
		must(t, "CreateDevice "+dev, s.CreateDevice(ctx, device(dev, "u1", fmt.Sprint("p-", round))))
		var started, stored atomic.Int32
		race(t, s, func(i int) {
			if i == 0 {
				// The logout, once every other racer has tried once.
				for started.Load() < racers-1 {
					runtime.Gosched()
				}
				if _, _, err := s.RevokeDevice(ctx, dev, logout); err != nil {
					t.Errorf("racing RevokeDevice: %v", err)
				}
				if _, err := s.RevokeGrants(ctx, oauth.GrantFilter{DeviceID: dev}, logout); err != nil {
					t.Errorf("racing RevokeGrants: %v", err)
				}
				return
			}
			for n := range tries {
				g := grant(fmt.Sprintf("g-%d-%d-%d", round, i, n), "c1")
				g.DeviceID, g.Scope = dev, scope.String()
				err := s.CreateGrant(ctx, g)
				if n == 0 {
					started.Add(1)
				}
				switch {
				case err == nil:
					stored.Add(1)
				case errors.Is(err, server.ErrConflict):
					return // logged out: so is every later try
				default:
					t.Errorf("racing CreateGrant %s: %v, want it stored or a conflict", g.ID, err)
					return
				}
			}
		})
		gs, err := s.GrantsByUser(ctx, "u1", t0)
		must(t, "GrantsByUser", err)
		for _, g := range gs {
			if g.DeviceID == dev {
				t.Errorf("round %d: grant %s of the logged-out phone is live", round, g.ID)
			}
		}
		late := grant(fmt.Sprint("late-", round), "c1")
		late.DeviceID = dev
		wantCode(t, "CreateGrant after the logout", s.CreateGrant(ctx, late), server.ErrConflict)
		t.Logf("round %d: %d of %d grants stored before the logout", round, stored.Load(), (racers-1)*tries)
	}
}

// CreateTokens and RotateRefresh issue tokens only through a live grant:
// through a revoked, expired or missing one they are a conflict that
// stores nothing and changes nothing. Each issue records the grant's use:
// LastUsedAt becomes the tokens' CreatedAt, and ExpiresAt moves out to
// their latest expiry, never in.
func testGrantUse(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	grants(t, s, "c1", "g1", "g2", "g3") // each expires at t0+1m
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	issued := func(name, kind, family string, created, expires time.Duration) oauth.Token {
		tk := token(name, kind, "c1", family)
		tk.CreatedAt, tk.ExpiresAt = at(created), at(expires)
		return tk
	}
	used := func(id string, lastUsed, expires time.Time) {
		t.Helper()
		g, err := s.GrantByID(ctx, id)
		must(t, "GrantByID "+id, err)
		checkTime(t, id+" last used", g.LastUsedAt, lastUsed)
		checkTime(t, id+" expires", g.ExpiresAt, expires)
	}
	const day = 24 * time.Hour

	// g1: a login, its tokens issued 30 s after the code.
	must(t, "CreateTokens", s.CreateTokens(ctx,
		issued("a1", oauth.KindAccess, "g1", 30*time.Second, time.Hour), issued("r1", oauth.KindRefresh, "g1", 30*time.Second, 30*day)))
	used("g1", at(30*time.Second), at(30*day))
	// A token that expires sooner moves the use, not the expiry.
	must(t, "CreateTokens", s.CreateTokens(ctx, issued("a2", oauth.KindAccess, "g1", 40*time.Second, time.Hour)))
	used("g1", at(40*time.Second), at(30*day))
	// A rotation records it too.
	must(t, "RotateRefresh", s.RotateRefresh(ctx, h("r1"), at(50*time.Second),
		issued("a3", oauth.KindAccess, "g1", 50*time.Second, time.Hour), issued("r3", oauth.KindRefresh, "g1", 50*time.Second, 31*day)))
	used("g1", at(50*time.Second), at(31*day))

	// A grant that does not exist.
	wantCode(t, "CreateTokens through a missing grant", s.CreateTokens(ctx, issued("x1", oauth.KindAccess, "nope", time.Minute, time.Hour)),
		server.ErrConflict)
	tokenGone(t, s, "x1")
	wantCode(t, "RotateRefresh to a missing grant", s.RotateRefresh(ctx, h("r3"), at(time.Minute),
		issued("x2", oauth.KindAccess, "nope", time.Minute, time.Hour)), server.ErrConflict)
	tokenGone(t, s, "x2")
	revokedAt(t, s, "r3", time.Time{})
	used("g1", at(50*time.Second), at(31*day))

	// g2 expires at t0+1m: it is live until then, not at that instant.
	wantCode(t, "CreateTokens through an expired grant", s.CreateTokens(ctx, issued("x3", oauth.KindAccess, "g2", time.Minute, 2*time.Hour)),
		server.ErrConflict)
	tokenGone(t, s, "x3")
	used("g2", t0, at(time.Minute))
	must(t, "CreateTokens just before the grant expires", s.CreateTokens(ctx, issued("r4", oauth.KindRefresh, "g2", time.Minute-time.Microsecond, time.Hour)))
	used("g2", at(time.Minute-time.Microsecond), at(time.Hour))
	// Its refresh token, presented once the grant expired: old stays live.
	wantCode(t, "RotateRefresh in an expired grant", s.RotateRefresh(ctx, h("r4"), at(2*time.Hour),
		issued("x4", oauth.KindAccess, "g2", 2*time.Hour, 3*time.Hour)), server.ErrConflict)
	tokenGone(t, s, "x4")
	revokedAt(t, s, "r4", time.Time{})
	used("g2", at(time.Minute-time.Microsecond), at(time.Hour))

	// g3, revoked before any token.
	_, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: "g3"}, at(10*time.Second))
	must(t, "RevokeGrants", err)
	wantCode(t, "CreateTokens through a revoked grant", s.CreateTokens(ctx, issued("x5", oauth.KindAccess, "g3", 20*time.Second, time.Hour)),
		server.ErrConflict)
	tokenGone(t, s, "x5")
	used("g3", t0, at(time.Minute))
}

// RevokeGrants revokes the live grants that its filter selects: by ID
// (and, with UserID set too, only if it is that person's), by person or by
// phone (every login of it); with them every token issued through them (a
// token revoked before keeps its time) and their unused codes, which
// UseCode then reports as used. It queues a logout for each grant whose
// app has a BackchannelLogoutURI, and returns the grants it revoked.
// Nothing else changes.
func testRevokeGrants(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0), public("c2", t0))
	must(t, "CreateUser u2", s.CreateUser(ctx, user("u2", "bob")))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// u1's phone p1 logged in twice (seed's d1, then d1b), and u1's p2 once
	// (d2); u2's p3 once (d3).
	for _, d := range []server.Device{device("d2", "u1", "p2"), device("d3", "u2", "p3")} {
		must(t, "CreateDevice "+d.ID, s.CreateDevice(ctx, d))
	}
	// u1's grants: from p1, g1 (to c1) and g2 (to c2) through d1, g6 (to
	// c1) through d1b, and g5, which expires unused at t0+1m; from p2, g3
	// (to c1); g7 (to c2), from before grants had phones. u2's g4, from p3.
	// Those of d1 are made before d1b's login, which logs d1 out.
	made := map[string]oauth.Grant{}
	mk := func(id, client, user, device string) {
		t.Helper()
		g := grant(id, client)
		g.UserID, g.DeviceID = user, device
		must(t, "CreateGrant "+id, s.CreateGrant(ctx, g))
		if id != "g5" {
			tk := token("a"+id[1:], oauth.KindAccess, client, id)
			tk.UserID = user
			must(t, "CreateTokens "+id, s.CreateTokens(ctx, tk))
			g.ExpiresAt = tk.ExpiresAt
		}
		made[id] = g
	}
	mk("g1", "c1", "u1", "d1")
	mk("g2", "c2", "u1", "d1")
	mk("g3", "c1", "u1", "d2")
	mk("g4", "c1", "u2", "d3")
	mk("g5", "c1", "u1", "d1")
	mk("g7", "c2", "u1", "")
	must(t, "CreateDevice d1b", s.CreateDevice(ctx, device("d1b", "u1", "p1")))
	mk("g6", "c1", "u1", "d1b")
	revokedGrant := func(id string, when time.Time) oauth.Grant {
		g := made[id]
		g.RevokedAt = when
		return g
	}
	x1 := token("x1", oauth.KindRefresh, "c1", "g1")
	x1.RevokedAt = at(5 * time.Second)
	must(t, "CreateTokens g1", s.CreateTokens(ctx, token("r1", oauth.KindRefresh, "c1", "g1"), x1))
	must(t, "CreateCode k0", s.CreateCode(ctx, code("k0", "c1", "g1")))
	_, _, err := s.UseCode(ctx, h("k0"), at(time.Second))
	must(t, "UseCode k0", err)
	must(t, "CreateCode k1", s.CreateCode(ctx, code("k1", "c1", "g1")))
	must(t, "CreateCode k2", s.CreateCode(ctx, code("k2", "c2", "g2")))
	live := func(names ...string) {
		t.Helper()
		for _, n := range names {
			revokedAt(t, s, n, time.Time{})
		}
	}
	usedAt := func(name string, want time.Time) {
		t.Helper()
		c, first, err := s.UseCode(ctx, h(name), at(2*time.Hour))
		if err != nil || first || c.FamilyID == "" {
			t.Errorf("UseCode(%s) after its grant's revocation: %+v, first %v, %v; want it reported, used", name, c, first, err)
		}
		checkTime(t, name+" used at", c.UsedAt, want)
	}

	// Another person's grant, by ID: not found, and nothing changes.
	t1 := at(10 * time.Minute)
	_, err = s.RevokeGrants(ctx, oauth.GrantFilter{ID: "g1", UserID: "u2"}, t1)
	wantCode(t, "RevokeGrants of another person's grant", err, server.ErrNotFound)
	grantRevokedAt(t, s, "g1", time.Time{})
	live("a1", "r1")

	// By ID, the person's own.
	got, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: "g1", UserID: "u1"}, t1)
	must(t, "RevokeGrants g1", err)
	sameGrants(t, "RevokeGrants g1", got, revokedGrant("g1", t1))
	grantRevokedAt(t, s, "g1", t1)
	revokedAt(t, s, "a1", t1)
	revokedAt(t, s, "r1", t1)
	revokedAt(t, s, "x1", at(5*time.Second))
	live("a2", "a3", "a4", "a6", "a7")
	usedAt("k1", t1)              // unused: now used, a replay
	usedAt("k0", at(time.Second)) // used before: kept
	// Nothing more is issued through it.
	a9 := token("a9", oauth.KindAccess, "c1", "g1")
	a9.CreatedAt = t1
	wantCode(t, "CreateTokens through the revoked grant", s.CreateTokens(ctx, a9), server.ErrConflict)
	tokenGone(t, s, "a9")
	wantCode(t, "RotateRefresh in the revoked grant", s.RotateRefresh(ctx, h("r1"), t1, a9), server.ErrConflict)
	tokenGone(t, s, "a9")

	// A grant that is not live, by ID: not found.
	for _, id := range []string{"g1", "g5", "nope"} { // revoked, expired, missing
		got, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: id}, at(11*time.Minute))
		wantCode(t, "RevokeGrants of "+id, err, server.ErrNotFound)
		if len(got) != 0 {
			t.Errorf("RevokeGrants of %s returned %q", id, grantIDs(got))
		}
	}
	grantRevokedAt(t, s, "g1", t1)
	grantRevokedAt(t, s, "g5", time.Time{})

	// By phone: p2's g3, and only it.
	t2 := at(20 * time.Minute)
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{DeviceID: "d2"}, t2)
	must(t, "RevokeGrants of d2", err)
	sameGrants(t, "RevokeGrants of d2", got, revokedGrant("g3", t2))
	revokedAt(t, s, "a3", t2)
	live("a2", "a4", "a6", "a7")
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{DeviceID: "d9"}, t2)
	if err != nil || len(got) != 0 {
		t.Errorf("RevokeGrants of an unknown phone: %q %v, want none", grantIDs(got), err)
	}
	// p1 by its later login: the grants of both of its logins that are
	// still live, g2 and g6 (not g5, expired).
	t3 := at(25 * time.Minute)
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{DeviceID: "d1b"}, t3)
	must(t, "RevokeGrants of d1b", err)
	sameGrants(t, "RevokeGrants of d1b", byID(got), revokedGrant("g2", t3), revokedGrant("g6", t3))
	revokedAt(t, s, "a2", t3)
	revokedAt(t, s, "a6", t3)
	usedAt("k2", t3)
	live("a4", "a7")
	grantRevokedAt(t, s, "g5", time.Time{})

	// By person: u1's live grant left is g7.
	t4 := at(30 * time.Minute)
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{UserID: "u1"}, t4)
	must(t, "RevokeGrants of u1", err)
	sameGrants(t, "RevokeGrants of u1", byID(got), revokedGrant("g7", t4))
	revokedAt(t, s, "a7", t4)
	live("a4")
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{UserID: "u1"}, t4)
	if err != nil || len(got) != 0 {
		t.Errorf("RevokeGrants of u1 again: %q %v, want none", grantIDs(got), err)
	}
	// A filter that selects nothing is refused, and revokes nothing.
	if got, err := s.RevokeGrants(ctx, oauth.GrantFilter{}, t4); err == nil || len(got) != 0 {
		t.Errorf("RevokeGrants with an empty filter: %q %v, want an error", grantIDs(got), err)
	}
	live("a4")
	if gs, err := s.GrantsByUser(ctx, "u2", t4); err != nil || len(gs) != 1 || gs[0].ID != "g4" {
		t.Errorf("u2's grants: %q %v, want g4", grantIDs(gs), err)
	}
	grantRevokedAt(t, s, "g5", time.Time{})

	// A logout for each revoked grant of c1, which has a
	// BackchannelLogoutURI (g1, g3, g6), none for c2's (g2, g7).
	ls, err := s.ClaimLogouts(ctx, at(time.Hour), time.Minute, 10)
	must(t, "ClaimLogouts", err)
	if len(ls) != 3 {
		t.Fatalf("ClaimLogouts: %+v, want the logouts of g1, g3 and g6", ls)
	}
	for i, want := range []oauth.Logout{
		{ClientID: "c1", URI: "https://c1.example/logout", UserID: "u1", GrantID: "g1", Attempts: 1, NextAt: at(time.Hour + time.Minute), CreatedAt: t1},
		{ClientID: "c1", URI: "https://c1.example/logout", UserID: "u1", GrantID: "g3", Attempts: 1, NextAt: at(time.Hour + time.Minute), CreatedAt: t2},
		{ClientID: "c1", URI: "https://c1.example/logout", UserID: "u1", GrantID: "g6", Attempts: 1, NextAt: at(time.Hour + time.Minute), CreatedAt: t3},
	} {
		want.ID = ls[i].ID
		same(t, fmt.Sprint("logout ", i), ls[i], want)
	}
	if ids := []string{ls[0].ID, ls[1].ID, ls[2].ID}; slices.Contains(ids, "") || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 3 {
		t.Errorf("logout IDs %q, want three", ids)
	}
}

// RevokeGrants's filter selects the live grants that match every field it
// sets: ID and DeviceID, the grant only if it is of that phone (else not
// found, and nothing changes); UserID and DeviceID, the person's grants of
// that phone, not the person's others.
func testRevokeGrantsFilters(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	must(t, "CreateUser u2", s.CreateUser(ctx, user("u2", "bob")))
	for _, d := range []server.Device{device("d2", "u1", "p2"), device("d3", "u2", "p3")} {
		must(t, "CreateDevice "+d.ID, s.CreateDevice(ctx, d))
	}
	// u1's h1 from p1's first login (d1), h2 from its second (d1b), h3 from
	// p2, h5 from no phone; u2's h4 from p3. Each has an access token.
	mk := func(id, user, device string) {
		t.Helper()
		g := grant(id, "c1")
		g.UserID, g.DeviceID = user, device
		must(t, "CreateGrant "+id, s.CreateGrant(ctx, g))
		tk := token("a-"+id, oauth.KindAccess, "c1", id)
		tk.UserID = user
		must(t, "CreateTokens "+id, s.CreateTokens(ctx, tk))
	}
	mk("h1", "u1", "d1")
	mk("h3", "u1", "d2")
	mk("h4", "u2", "d3")
	mk("h5", "u1", "")
	must(t, "CreateDevice d1b", s.CreateDevice(ctx, device("d1b", "u1", "p1")))
	mk("h2", "u1", "d1b")
	live := func(want ...string) {
		t.Helper()
		var got []string
		for _, u := range []string{"u1", "u2"} {
			gs, err := s.GrantsByUser(ctx, u, t0)
			must(t, "GrantsByUser "+u, err)
			got = append(got, grantIDs(gs)...)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("live grants %q, want %q", got, want)
		}
		for _, id := range want {
			revokedAt(t, s, "a-"+id, time.Time{})
		}
	}
	t1 := t0.Add(10 * time.Second)

	// ID with a phone, or a person and a phone, that are not the grant's.
	for _, f := range []oauth.GrantFilter{{ID: "h1", DeviceID: "d2"}, {ID: "h1", DeviceID: "d3"}, {ID: "h1", DeviceID: "nope"},
		{ID: "h1", UserID: "u1", DeviceID: "d2"}, {ID: "h1", UserID: "u2", DeviceID: "d1"}} {
		got, err := s.RevokeGrants(ctx, f, t1)
		wantCode(t, fmt.Sprintf("RevokeGrants(%+v)", f), err, server.ErrNotFound)
		if len(got) != 0 {
			t.Errorf("RevokeGrants(%+v) returned %q", f, grantIDs(got))
		}
	}
	// A person with a phone that is not theirs: none, and no error.
	for _, f := range []oauth.GrantFilter{{UserID: "u2", DeviceID: "d1b"}, {UserID: "u1", DeviceID: "d3"}} {
		if got, err := s.RevokeGrants(ctx, f, t1); err != nil || len(got) != 0 {
			t.Errorf("RevokeGrants(%+v): %q %v, want none", f, grantIDs(got), err)
		}
	}
	live("h1", "h2", "h3", "h4", "h5")

	// h1 by its phone's later login.
	got, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: "h1", DeviceID: "d1b"}, t1)
	must(t, "RevokeGrants h1 of d1b", err)
	if !slices.Equal(grantIDs(got), []string{"h1"}) {
		t.Errorf("RevokeGrants h1 of d1b: %q, want h1", grantIDs(got))
	}
	live("h2", "h3", "h4", "h5")
	revokedAt(t, s, "a-h1", t1)
	// u1's grants of p1, by its earlier login: h2, not u1's others.
	t2 := t0.Add(20 * time.Second)
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{UserID: "u1", DeviceID: "d1"}, t2)
	must(t, "RevokeGrants of u1 and d1", err)
	if !slices.Equal(grantIDs(got), []string{"h2"}) {
		t.Errorf("RevokeGrants of u1 and d1: %q, want h2", grantIDs(got))
	}
	live("h3", "h4", "h5")
	revokedAt(t, s, "a-h2", t2)
	// All three fields.
	got, err = s.RevokeGrants(ctx, oauth.GrantFilter{ID: "h3", UserID: "u1", DeviceID: "d2"}, t2)
	must(t, "RevokeGrants of h3, u1 and d2", err)
	if !slices.Equal(grantIDs(got), []string{"h3"}) {
		t.Errorf("RevokeGrants of h3, u1 and d2: %q, want h3", grantIDs(got))
	}
	live("h4", "h5")
}

// Racing revocations of one grant, rotations of its refresh token and
// issues through it: one revocation wins, at most one rotation does, and
// whatever ran first, no live token is left under the revoked grant.
func testRevokeGrantsRace(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	for round := range rounds {
		id, old := fmt.Sprint("g", round), fmt.Sprint("r", round)
		grants(t, s, "c1", id)
		must(t, "CreateTokens", s.CreateTokens(ctx, token(old, oauth.KindRefresh, "c1", id)))
		name := func(kind string, i int) string { return fmt.Sprintf("%s-%d-%d", kind, round, i) }
		var revokes, rotations atomic.Int32
		race(t, s, func(i int) {
			when := t0.Add(time.Duration(i+1) * time.Second)
			next := func(kind string) oauth.Token {
				tk := token(name(kind, i), kind, "c1", id)
				tk.CreatedAt = when
				return tk
			}
			switch i % 3 {
			case 0:
				gs, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: id}, when)
				switch {
				case err == nil && len(gs) == 1:
					revokes.Add(1)
				case !errors.Is(err, server.ErrNotFound):
					t.Errorf("racing revocation %d: %q %v, want the grant or not_found", i, grantIDs(gs), err)
				}
			case 1:
				err := s.RotateRefresh(ctx, h(old), when, next(oauth.KindAccess), next(oauth.KindRefresh))
				switch {
				case err == nil:
					rotations.Add(1)
				case !errors.Is(err, server.ErrConflict):
					t.Errorf("racing rotation %d: %v, want conflict", i, err)
				}
			case 2:
				if err := s.CreateTokens(ctx, next(oauth.KindAccess)); err != nil && !errors.Is(err, server.ErrConflict) {
					t.Errorf("racing issue %d: %v, want conflict", i, err)
				}
			}
		})
		if n := revokes.Load(); n != 1 {
			t.Errorf("round %d: %d racing revocations revoked the grant, want 1", round, n)
		}
		if n := rotations.Load(); n > 1 {
			t.Errorf("round %d: %d racing rotations succeeded, want at most 1", round, n)
		}
		if g, err := s.GrantByID(ctx, id); err != nil || g.RevokedAt.IsZero() {
			t.Fatalf("round %d: the grant after the race: %+v %v, want it revoked", round, g, err)
		}
		names := []string{old}
		for i := range racers {
			names = append(names, name(oauth.KindAccess, i), name(oauth.KindRefresh, i))
		}
		for _, n := range names {
			tk, err := s.TokenByHash(ctx, h(n))
			switch {
			case errors.Is(err, server.ErrNotFound):
			case err != nil:
				t.Errorf("TokenByHash(%s): %v", n, err)
			case tk.RevokedAt.IsZero():
				t.Errorf("round %d: token %s is live under the revoked grant", round, n)
			}
		}
	}
}

// RevokeToken revokes one token and nothing else of its grant: not the
// grant, nor its other tokens, and it queues no logout. An unknown token,
// or one revoked before (which keeps its time), is no error.
func testRevokeToken(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	grants(t, s, "c1", "g1")
	x1 := token("x1", oauth.KindRefresh, "c1", "g1")
	x1.RevokedAt = t0.Add(5 * time.Second)
	must(t, "CreateTokens", s.CreateTokens(ctx, token("a1", oauth.KindAccess, "c1", "g1"), token("r1", oauth.KindRefresh, "c1", "g1"), x1))
	t1 := t0.Add(time.Minute)
	must(t, "RevokeToken a1", s.RevokeToken(ctx, h("a1"), t1))
	revokedAt(t, s, "a1", t1)
	revokedAt(t, s, "r1", time.Time{})
	must(t, "RevokeToken r1", s.RevokeToken(ctx, h("r1"), t1))
	revokedAt(t, s, "r1", t1)
	wantCode(t, "RotateRefresh of a revoked token", s.RotateRefresh(ctx, h("r1"), t1, token("a9", oauth.KindAccess, "c1", "g1")), server.ErrConflict)
	tokenGone(t, s, "a9")
	must(t, "RevokeToken a1 again", s.RevokeToken(ctx, h("a1"), t1.Add(time.Minute)))
	revokedAt(t, s, "a1", t1)
	must(t, "RevokeToken x1", s.RevokeToken(ctx, h("x1"), t1))
	revokedAt(t, s, "x1", t0.Add(5*time.Second))
	for _, k := range [][]byte{h("nope"), nil, {}} {
		must(t, fmt.Sprintf("RevokeToken(%x)", k), s.RevokeToken(ctx, k, t1))
	}

	// The grant is live, and issues tokens still.
	if gs, err := s.GrantsByUser(ctx, "u1", t1); err != nil || len(gs) != 1 || !gs[0].RevokedAt.IsZero() {
		t.Errorf("the grant after RevokeToken: %+v %v, want it live", gs, err)
	}
	must(t, "CreateTokens after RevokeToken", s.CreateTokens(ctx, token("a2", oauth.KindAccess, "c1", "g1")))
	if ls, err := s.ClaimLogouts(ctx, t1.Add(time.Hour), time.Minute, 10); err != nil || len(ls) != 0 {
		t.Errorf("ClaimLogouts after RevokeToken: %+v %v, want none", ls, err)
	}
}

// ClaimLogouts claims the logouts due, up to its limit the earliest due,
// returns them the oldest (by CreatedAt) first, and leases them: each counts one more attempt, and is due
// again only once the lease ends, or when RetryLogout says. DeleteLogout
// removes one for good. Settling a logout no longer stored is no error.
func testClaimLogouts(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	grants(t, s, "c1", "g1", "g2", "g3")
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// Each grant revoked a second after the one before: its logout is due
	// then.
	for i, id := range []string{"g1", "g2", "g3"} {
		_, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: id}, at(time.Duration(i+1)*time.Second))
		must(t, "RevokeGrants "+id, err)
	}
	const lease = time.Minute
	ids := map[string]string{} // grant: its logout
	claim := func(when time.Time, limit int, want ...string) []oauth.Logout {
		t.Helper()
		ls, err := s.ClaimLogouts(ctx, when, lease, limit)
		must(t, "ClaimLogouts", err)
		var got []string
		for _, l := range ls {
			got = append(got, l.GrantID)
			if id, ok := ids[l.GrantID]; ok && id != l.ID {
				t.Errorf("the logout of %s: ID %q, then %q", l.GrantID, id, l.ID)
			}
			ids[l.GrantID] = l.ID
			checkTime(t, "logout of "+l.GrantID+" leased until", l.NextAt, when.Add(lease))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ClaimLogouts(%v, %d): the logouts of %q, want %q", when, limit, got, want)
		}
		return ls
	}
	attempts := func(ls []oauth.Logout, want ...int) {
		t.Helper()
		for i, l := range ls {
			if l.Attempts != want[i] {
				t.Errorf("the logout of %s: %d attempts, want %d", l.GrantID, l.Attempts, want[i])
			}
		}
	}

	claim(t0, 10) // none due yet
	ls := claim(at(2*time.Second), 10, "g1", "g2")
	same(t, "the logout of g1", ls[0], oauth.Logout{ID: ls[0].ID, ClientID: "c1", URI: "https://c1.example/logout", UserID: "u1", GrantID: "g1",
		Attempts: 1, NextAt: at(2*time.Second + lease), CreatedAt: at(time.Second)})
	if ls[0].ID == "" || ls[0].ID == ls[1].ID {
		t.Errorf("logout IDs %q and %q, want two", ls[0].ID, ls[1].ID)
	}
	claim(at(2*time.Second), 10) // leased
	claim(at(3*time.Second), 0)  // a limit of 0 claims none
	attempts(claim(at(3*time.Second), 10, "g3"), 1)
	// Once the lease ends, due again, a limit at a time.
	attempts(claim(at(2*time.Second+lease), 1, "g1"), 2)
	attempts(claim(at(2*time.Second+lease), 10, "g2"), 2)

	// RetryLogout sets when one is due, leased or not: g2 at 4m, g1 at 5m,
	// g3 at 10m; none sooner. Those claimed come back the oldest first, g1
	// before g2, due sooner.
	must(t, "RetryLogout g1", s.RetryLogout(ctx, ids["g1"], at(5*time.Minute)))
	must(t, "RetryLogout g2", s.RetryLogout(ctx, ids["g2"], at(4*time.Minute)))
	must(t, "RetryLogout g3", s.RetryLogout(ctx, ids["g3"], at(10*time.Minute)))
	claim(at(4*time.Minute-time.Microsecond), 10)
	attempts(claim(at(5*time.Minute), 10, "g1", "g2"), 3, 3)
	// Of more due than the limit, the earliest due are claimed: g2, due at
	// 7m, before g1, older but due at 8m.
	must(t, "RetryLogout g1", s.RetryLogout(ctx, ids["g1"], at(8*time.Minute)))
	must(t, "RetryLogout g2", s.RetryLogout(ctx, ids["g2"], at(7*time.Minute)))
	attempts(claim(at(10*time.Minute), 1, "g2"), 4)
	attempts(claim(at(10*time.Minute), 10, "g1", "g3"), 4, 2)

	must(t, "DeleteLogout g1", s.DeleteLogout(ctx, ids["g1"]))
	// Settling one that is gone (another claimer settled it) is no error,
	// and brings nothing back.
	must(t, "DeleteLogout twice", s.DeleteLogout(ctx, ids["g1"]))
	must(t, "RetryLogout of a deleted logout", s.RetryLogout(ctx, ids["g1"], at(time.Hour)))
	must(t, "RetryLogout(unknown)", s.RetryLogout(ctx, "nope", at(time.Hour)))
	must(t, "DeleteLogout(unknown)", s.DeleteLogout(ctx, "nope"))
	attempts(claim(at(time.Hour), 10, "g2", "g3"), 5, 3)
}

// Racing claimers at one instant never get one logout twice, and between
// them get every logout due.
func testClaimLogoutsRace(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	const n = 20
	for i := range n {
		grants(t, s, "c1", fmt.Sprint("g", i))
	}
	got, err := s.RevokeGrants(ctx, oauth.GrantFilter{UserID: "u1"}, t0)
	must(t, "RevokeGrants", err)
	if len(got) != n {
		t.Fatalf("RevokeGrants: %d grants, want %d", len(got), n)
	}
	for round := range rounds {
		when := t0.Add(time.Duration(round) * time.Hour) // every lease has ended
		var mu sync.Mutex
		claimed := map[string]int{}
		race(t, s, func(int) {
			ls, err := s.ClaimLogouts(ctx, when, time.Minute, 3)
			if err != nil {
				t.Errorf("racing ClaimLogouts: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range ls {
				claimed[l.ID]++
				if l.Attempts != round+1 {
					t.Errorf("round %d: the logout of %s claimed with %d attempts, want %d", round, l.GrantID, l.Attempts, round+1)
				}
			}
		})
		if len(claimed) != n {
			t.Errorf("round %d: %d logouts claimed, want all %d", round, len(claimed), n)
		}
		for id, k := range claimed {
			if k != 1 {
				t.Errorf("round %d: logout %s claimed %d times", round, id, k)
			}
		}
	}
}
