// Package oauthtest is the conformance suite that every oauth.Store backend
// must pass, as storetest is for server.Store: the open platform's
// single-use codes, grants, rotating refresh tokens, device polling,
// back-channel logouts and signing keys must behave alike on every
// database, races included.
//
// What the suite fixes where the interface leaves a choice:
//
//   - DeleteClient deletes the app's requests, codes, tokens, grants and
//     logouts: they are no longer found (not_found), rather than kept
//     revoked.
//   - Duplicates (a client id, a request's ticket, user code or device code,
//     a code or token hash, a grant id) are server.ErrConflict;
//     CreateTokens and RotateRefresh store all of their tokens or none, and
//     record the grant's use only if they store them.
//   - RotateRefresh of anything but a live refresh token (revoked, an access
//     token, unknown, deleted with its app) is ErrConflict and stores nothing.
//   - A grant expires at its ExpiresAt (as the provider judges tokens: at
//     that instant it is no longer live); CreateTokens and RotateRefresh
//     judge it at the tokens' CreatedAt, and never shorten its ExpiresAt.
//   - RevokeGrants revokes no expired grant (by ID, one is not_found); it
//     marks the grants' unused codes used at its time, so that UseCode
//     reports them as replays; a filter that sets none of its fields is an
//     error and revokes nothing; one by UserID or DeviceID that selects no
//     live grant is no error. DeviceID is the phone as
//     server.Store.RevokeDevice has it: every device of the same account
//     and ClientID, so that the grants of its earlier logins go too.
//   - ClaimLogouts, when more are due than its limit, claims the earliest
//     due (by NextAt); it returns them the oldest (by CreatedAt) first, as
//     leased: Attempts counting this claim, NextAt the lease's end. A limit
//     of 0 claims none. RetryLogout and DeleteLogout of a logout no longer
//     stored are no error (another claimer, after the lease, may have
//     settled it).
//   - PurgeExpired removes a grant in the call that removes the last code or
//     token that names it.
//   - PollDevice records every poll, too fast or not; a poll exactly one
//     interval after the last is not too fast.
//   - UseCode, RevokeGrants, RevokeToken and RotateRefresh never move a time
//     already set.
//   - Times come back in UTC, equal to the microsecond at least; an unset
//     time stays the zero time.
//
// LegacyData and CheckMigrated test a backend's migration of what it held
// before grants existed.
package oauthtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// OAuthAndCoreStore is a store of both the open platform and the core
// protocol: requests name tickets, and codes and tokens name accounts,
// which the suite creates through server.Store.
type OAuthAndCoreStore interface {
	server.Store
	oauth.Store
}

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) OAuthAndCoreStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s OAuthAndCoreStore)
	}{
		{"Clients", testClients},
		{"UpdateClient", testUpdateClient},
		{"DeleteClientCascades", testDeleteClientCascades},
		{"Requests", testRequests},
		{"RequestDuplicates", testRequestDuplicates},
		{"References", testReferences},
		{"PurgedTicketTakesItsRequest", testPurgedTicket},
		{"PollDevice", testPollDevice},
		{"PollDeviceRace", testPollDeviceRace},
		{"UseCode", testUseCode},
		{"UseCodeRace", testUseCodeRace},
		{"Tokens", testTokens},
		{"RotateRefresh", testRotateRefresh},
		{"RotateRefreshRace", testRotateRefreshRace},
		{"Grants", testGrants},
		{"CreateGrantOfAPhone", testCreateGrantDevice},
		{"CreateGrantLogoutRace", testCreateGrantRace},
		{"GrantUse", testGrantUse},
		{"RevokeGrants", testRevokeGrants},
		{"RevokeGrantsFilters", testRevokeGrantsFilters},
		{"RevokeGrantsRace", testRevokeGrantsRace},
		{"RevokeToken", testRevokeToken},
		{"ClaimLogouts", testClaimLogouts},
		{"ClaimLogoutsRace", testClaimLogoutsRace},
		{"PurgeExpired", testPurgeExpired},
		{"Times", testTimes},
		{"OddKeysAndText", testOddKeysAndText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	t.Run("SigningKeys", func(t *testing.T) { RunKeys(t, open) })
}

// racers is how many goroutines each race runs, and rounds how many times
// it runs: a race window can be narrow.
const (
	racers = 16
	rounds = 5
)

var (
	ctx = context.Background()
	t0  = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

// Fixtures.

func user(id, name string) server.User {
	return server.User{ID: id, Username: name, DisplayName: name, PasswordHash: "h", CreatedAt: t0}
}

func ticket(id, ref string) server.Ticket {
	return server.Ticket{
		ID: id, Version: 1, State: server.StatePending, PollSecretHash: server.HashToken(id), Ref: ref,
		Desktop:   server.Desktop{Name: "PC", OS: "linux", App: "a", IP: "127.0.0.1", UserAgent: "ua"},
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), RotateUntil: t0.Add(5 * time.Minute), MatchCode: "07", UpdatedAt: t0,
	}
}

// confidential is a site's app, told of ended grants (Back-Channel Logout).
func confidential(id string, created time.Time) oauth.Client {
	return oauth.Client{ID: id, Name: "App " + id, SecretHash: server.HashToken("secret-" + id),
		RedirectURIs: []string{"https://" + id + ".example/cb", "http://127.0.0.1:9/cb?x=1"},
		GrantTypes:   []string{oauth.GrantCode, oauth.GrantRefresh}, BackchannelLogoutURI: "https://" + id + ".example/logout", CreatedAt: created}
}

// public is a single-page app, without refresh tokens or Back-Channel
// Logout.
func public(id string, created time.Time) oauth.Client {
	return oauth.Client{ID: id, Name: "SPA " + id, RedirectURIs: []string{"https://" + id + ".example/spa"}, Public: true,
		GrantTypes: []string{oauth.GrantCode}, CreatedAt: created}
}

// authRequest is an authorization request (redirect, no device code).
func authRequest(ticketID, clientID string) oauth.Request {
	return oauth.Request{
		TicketID: ticketID, Ref: "ref-" + ticketID, ClientID: clientID, RedirectURI: "https://" + clientID + ".example/cb",
		Scope: "openid profile", State: "st-" + ticketID, Nonce: "n-" + ticketID,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CreatedAt: t0,
	}
}

// deviceRequest is a device grant, polled every 5 s.
func deviceRequest(ticketID, clientID string) oauth.Request {
	return oauth.Request{
		TicketID: ticketID, Ref: "ref-" + ticketID, ClientID: clientID, Scope: "openid",
		UserCode: "uc-" + ticketID, DeviceCodeHash: server.HashToken("dc-" + ticketID), Interval: 5 * time.Second, CreatedAt: t0,
	}
}

// device is a login of the account userID on the phone phone (the
// device's ClientID).
func device(id, userID, phone string) server.Device {
	return server.Device{ID: id, UserID: userID, ClientID: phone, Name: "Phone", Platform: "android",
		TokenHash: h("device-" + id), CreatedAt: t0, LastSeenAt: t0}
}

// grant is u1's grant to the app clientID from the device d1 (seed's), made
// and last used at t0, and live for a minute (its code's lifetime) unless
// tokens are issued through it.
func grant(id, clientID string) oauth.Grant {
	return oauth.Grant{ID: id, UserID: "u1", ClientID: clientID, DeviceID: "d1", Scope: "openid profile",
		CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Minute)}
}

func code(name, clientID, family string) oauth.Code {
	return oauth.Code{
		Hash: server.HashToken(name), ClientID: clientID, UserID: "u1", RedirectURI: "https://" + clientID + ".example/cb",
		Scope: "openid profile", Nonce: "nonce-" + name, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		FamilyID: family, AuthTime: t0, ExpiresAt: t0.Add(time.Minute),
	}
}

func token(name, kind, clientID, family string) oauth.Token {
	return oauth.Token{
		Hash: server.HashToken(name), Kind: kind, ClientID: clientID, UserID: "u1", Scope: "openid profile",
		FamilyID: family, AuthTime: t0, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0,
	}
}

func h(name string) []byte { return server.HashToken(name) }

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// grants creates grant(id, clientID) for each of ids.
func grants(t *testing.T, s OAuthAndCoreStore, clientID string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		must(t, "CreateGrant "+id, s.CreateGrant(ctx, grant(id, clientID)))
	}
}

// seed creates the account u1 and its login d1 on the phone p1 (the device
// of grant), the tickets and the clients named.
func seed(t *testing.T, s OAuthAndCoreStore, tickets []string, clients ...oauth.Client) {
	t.Helper()
	must(t, "CreateUser", s.CreateUser(ctx, user("u1", "alice")))
	must(t, "CreateDevice d1", s.CreateDevice(ctx, device("d1", "u1", "p1")))
	for _, id := range tickets {
		must(t, "CreateTicket "+id, s.CreateTicket(ctx, ticket(id, "ref-"+id)))
	}
	for _, c := range clients {
		must(t, "CreateClient "+c.ID, s.CreateClient(ctx, c))
	}
}

func wantCode(t *testing.T, what string, err error, want *server.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %s", what, err, want.Code)
	}
}

// Comparisons. Times are compared with Equal and must be in UTC (or zero);
// the rest must be equal, a nil slice equal to an empty one.

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s: got %v, want %v in UTC", what, got, want)
	}
}

// same compares two records of one type field by field.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			checkTime(t, what+"."+name, g.(time.Time), w)
		case []byte:
			if !bytes.Equal(g.([]byte), w) {
				t.Errorf("%s.%s: got %x, want %x", what, name, g, w)
			}
		case []string:
			if !slices.Equal(g.([]string), w) {
				t.Errorf("%s.%s: got %q, want %q", what, name, g, w)
			}
		default:
			if g != w {
				t.Errorf("%s.%s: got %v, want %v", what, name, g, w)
			}
		}
	}
}

func getToken(t *testing.T, s OAuthAndCoreStore, name string) oauth.Token {
	t.Helper()
	tk, err := s.TokenByHash(ctx, h(name))
	if err != nil {
		t.Fatalf("TokenByHash(%s): %v", name, err)
	}
	return tk
}

func tokenGone(t *testing.T, s OAuthAndCoreStore, name string) {
	t.Helper()
	if tk, err := s.TokenByHash(ctx, h(name)); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("TokenByHash(%s): %+v %v, want not_found", name, tk, err)
	}
}

func revokedAt(t *testing.T, s OAuthAndCoreStore, name string, want time.Time) {
	t.Helper()
	checkTime(t, name+" revoked at", getToken(t, s, name).RevokedAt, want)
}

func testClients(t *testing.T, s OAuthAndCoreStore) {
	c1, c2, c3 := confidential("c1", t0), public("c2", t0.Add(time.Minute)), confidential("c3", t0.Add(-time.Minute))
	seed(t, s, nil, c1, c2, c3)
	dup := public("c1", t0)
	wantCode(t, "CreateClient of a taken id", s.CreateClient(ctx, dup), server.ErrConflict)
	for _, want := range []oauth.Client{c1, c2, c3} {
		got, err := s.ClientByID(ctx, want.ID)
		must(t, "ClientByID "+want.ID, err)
		same(t, "client "+want.ID, got, want)
	}
	if got, _ := s.ClientByID(ctx, "c2"); len(got.SecretHash) != 0 || !got.Public {
		t.Errorf("the public client: %+v", got)
	}
	// An app without redirect URIs (a device-only app) is stored too.
	c4 := oauth.Client{ID: "c4", Name: "TV", SecretHash: h("s4"), GrantTypes: []string{oauth.GrantDevice, oauth.GrantRefresh}, CreatedAt: t0.Add(2 * time.Minute)}
	must(t, "CreateClient without redirect URIs", s.CreateClient(ctx, c4))
	got, err := s.ClientByID(ctx, "c4")
	must(t, "ClientByID c4", err)
	same(t, "client c4", got, c4)

	_, err = s.ClientByID(ctx, "nope")
	wantCode(t, "ClientByID(unknown)", err, server.ErrNotFound)

	ids := func() []string {
		t.Helper()
		list, err := s.ListClients(ctx)
		must(t, "ListClients", err)
		var out []string
		for _, c := range list {
			out = append(out, c.ID)
			if c.ID == "c1" {
				same(t, "listed c1", c, c1)
			}
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"c3", "c1", "c2", "c4"}) {
		t.Errorf("ListClients: %v, want oldest first: c3 c1 c2 c4", got)
	}
	must(t, "DeleteClient", s.DeleteClient(ctx, "c1"))
	_, err = s.ClientByID(ctx, "c1")
	wantCode(t, "ClientByID after delete", err, server.ErrNotFound)
	wantCode(t, "DeleteClient twice", s.DeleteClient(ctx, "c1"), server.ErrNotFound)
	wantCode(t, "DeleteClient(unknown)", s.DeleteClient(ctx, "nope"), server.ErrNotFound)
	if got := ids(); !slices.Equal(got, []string{"c3", "c2", "c4"}) {
		t.Errorf("ListClients after delete: %v", got)
	}
	for _, id := range []string{"c3", "c2", "c4"} {
		must(t, "DeleteClient "+id, s.DeleteClient(ctx, id))
	}
	if list, err := s.ListClients(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListClients of none: %+v %v", list, err)
	}
}

// UpdateClient stores an app's name, redirect URIs, grant types and
// back-channel logout URI, and nothing else of it: its secret, type and
// creation time stay, and so do the grants and tokens issued to it, and
// the other apps. An unknown app is not found.
func testUpdateClient(t *testing.T, s OAuthAndCoreStore) {
	c1, c2 := confidential("c1", t0), public("c2", t0.Add(time.Minute))
	seed(t, s, nil, c1, c2)
	grants(t, s, "c1", "g1")
	must(t, "CreateTokens", s.CreateTokens(ctx, token("a1", oauth.KindAccess, "c1", "g1"), token("r1", oauth.KindRefresh, "c1", "g1")))
	g1, err := s.GrantByID(ctx, "g1")
	must(t, "GrantByID", err)
	a1, r1 := getToken(t, s, "a1"), getToken(t, s, "r1")

	check := func(what string, want ...oauth.Client) {
		t.Helper()
		for _, w := range want {
			got, err := s.ClientByID(ctx, w.ID)
			must(t, "ClientByID "+w.ID, err)
			same(t, what+": client "+w.ID, got, w)
		}
		list, err := s.ListClients(ctx)
		must(t, "ListClients", err)
		if len(list) != len(want) {
			t.Fatalf("%s: ListClients: %d clients, want %d", what, len(list), len(want))
		}
		for i := range list {
			same(t, what+": listed client "+want[i].ID, list[i], want[i])
		}
	}

	// All four fields change; what else the update carries is ignored.
	u := oauth.Client{ID: "c1", Name: "Renamed", SecretHash: h("another secret"), RedirectURIs: []string{"https://new.example/cb"},
		Public: true, GrantTypes: []string{oauth.GrantDevice, oauth.GrantRefresh, oauth.GrantCode}, CreatedAt: t0.Add(time.Hour)}
	must(t, "UpdateClient", s.UpdateClient(ctx, u))
	want := c1
	want.Name, want.RedirectURIs, want.GrantTypes, want.BackchannelLogoutURI = u.Name, u.RedirectURIs, u.GrantTypes, ""
	check("after the update", want, c2)
	// And back; none at all (a device app's redirect URIs) is stored too.
	u = c1
	u.RedirectURIs, u.GrantTypes = nil, []string{oauth.GrantDevice}
	must(t, "UpdateClient to no redirect URIs", s.UpdateClient(ctx, u))
	check("after the second update", u, c2)

	wantCode(t, "UpdateClient(unknown)", s.UpdateClient(ctx, confidential("nope", t0)), server.ErrNotFound)
	if _, err := s.ClientByID(ctx, "nope"); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("UpdateClient(unknown) created it: %v", err)
	}

	// What was issued to the app stays as it was.
	got, err := s.GrantByID(ctx, "g1")
	must(t, "GrantByID after the updates", err)
	same(t, "the app's grant", got, g1)
	same(t, "the app's access token", getToken(t, s, "a1"), a1)
	same(t, "the app's refresh token", getToken(t, s, "r1"), r1)
}

// Deleting an app deletes its requests, codes, tokens, grants and logouts
// (not_found, both backends), and nothing of another app; the tickets
// stay.
func testDeleteClientCascades(t *testing.T, s OAuthAndCoreStore) {
	c2 := public("c2", t0)
	c2.BackchannelLogoutURI = "https://c2.example/logout"
	seed(t, s, []string{"t1", "t2", "t3"}, confidential("c1", t0), c2)
	must(t, "CreateRequest t1", s.CreateRequest(ctx, authRequest("t1", "c1")))
	must(t, "CreateRequest t2", s.CreateRequest(ctx, deviceRequest("t2", "c1")))
	must(t, "CreateRequest t3", s.CreateRequest(ctx, deviceRequest("t3", "c2")))
	grants(t, s, "c1", "f0", "f1")
	grants(t, s, "c2", "f2", "f3")
	must(t, "CreateCode k1", s.CreateCode(ctx, code("k1", "c1", "f1")))
	must(t, "CreateCode k2", s.CreateCode(ctx, code("k2", "c2", "f2")))
	must(t, "CreateTokens c1", s.CreateTokens(ctx, token("a1", oauth.KindAccess, "c1", "f1"), token("r1", oauth.KindRefresh, "c1", "f1")))
	must(t, "CreateTokens c2", s.CreateTokens(ctx, token("a2", oauth.KindAccess, "c2", "f2"), token("r2", oauth.KindRefresh, "c2", "f2")))
	// A revoked grant of each app, with a logout queued for each.
	for _, id := range []string{"f0", "f3"} {
		_, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: id}, t0)
		must(t, "RevokeGrants "+id, err)
	}

	must(t, "DeleteClient", s.DeleteClient(ctx, "c1"))

	tokenGone(t, s, "a1")
	tokenGone(t, s, "r1")
	for _, id := range []string{"t1", "t2"} {
		_, err := s.RequestByTicket(ctx, id)
		wantCode(t, "RequestByTicket "+id, err, server.ErrNotFound)
	}
	_, err := s.RequestByUserCode(ctx, "uc-t2")
	wantCode(t, "RequestByUserCode of the deleted app", err, server.ErrNotFound)
	_, err = s.RequestByDeviceCode(ctx, h("dc-t2"))
	wantCode(t, "RequestByDeviceCode of the deleted app", err, server.ErrNotFound)
	_, _, err = s.UseCode(ctx, h("k1"), t0)
	wantCode(t, "UseCode of the deleted app", err, server.ErrNotFound)
	wantCode(t, "RotateRefresh of the deleted app's token", s.RotateRefresh(ctx, h("r1"), t0, token("a9", oauth.KindAccess, "c2", "f1")), server.ErrConflict)
	tokenGone(t, s, "a9")
	_, err = s.PollDevice(ctx, "t2", t0, time.Second)
	wantCode(t, "PollDevice of the deleted app", err, server.ErrNotFound)
	for _, id := range []string{"f0", "f1"} {
		_, err = s.GrantByID(ctx, id)
		wantCode(t, "GrantByID of the deleted app's "+id, err, server.ErrNotFound)
	}
	if gs, err := s.GrantsByUser(ctx, "u1", t0); err != nil || len(gs) != 1 || gs[0].ID != "f2" {
		t.Errorf("GrantsByUser after the delete: %+v %v, want the other app's f2", gs, err)
	}
	if ls, err := s.ClaimLogouts(ctx, t0, time.Minute, 10); err != nil || len(ls) != 1 || ls[0].GrantID != "f3" {
		t.Errorf("ClaimLogouts after the delete: %+v %v, want the other app's, of f3", ls, err)
	}

	// The other app keeps everything.
	for _, n := range []string{"a2", "r2"} {
		if tk := getToken(t, s, n); !tk.RevokedAt.IsZero() {
			t.Errorf("the other app's token %s was revoked", n)
		}
	}
	if r, err := s.RequestByTicket(ctx, "t3"); err != nil || r.ClientID != "c2" {
		t.Errorf("the other app's request: %+v %v", r, err)
	}
	if _, first, err := s.UseCode(ctx, h("k2"), t0); err != nil || !first {
		t.Errorf("the other app's code: first %v, %v", first, err)
	}
	// The tickets are the core protocol's: they stay.
	if tk, err := s.TicketByRef(ctx, "ref-t1"); err != nil || tk.ID != "t1" {
		t.Errorf("the deleted app's ticket: %+v %v", tk, err)
	}
}

func testRequests(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1", "t2", "t3"}, confidential("c1", t0))
	ra, rd := authRequest("t1", "c1"), deviceRequest("t2", "c1")
	must(t, "CreateRequest auth", s.CreateRequest(ctx, ra))
	must(t, "CreateRequest device", s.CreateRequest(ctx, rd))
	// Two authorization requests: no user or device code, and no clash.
	ra3 := authRequest("t3", "c1")
	must(t, "a second authorization request", s.CreateRequest(ctx, ra3))
	// The database marks the ticket of every request stored, whatever
	// code stored the ticket (these were stored unmarked, as a node of
	// before the mark stores them).
	for id, want := range map[string]server.AppFlow{"t1": server.AppAuthorize, "t2": server.AppDevice, "t3": server.AppAuthorize} {
		if tk, err := s.TicketByID(ctx, id); err != nil || tk.App != want {
			t.Errorf("ticket %s after its request: app flow %q (%v), want %q", id, tk.App, err, want)
		}
	}

	get := func(what string, r oauth.Request, err error, want oauth.Request) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		same(t, what, r, want)
	}
	r, err := s.RequestByTicket(ctx, "t1")
	get("RequestByTicket(auth)", r, err, ra)
	r, err = s.RequestByTicket(ctx, "t3")
	get("RequestByTicket(auth 2)", r, err, ra3)
	r, err = s.RequestByTicket(ctx, "t2")
	get("RequestByTicket(device)", r, err, rd)
	r, err = s.RequestByUserCode(ctx, "uc-t2")
	get("RequestByUserCode", r, err, rd)
	r, err = s.RequestByDeviceCode(ctx, h("dc-t2"))
	get("RequestByDeviceCode", r, err, rd)

	for _, k := range []string{"nope", "ref-t1", "t4"} {
		_, err = s.RequestByTicket(ctx, k)
		wantCode(t, "RequestByTicket("+k+")", err, server.ErrNotFound)
	}
	// An authorization request has no user code or device code: the empty
	// one finds nothing.
	for _, k := range []string{"", "nope", "UC-T2", "t2"} {
		_, err = s.RequestByUserCode(ctx, k)
		wantCode(t, fmt.Sprintf("RequestByUserCode(%q)", k), err, server.ErrNotFound)
	}
	for _, k := range [][]byte{nil, {}, h("nope"), h("uc-t2")} {
		_, err = s.RequestByDeviceCode(ctx, k)
		wantCode(t, fmt.Sprintf("RequestByDeviceCode(%x)", k), err, server.ErrNotFound)
	}
}

// A ticket has one request; a user code and a device code name one request.
func testRequestDuplicates(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1", "t2", "t3"}, confidential("c1", t0))
	must(t, "CreateRequest", s.CreateRequest(ctx, deviceRequest("t1", "c1")))
	wantCode(t, "a second request of a ticket", s.CreateRequest(ctx, authRequest("t1", "c1")), server.ErrConflict)
	r := deviceRequest("t2", "c1")
	r.UserCode = "uc-t1"
	wantCode(t, "a taken user code", s.CreateRequest(ctx, r), server.ErrConflict)
	r = deviceRequest("t3", "c1")
	r.DeviceCodeHash = h("dc-t1")
	wantCode(t, "a taken device code", s.CreateRequest(ctx, r), server.ErrConflict)
	for _, id := range []string{"t2", "t3"} {
		_, err := s.RequestByTicket(ctx, id)
		wantCode(t, "the refused request "+id, err, server.ErrNotFound)
	}
	if got, err := s.RequestByUserCode(ctx, "uc-t1"); err != nil || got.TicketID != "t1" {
		t.Errorf("the first request: %+v %v", got, err)
	}
}

// Requests name a ticket and an app, codes and tokens an app and an
// account: the store refuses (some error) ones that name nothing, which is
// what lets deletes cascade.
func testReferences(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1"}, confidential("c1", t0))
	if err := s.CreateRequest(ctx, authRequest("t1", "nope")); err == nil {
		t.Error("CreateRequest of an unknown app succeeded")
	}
	if err := s.CreateRequest(ctx, authRequest("t9", "c1")); err == nil {
		t.Error("CreateRequest of an unknown ticket succeeded")
	}
	k := code("k1", "c1", "f1")
	k.UserID = "u9"
	if err := s.CreateCode(ctx, k); err == nil {
		t.Error("CreateCode of an unknown account succeeded")
	}
	if err := s.CreateCode(ctx, code("k2", "nope", "f1")); err == nil {
		t.Error("CreateCode of an unknown app succeeded")
	}
	g := grant("g9", "c1")
	g.UserID = "u9"
	if err := s.CreateGrant(ctx, g); err == nil {
		t.Error("CreateGrant of an unknown account succeeded")
	}
	if err := s.CreateGrant(ctx, grant("g8", "nope")); err == nil {
		t.Error("CreateGrant of an unknown app succeeded")
	}
	grants(t, s, "c1", "f1") // the tokens' grant is live: only their app or account is wrong
	if err := s.CreateTokens(ctx, token("a1", oauth.KindAccess, "nope", "f1")); err == nil {
		t.Error("CreateTokens of an unknown app succeeded")
	}
	tk := token("a2", oauth.KindAccess, "c1", "f1")
	tk.UserID = "u9"
	if err := s.CreateTokens(ctx, tk); err == nil {
		t.Error("CreateTokens of an unknown account succeeded")
	}
}

// A request goes with its ticket when the ticket is purged.
func testPurgedTicket(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1"}, confidential("c1", t0))
	must(t, "CreateRequest", s.CreateRequest(ctx, deviceRequest("t1", "c1")))
	n, err := s.DeleteTicketsBefore(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	_, err = s.RequestByTicket(ctx, "t1")
	wantCode(t, "RequestByTicket of a purged ticket", err, server.ErrNotFound)
	_, err = s.RequestByUserCode(ctx, "uc-t1")
	wantCode(t, "RequestByUserCode of a purged ticket", err, server.ErrNotFound)
}

// PollDevice: the first poll is never too fast; one within the interval is,
// and lengthens the interval by slowDown, which the next poll is held to;
// one at least the (grown) interval later is fine. Every poll is recorded.
func testPollDevice(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1", "t2"}, confidential("c1", t0))
	must(t, "CreateRequest", s.CreateRequest(ctx, deviceRequest("t1", "c1")))
	const slow = 5 * time.Second
	at := t0
	for i, step := range []struct {
		after    time.Duration // since the last poll
		tooFast  bool
		interval time.Duration // afterwards
	}{
		{0, false, 5 * time.Second},                                 // the first poll
		{time.Second, true, 10 * time.Second},                       // at once: slow down
		{6 * time.Second, true, 15 * time.Second},                   // past the old interval, within the grown one
		{15 * time.Second, false, 15 * time.Second},                 // exactly the interval: fine
		{20 * time.Second, false, 15 * time.Second},                 // later still: fine, and the interval stays
		{15*time.Second - time.Microsecond, true, 20 * time.Second}, // a microsecond early
	} {
		at = at.Add(step.after)
		tooFast, err := s.PollDevice(ctx, "t1", at, slow)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if tooFast != step.tooFast {
			t.Errorf("poll %d (%v after the last): tooFast %v, want %v", i, step.after, tooFast, step.tooFast)
		}
		r, err := s.RequestByTicket(ctx, "t1")
		must(t, "RequestByTicket", err)
		if r.Interval != step.interval {
			t.Errorf("poll %d: interval %v, want %v", i, r.Interval, step.interval)
		}
		checkTime(t, fmt.Sprintf("poll %d: last poll", i), r.LastPollAt, at)
		if r.UserCode != "uc-t1" || r.ClientID != "c1" {
			t.Errorf("poll %d changed the request: %+v", i, r)
		}
	}
	_, err := s.PollDevice(ctx, "nope", t0, slow)
	wantCode(t, "PollDevice(unknown)", err, server.ErrNotFound)
	_, err = s.PollDevice(ctx, "t2", t0, slow) // a ticket without a request
	wantCode(t, "PollDevice(ticket without a request)", err, server.ErrNotFound)
}

// Racing polls at one instant: exactly one is not too fast, and each of the
// others lengthened the interval.
func testPollDeviceRace(t *testing.T, s OAuthAndCoreStore) {
	var ids []string
	for round := range rounds {
		ids = append(ids, fmt.Sprint("t", round))
	}
	seed(t, s, ids, confidential("c1", t0))
	for round, id := range ids {
		must(t, "CreateRequest", s.CreateRequest(ctx, deviceRequest(id, "c1")))
		var fine atomic.Int32
		race(t, s, func(i int) {
			tooFast, err := s.PollDevice(ctx, id, t0, time.Second)
			if err != nil {
				t.Errorf("racing poll: %v", err)
			} else if !tooFast {
				fine.Add(1)
			}
		})
		if fine.Load() != 1 {
			t.Errorf("round %d: %d racing first polls were not too fast, want 1", round, fine.Load())
		}
		r, _ := s.RequestByTicket(ctx, id)
		if want := 5*time.Second + (racers-1)*time.Second; r.Interval != want {
			t.Errorf("round %d: interval after %d racing polls: %v, want %v", round, racers, r.Interval, want)
		}
	}
}

// race runs fn in racers goroutines, released at once, after as many
// concurrent Pings: a pool that opens its connections lazily would
// otherwise let the first racer finish before the others are connected.
func race(t *testing.T, s OAuthAndCoreStore, fn func(i int)) {
	t.Helper()
	run := func(fn func(i int)) {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				<-start
				fn(i)
			})
		}
		close(start)
		wg.Wait()
	}
	run(func(int) {
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	run(fn)
}

// UseCode: the first use is first once; later ones return the code as it
// was first used and change nothing.
func testUseCode(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	k := code("k1", "c1", "f1")
	k.UsedAt = t0 // ignored: a new code is unused
	must(t, "CreateCode", s.CreateCode(ctx, k))
	k.UsedAt = time.Time{}
	wantCode(t, "CreateCode of a taken hash", s.CreateCode(ctx, code("k1", "c1", "f2")), server.ErrConflict)

	used := t0.Add(10 * time.Second)
	got, first, err := s.UseCode(ctx, h("k1"), used)
	must(t, "UseCode", err)
	if !first {
		t.Error("the first use is not first")
	}
	want := k
	want.UsedAt = used
	same(t, "the code at its first use", got, want)
	for i, at := range []time.Time{t0.Add(20 * time.Second), t0.Add(5 * time.Second), t0.Add(time.Hour)} {
		got, first, err = s.UseCode(ctx, h("k1"), at)
		must(t, "UseCode again", err)
		if first {
			t.Errorf("use %d is first again", i+2)
		}
		same(t, fmt.Sprintf("the code at use %d", i+2), got, want)
	}
	for _, k := range [][]byte{h("nope"), nil, {}} {
		_, first, err := s.UseCode(ctx, k, t0)
		if first || !errors.Is(err, server.ErrNotFound) {
			t.Errorf("UseCode(%x): first %v, %v; want not_found", k, first, err)
		}
	}
}

// PurgeExpired removes expired codes and tokens, but keeps a used code or
// a rotated refresh token while its family has a live token, since
// presenting it again must revoke that family; it removes an expired
// grant, revoked or not, once no code or token names it; it removes at
// most limit of each in one call, and counts what it removed.
func testPurgeExpired(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	newCode := func(name, family string, expires time.Duration, used bool) {
		t.Helper()
		c := code(name, "c1", family)
		c.ExpiresAt = at(expires)
		must(t, "CreateCode", s.CreateCode(ctx, c))
		if used {
			_, _, err := s.UseCode(ctx, h(name), at(time.Second))
			must(t, "UseCode", err)
		}
	}
	newToken := func(name, kind, family string, expires time.Duration, revoked bool) {
		t.Helper()
		k := token(name, kind, "c1", family)
		k.ExpiresAt = at(expires)
		if revoked {
			k.RevokedAt = at(time.Second)
		}
		must(t, "CreateTokens", s.CreateTokens(ctx, k))
	}
	// Each grant expires at t0+1m, unless its tokens move that out.
	grants(t, s, "c1", "f1", "f2", "f3", "f4")
	// f1: a login whose refresh token was rotated once and is still live.
	newCode("k1", "f1", time.Minute, true)
	newToken("a1", oauth.KindAccess, "f1", time.Hour, false)
	newToken("r0", oauth.KindRefresh, "f1", 30*time.Minute, true)
	newToken("r1", oauth.KindRefresh, "f1", 30*24*time.Hour, false)
	// f2: a code never exchanged, which outlives its grant.
	newCode("k2", "f2", 10*time.Minute, false)
	// f3: a login whose refresh token was revoked; its access token lives an hour.
	newCode("k3", "f3", time.Minute, true)
	newToken("a3", oauth.KindAccess, "f3", time.Hour, false)
	newToken("r3", oauth.KindRefresh, "f3", 3*time.Hour, true)
	// f4: a grant revoked before it was used.
	_, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: "f4"}, t0)
	must(t, "RevokeGrants", err)

	purge := func(when time.Duration, limit, want int) {
		t.Helper()
		n, err := s.PurgeExpired(ctx, at(when), limit)
		must(t, "PurgeExpired", err)
		if n != want {
			t.Errorf("PurgeExpired(t0+%v, %d) = %d, want %d", when, limit, n, want)
		}
	}
	purge(0, 1000, 0)
	purge(5*time.Minute, 1000, 1)  // f4; k1 and k3 expired, but used with live families; f2 expired, but k2 names it
	purge(20*time.Minute, 1000, 2) // k2: unused; and then f2
	purge(2*time.Hour, 1000, 3)    // a1 and a3; k3, whose family has no live token left (r0 stays: f1 has r1)
	purge(4*time.Hour, 1000, 2)    // r3, and then f3
	purge(4*time.Hour, 1000, 0)

	for _, name := range []string{"k2", "k3"} {
		if _, _, err := s.UseCode(ctx, h(name), t0); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("code %s: UseCode = %v, want it purged", name, err)
		}
	}
	if _, first, err := s.UseCode(ctx, h("k1"), t0); err != nil || first {
		t.Errorf("used code k1 of a live family: UseCode = first %v, %v; want it kept, used", first, err)
	}
	for _, name := range []string{"a1", "a3", "r3"} {
		tokenGone(t, s, name)
	}
	revokedAt(t, s, "r0", at(time.Second)) // kept: replaying it must revoke f1
	getToken(t, s, "r1")
	for _, id := range []string{"f2", "f3", "f4"} {
		_, err := s.GrantByID(ctx, id)
		wantCode(t, "GrantByID of purged "+id, err, server.ErrNotFound)
	}
	if g, err := s.GrantByID(ctx, "f1"); err != nil {
		t.Errorf("the live grant f1: %+v %v", g, err)
	}

	// A backlog goes limit by limit: 5 codes of f9, 3 tokens of f8, and 3
	// grants that nothing names; f8 and f9 go in the call that removes
	// their last token or code.
	grants(t, s, "c1", "e0", "e1", "e2", "f8", "f9")
	for i := range 5 {
		newCode(fmt.Sprintf("b%d", i), "f9", time.Minute, false)
	}
	for i := range 3 {
		newToken(fmt.Sprintf("x%d", i), oauth.KindAccess, "f8", time.Minute, false)
	}
	for _, want := range []int{2 + 2 + 2, 2 + 1 + 2, 1 + 1, 0} {
		purge(5*time.Hour, 2, want)
	}
}

// Of racing uses of one code exactly one is first, and every other sees
// the winner's use.
func testUseCodeRace(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	for round := range rounds {
		name, family := fmt.Sprint("k", round), fmt.Sprint("f", round)
		must(t, "CreateCode", s.CreateCode(ctx, code(name, "c1", family)))
		var mu sync.Mutex
		var firsts []int
		usedAt := make([]time.Time, racers)
		race(t, s, func(i int) {
			c, first, err := s.UseCode(ctx, h(name), t0.Add(time.Duration(i+1)*time.Second))
			if err != nil {
				t.Errorf("racing UseCode: %v", err)
				return
			}
			if c.FamilyID != family || c.UserID != "u1" {
				t.Errorf("racing UseCode returned %+v", c)
			}
			usedAt[i] = c.UsedAt
			if first {
				mu.Lock()
				firsts = append(firsts, i)
				mu.Unlock()
			}
		})
		if len(firsts) != 1 {
			t.Fatalf("round %d: %d racing uses were first, want 1", round, len(firsts))
		}
		win := t0.Add(time.Duration(firsts[0]+1) * time.Second)
		for i, u := range usedAt {
			checkTime(t, fmt.Sprintf("round %d, racer %d: used at", round, i), u, win)
		}
	}
}

func testTokens(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	grants(t, s, "c1", "f1", "f2")
	a1, r1 := token("a1", oauth.KindAccess, "c1", "f1"), token("r1", oauth.KindRefresh, "c1", "f1")
	r1.ExpiresAt = t0.Add(30 * 24 * time.Hour)
	must(t, "CreateTokens", s.CreateTokens(ctx, a1, r1))
	must(t, "CreateTokens of none", s.CreateTokens(ctx))
	same(t, "access token", getToken(t, s, "a1"), a1)
	same(t, "refresh token", getToken(t, s, "r1"), r1)
	// All or none: one taken hash stores neither.
	wantCode(t, "CreateTokens with a taken hash", s.CreateTokens(ctx, token("a2", oauth.KindAccess, "c1", "f2"), token("a1", oauth.KindAccess, "c1", "f2")),
		server.ErrConflict)
	tokenGone(t, s, "a2")
	if got := getToken(t, s, "a1"); got.FamilyID != "f1" {
		t.Errorf("a duplicate overwrote the token: %+v", got)
	}
	if g, err := s.GrantByID(ctx, "f2"); err != nil || !g.ExpiresAt.Equal(grant("f2", "c1").ExpiresAt) {
		t.Errorf("the refused tokens' grant: %+v %v, want its use not recorded", g, err)
	}
	// A token may be stored revoked.
	x := token("x1", oauth.KindAccess, "c1", "f1")
	x.RevokedAt = t0.Add(time.Second)
	must(t, "CreateTokens revoked", s.CreateTokens(ctx, x))
	same(t, "revoked token", getToken(t, s, "x1"), x)
	for _, k := range [][]byte{h("nope"), nil, {}} {
		_, err := s.TokenByHash(ctx, k)
		wantCode(t, fmt.Sprintf("TokenByHash(%x)", k), err, server.ErrNotFound)
	}
}

// RotateRefresh revokes the live refresh token and stores the next ones;
// anything else (a revoked refresh token, an access token, an unknown hash,
// a next token that clashes) is a conflict that changes nothing.
func testRotateRefresh(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	grants(t, s, "c1", "f1")
	must(t, "CreateTokens", s.CreateTokens(ctx, token("a1", oauth.KindAccess, "c1", "f1"), token("r1", oauth.KindRefresh, "c1", "f1")))
	t1 := t0.Add(time.Minute)
	a2, r2 := token("a2", oauth.KindAccess, "c1", "f1"), token("r2", oauth.KindRefresh, "c1", "f1")
	a2.CreatedAt, r2.CreatedAt = t1, t1
	must(t, "RotateRefresh", s.RotateRefresh(ctx, h("r1"), t1, a2, r2))
	revokedAt(t, s, "r1", t1)
	revokedAt(t, s, "a1", time.Time{}) // only the refresh token rotates
	same(t, "the new access token", getToken(t, s, "a2"), a2)
	same(t, "the new refresh token", getToken(t, s, "r2"), r2)

	// The old one again: a replay.
	wantCode(t, "RotateRefresh of a rotated token", s.RotateRefresh(ctx, h("r1"), t0.Add(2*time.Minute),
		token("a3", oauth.KindAccess, "c1", "f1"), token("r3", oauth.KindRefresh, "c1", "f1")), server.ErrConflict)
	tokenGone(t, s, "a3")
	tokenGone(t, s, "r3")
	revokedAt(t, s, "r1", t1)

	// An access token is not rotated, nor an unknown one.
	wantCode(t, "RotateRefresh of an access token", s.RotateRefresh(ctx, h("a2"), t1, token("a4", oauth.KindAccess, "c1", "f1")), server.ErrConflict)
	revokedAt(t, s, "a2", time.Time{})
	tokenGone(t, s, "a4")
	wantCode(t, "RotateRefresh of an unknown token", s.RotateRefresh(ctx, h("nope"), t1, token("a5", oauth.KindAccess, "c1", "f1")), server.ErrConflict)
	tokenGone(t, s, "a5")

	// A next token that clashes undoes the whole rotation.
	err := s.RotateRefresh(ctx, h("r2"), t1, token("a6", oauth.KindAccess, "c1", "f1"), token("a1", oauth.KindAccess, "c1", "f1"))
	wantCode(t, "RotateRefresh to a taken hash", err, server.ErrConflict)
	revokedAt(t, s, "r2", time.Time{})
	tokenGone(t, s, "a6")
	// And r2 still rotates.
	must(t, "RotateRefresh r2", s.RotateRefresh(ctx, h("r2"), t1.Add(time.Second), token("r7", oauth.KindRefresh, "c1", "f1")))
	revokedAt(t, s, "r2", t1.Add(time.Second))
}

// Of racing rotations of one refresh token exactly one succeeds; the others
// are conflicts, and their new tokens are not stored.
func testRotateRefreshRace(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, nil, confidential("c1", t0))
	for round := range rounds {
		old, family := fmt.Sprint("r", round), fmt.Sprint("f", round)
		next := func(kind string, i int) string { return fmt.Sprintf("%s-%d-%d", kind, round, i) }
		grants(t, s, "c1", family)
		must(t, "CreateTokens", s.CreateTokens(ctx, token(old, oauth.KindRefresh, "c1", family)))
		won := make([]bool, racers)
		race(t, s, func(i int) {
			err := s.RotateRefresh(ctx, h(old), t0.Add(time.Duration(i+1)*time.Second),
				token(next("a", i), oauth.KindAccess, "c1", family), token(next("r", i), oauth.KindRefresh, "c1", family))
			switch {
			case err == nil:
				won[i] = true
			case !errors.Is(err, server.ErrConflict):
				t.Errorf("racing rotation %d: %v, want conflict", i, err)
			}
		})
		winner := -1
		for i, w := range won {
			if !w {
				tokenGone(t, s, next("a", i))
				tokenGone(t, s, next("r", i))
				continue
			}
			if winner >= 0 {
				t.Errorf("round %d: rotations %d and %d both succeeded", round, winner, i)
			}
			winner = i
			for _, n := range []string{next("a", i), next("r", i)} {
				if tk := getToken(t, s, n); !tk.RevokedAt.IsZero() {
					t.Errorf("the winner's %s is revoked", n)
				}
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racing rotation succeeded", round)
		}
		revokedAt(t, s, old, t0.Add(time.Duration(winner+1)*time.Second))
	}
}

// Times come back equal to the microsecond (PostgreSQL keeps no more), in
// UTC whatever zone they were given in, and an unset time stays the zero
// time. Finer times lose at most what is below the microsecond.
func testTimes(t *testing.T, s OAuthAndCoreStore) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.FixedZone("CET", 3600))
	us := func(n int) time.Time { return base.Add(time.Duration(n) * time.Microsecond) }
	seed(t, s, []string{"t1", "t2"})
	c := confidential("c1", us(1))
	must(t, "CreateClient", s.CreateClient(ctx, c))
	gc, err := s.ClientByID(ctx, "c1")
	must(t, "ClientByID", err)
	checkTime(t, "client created", gc.CreatedAt, us(1))
	if list, _ := s.ListClients(ctx); len(list) != 1 {
		t.Fatalf("ListClients: %+v", list)
	} else {
		checkTime(t, "listed client created", list[0].CreatedAt, us(1))
	}

	r := deviceRequest("t1", "c1")
	r.CreatedAt = us(2)
	must(t, "CreateRequest", s.CreateRequest(ctx, r))
	gr, _ := s.RequestByTicket(ctx, "t1")
	checkTime(t, "request created", gr.CreatedAt, us(2))
	checkTime(t, "request never polled", gr.LastPollAt, time.Time{})
	r2 := deviceRequest("t2", "c1")
	r2.LastPollAt, r2.CreatedAt = us(3), us(3)
	must(t, "CreateRequest polled", s.CreateRequest(ctx, r2))
	gr, _ = s.RequestByUserCode(ctx, "uc-t2")
	checkTime(t, "request last poll", gr.LastPollAt, us(3))
	_, err = s.PollDevice(ctx, "t1", us(4), time.Second)
	must(t, "PollDevice", err)
	gr, _ = s.RequestByDeviceCode(ctx, h("dc-t1"))
	checkTime(t, "request polled", gr.LastPollAt, us(4))

	k := code("k1", "c1", "f1")
	k.AuthTime, k.ExpiresAt = us(5), us(6)
	must(t, "CreateCode", s.CreateCode(ctx, k))
	gk, _, err := s.UseCode(ctx, h("k1"), us(7))
	must(t, "UseCode", err)
	checkTime(t, "code auth time", gk.AuthTime, us(5))
	checkTime(t, "code expiry", gk.ExpiresAt, us(6))
	checkTime(t, "code used (first)", gk.UsedAt, us(7))
	gk, _, _ = s.UseCode(ctx, h("k1"), us(8))
	checkTime(t, "code auth time (replay)", gk.AuthTime, us(5))
	checkTime(t, "code used (replay)", gk.UsedAt, us(7))

	g := grant("f1", "c1")
	g.CreatedAt, g.LastUsedAt, g.ExpiresAt = us(8), us(8), us(30)
	must(t, "CreateGrant", s.CreateGrant(ctx, g))
	gg, err := s.GrantByID(ctx, "f1")
	must(t, "GrantByID", err)
	checkTime(t, "grant created", gg.CreatedAt, us(8))
	checkTime(t, "grant last used", gg.LastUsedAt, us(8))
	checkTime(t, "grant expiry", gg.ExpiresAt, us(30))
	checkTime(t, "grant never revoked", gg.RevokedAt, time.Time{})

	tk := token("r1", oauth.KindRefresh, "c1", "f1")
	tk.AuthTime, tk.ExpiresAt, tk.CreatedAt = us(9), us(10), us(11)
	must(t, "CreateTokens", s.CreateTokens(ctx, tk))
	gt := getToken(t, s, "r1")
	checkTime(t, "token auth time", gt.AuthTime, us(9))
	checkTime(t, "token expiry", gt.ExpiresAt, us(10))
	checkTime(t, "token created", gt.CreatedAt, us(11))
	checkTime(t, "token never revoked", gt.RevokedAt, time.Time{})
	a2 := token("a2", oauth.KindAccess, "c1", "f1")
	a2.ExpiresAt, a2.CreatedAt = us(40), us(12)
	must(t, "RotateRefresh", s.RotateRefresh(ctx, h("r1"), us(12), a2))
	revokedAt(t, s, "r1", us(12))
	if gs, err := s.GrantsByUser(ctx, "u1", us(12)); err != nil || len(gs) != 1 {
		t.Fatalf("GrantsByUser: %+v %v, want f1", gs, err)
	} else {
		checkTime(t, "grant used", gs[0].LastUsedAt, us(12))
		checkTime(t, "grant expiry moved", gs[0].ExpiresAt, us(40))
	}
	rg, err := s.RevokeGrants(ctx, oauth.GrantFilter{ID: "f1"}, us(13))
	must(t, "RevokeGrants", err)
	if len(rg) != 1 {
		t.Fatalf("RevokeGrants: %+v", rg)
	}
	checkTime(t, "grant revoked (returned)", rg[0].RevokedAt, us(13))
	gg, _ = s.GrantByID(ctx, "f1")
	checkTime(t, "grant revoked", gg.RevokedAt, us(13))
	revokedAt(t, s, "a2", us(13))
	ls, err := s.ClaimLogouts(ctx, us(14), time.Microsecond, 1)
	must(t, "ClaimLogouts", err)
	if len(ls) != 1 {
		t.Fatalf("ClaimLogouts: %+v", ls)
	}
	checkTime(t, "logout created", ls[0].CreatedAt, us(13))
	checkTime(t, "logout leased until", ls[0].NextAt, us(15))
	must(t, "RetryLogout", s.RetryLogout(ctx, ls[0].ID, us(16)))
	ls, _ = s.ClaimLogouts(ctx, us(16), time.Microsecond, 1)
	if len(ls) != 1 {
		t.Fatalf("ClaimLogouts after RetryLogout: %+v", ls)
	}
	checkTime(t, "logout leased again until", ls[0].NextAt, us(17))

	// Below the microsecond: kept or dropped, never rounded up.
	fine := base.Add(999 * time.Nanosecond)
	grants(t, s, "c1", "f3")
	tk = token("r3", oauth.KindRefresh, "c1", "f3")
	tk.CreatedAt = fine
	must(t, "CreateTokens (ns)", s.CreateTokens(ctx, tk))
	if got := getToken(t, s, "r3").CreatedAt; !got.Equal(fine) && !got.Equal(fine.Truncate(time.Microsecond)) {
		t.Errorf("a time of %v came back as %v", fine, got)
	}
}

// Keys that no row can hold (NUL, invalid UTF-8: a query string can carry
// them) find nothing, never an internal error; free text with such bytes
// (a state or a nonce) is stored.
func testOddKeysAndText(t *testing.T, s OAuthAndCoreStore) {
	seed(t, s, []string{"t1"})
	c := confidential("c1", t0)
	c.Name = "caf\xe9 \x00app"
	c.RedirectURIs = []string{"https://c1.example/cb?q=\xff"}
	must(t, "CreateClient with odd bytes", s.CreateClient(ctx, c))
	gc, err := s.ClientByID(ctx, "c1")
	if err != nil || !strings.HasPrefix(gc.Name, "caf") || len(gc.RedirectURIs) != 1 || !strings.HasPrefix(gc.RedirectURIs[0], "https://c1.example/cb?q=") {
		t.Errorf("the client with odd bytes: %+v %v", gc, err)
	}
	r := authRequest("t1", "c1")
	r.State, r.Nonce, r.RedirectURI = "st\xff\x00x", "n\xfe", "https://c1.example/cb?q=\xff"
	must(t, "CreateRequest with odd bytes", s.CreateRequest(ctx, r))
	gr, err := s.RequestByTicket(ctx, "t1")
	if err != nil || !strings.HasPrefix(gr.State, "st") || !strings.HasPrefix(gr.Nonce, "n") || gr.ClientID != "c1" {
		t.Errorf("the request with odd bytes: %+v %v", gr, err)
	}
	k := code("k1", "c1", "f1")
	k.Nonce, k.Scope = "n\xfe\x00", "openid \xff"
	must(t, "CreateCode with odd bytes", s.CreateCode(ctx, k))
	if gk, first, err := s.UseCode(ctx, h("k1"), t0); err != nil || !first || !strings.HasPrefix(gk.Nonce, "n") {
		t.Errorf("the code with odd bytes: %+v %v %v", gk, first, err)
	}
	g := grant("f1", "c1")
	g.Scope = "openid \xff\x00"
	must(t, "CreateGrant with odd bytes", s.CreateGrant(ctx, g))
	if gg, err := s.GrantByID(ctx, "f1"); err != nil || !strings.HasPrefix(gg.Scope, "openid ") {
		t.Errorf("the grant with odd bytes: %+v %v", gg, err)
	}

	for _, k := range []string{"a\x00b", "\xff\xfe", "c1\x00"} {
		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, server.ErrNotFound) {
				t.Errorf("%s(%q): %v, want not_found", what, k, err)
			}
		}
		_, err := s.ClientByID(ctx, k)
		notFound("ClientByID", err)
		notFound("DeleteClient", s.DeleteClient(ctx, k))
		_, err = s.RequestByTicket(ctx, k)
		notFound("RequestByTicket", err)
		_, err = s.RequestByUserCode(ctx, k)
		notFound("RequestByUserCode", err)
		_, err = s.PollDevice(ctx, k, t0, time.Second)
		notFound("PollDevice", err)
		_, err = s.GrantByID(ctx, k)
		notFound("GrantByID", err)
		_, err = s.RevokeGrants(ctx, oauth.GrantFilter{ID: k}, t0)
		notFound("RevokeGrants by ID", err)
		_, err = s.RevokeGrants(ctx, oauth.GrantFilter{ID: "f1", DeviceID: k}, t0)
		notFound("RevokeGrants by ID and device", err)
		notFound("UpdateClient", s.UpdateClient(ctx, oauth.Client{ID: k, Name: "x"}))
		odd := grant("f9", "c1")
		odd.DeviceID = k
		if err := s.CreateGrant(ctx, odd); !errors.Is(err, server.ErrConflict) {
			t.Errorf("CreateGrant from the device %q: %v, want conflict", k, err)
		}
		for _, f := range []oauth.GrantFilter{{UserID: k}, {DeviceID: k}} {
			if gs, err := s.RevokeGrants(ctx, f, t0); err != nil || len(gs) != 0 {
				t.Errorf("RevokeGrants(%+v): %+v %v, want none", f, gs, err)
			}
		}
		if gs, err := s.GrantsByUser(ctx, k, t0); err != nil || len(gs) != 0 {
			t.Errorf("GrantsByUser(%q): %+v %v, want none", k, gs, err)
		}
		if err := s.RetryLogout(ctx, k, t0); err != nil {
			t.Errorf("RetryLogout(%q): %v", k, err)
		}
		if err := s.DeleteLogout(ctx, k); err != nil {
			t.Errorf("DeleteLogout(%q): %v", k, err)
		}
	}
	if _, err := s.ClientByID(ctx, "c1"); err != nil {
		t.Errorf("the client after odd deletes: %v", err)
	}
	grantRevokedAt(t, s, "f1", time.Time{})
}
