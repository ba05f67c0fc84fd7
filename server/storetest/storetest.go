// Package storetest is the conformance suite that every server.Store
// backend must pass, so that backends cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) server.Store) {
	tests := map[string]func(t *testing.T, s server.Store){
		"Users":                     testUsers,
		"TicketCompareAndSwap":      testTicketCAS,
		"TicketRefs":                testTicketRefs,
		"UpdaterErrorStoresNil":     testUpdaterError,
		"DevicesAndSessions":        testDevicesAndSessions,
		"DueAndPurge":               testDueAndPurge,
		"Times":                     testTimes,
		"DeviceLoginRace":           testDeviceLoginRace,
		"RaceStoresOneSession":      testRaceStoresOneSession,
		"OddKeysAndText":            testOddKeysAndText,
		"TouchNeverGoesBack":        testTouchNeverGoesBack,
		"SessionKeyBinding":         testSessionKeyBinding,
		"DesktopKeys":               testDesktopKeys,
		"DueSkipsFinal":             testDueSkipsFinal,
		"TicketByID":                testTicketByID,
		"ServerKey":                 testServerKey,
		"ExtendTickets":             testExtendTickets,
		"LogoutEndsLoginsInFlight":  testLogoutEndsLoginsInFlight,
		"LogoutCoversEarlierLogins": testLogoutCoversEarlierLogins,
		"PurgeSessions":             testPurgeSessions,
		"CheckWrites":               testCheckWrites,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

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

func testUsers(t *testing.T, s server.Store) {
	if err := s.CreateUser(ctx, user("u1", "Alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, user("u2", "alice")); !errors.Is(err, server.ErrConflict) {
		t.Fatalf("duplicate username (other case): %v, want conflict", err)
	}
	u, err := s.UserByUsername(ctx, "ALICE")
	if err != nil || u.ID != "u1" || !u.CreatedAt.Equal(t0) {
		t.Fatalf("UserByUsername: %+v %v", u, err)
	}
	if _, err := s.UserByID(ctx, "nope"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("missing user: %v, want not_found", err)
	}
}

// Of racing compare-and-swaps of one ticket out of pending, exactly one wins.
func testTicketCAS(t *testing.T, s server.Store) {
	if err := s.CreateTicket(ctx, ticket("t1", "ref1")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 20 {
		wg.Go(func() {
			_, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
				if tk.State != server.StatePending {
					return nil, server.ErrConflict
				}
				tk.State = server.StateScanned
				return nil, nil
			})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, server.ErrConflict) {
				t.Errorf("losing update: %v, want conflict", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d updates won, want 1", wins)
	}
	tk, err := s.TicketByRef(ctx, "ref1")
	if err != nil || tk.State != server.StateScanned || tk.Version != 2 {
		t.Fatalf("after the race: %+v %v", tk, err)
	}
}

// A ticket that does not rotate is found by its ref; a rotating one (its
// refs are sealed) by its id only. An update keeps the ID, the Ref and the
// App, and
// one by scan token finds the ticket that holds the token's hash.
func testTicketRefs(t *testing.T, s server.Store) {
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	rot := ticket("t2", "ref2")
	rot.RotateEvery, rot.App = 20*time.Second, server.AppAuthorize
	must(t, s.CreateTicket(ctx, rot))
	if got, err := s.TicketByRef(ctx, "ref1"); err != nil || got.ID != "t1" {
		t.Fatalf("TicketByRef(ref1): %+v %v", got, err)
	}
	if _, err := s.TicketByRef(ctx, "ref2"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("TicketByRef of a rotating ticket's ref: %v, want not_found", err)
	}
	if got, err := s.TicketByID(ctx, "t2"); err != nil || got.Ref != "ref2" || got.RotateEvery != 20*time.Second || got.App != server.AppAuthorize {
		t.Fatalf("TicketByID(t2): %+v %v", got, err)
	}
	tk, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.ID, tk.Ref, tk.App = "t9", "ref9", server.AppDevice
		tk.State, tk.ScanTokenHash = server.StateScanned, server.HashToken("scan1")
		return nil, nil
	})
	if err != nil || tk.ID != "t1" || tk.Ref != "ref1" || tk.App != server.AppNone {
		t.Fatalf("an update that changes ID, Ref and App: %+v %v", tk, err)
	}
	if got, err := s.TicketByRef(ctx, "ref1"); err != nil || got.Ref != "ref1" || got.App != server.AppNone || got.State != server.StateScanned {
		t.Fatalf("after the update: %+v %v", got, err)
	}
	for _, k := range []string{"ref9", "ref3"} {
		if _, err := s.TicketByRef(ctx, k); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("TicketByRef(%s): %v, want not_found", k, err)
		}
	}
	tk, err = s.UpdateTicketByScanToken(ctx, server.HashToken("scan1"), func(tk *server.Ticket) (*server.Session, error) {
		if tk.ID != "t1" {
			t.Errorf("the scan token found %s, want t1", tk.ID)
		}
		tk.State = server.StateConfirmed
		return nil, nil
	})
	if err != nil || tk.ID != "t1" || tk.State != server.StateConfirmed || tk.Version != 3 {
		t.Fatalf("UpdateTicketByScanToken: %+v %v", tk, err)
	}
	for _, h := range [][]byte{nil, server.HashToken("scan2")} {
		_, err := s.UpdateTicketByScanToken(ctx, h, func(*server.Ticket) (*server.Session, error) {
			t.Error("update called for a token no ticket holds")
			return nil, nil
		})
		if !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("UpdateTicketByScanToken(%x): %v, want not_found", h, err)
		}
	}
}

// An updater's error stores nothing, and is returned as it is.
func testUpdaterError(t *testing.T, s server.Store) {
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	mine := server.Errorf(server.CodeExpired, "mine")
	_, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.Ref = server.StateRedeemed, "other"
		return &server.Session{ID: "s1"}, mine
	})
	if err != mine {
		t.Fatalf("got %v, want the updater's error", err)
	}
	tk, _ := s.TicketByRef(ctx, "ref1")
	if tk.State != server.StatePending || tk.Version != 1 {
		t.Fatalf("stored despite the error: %+v", tk)
	}
	if _, err := s.TicketByRef(ctx, "other"); !errors.Is(err, server.ErrNotFound) {
		t.Fatal("the new ref was stored despite the error")
	}
}

func testDevicesAndSessions(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	d1 := server.Device{ID: "d1", UserID: "u1", ClientID: "phone", TokenHash: server.HashToken("tok1"), CreatedAt: t0, LastSeenAt: t0}
	if err := s.CreateDevice(ctx, d1); err != nil {
		t.Fatal(err)
	}
	d2 := d1
	d2.ID, d2.TokenHash = "d2", server.HashToken("tok2")
	if err := s.CreateDevice(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DeviceByTokenHash(ctx, server.HashToken("tok1")); d.RevokedAt.IsZero() {
		t.Fatal("a new login of the same phone left the old token live")
	}
	// A session made in the same transaction as its ticket's move.
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	sess := server.Session{ID: "s1", UserID: "u1", DeviceID: "d2", TokenHash: server.HashToken("stok"), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.SessionID = server.StateRedeemed, "s1"
		return &sess, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByTokenHash(ctx, server.HashToken("stok"))
	if err != nil || got.ID != "s1" || !got.Live(t0) {
		t.Fatalf("session: %+v %v", got, err)
	}
	if list, _ := s.ListSessions(ctx, "u1", t0); len(list) != 1 {
		t.Fatalf("ListSessions: %+v", list)
	}
	if _, err := s.RevokeSession(ctx, "other-user", "s1", t0); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("another account revoked the session: %v", err)
	}
	revoked, cancelled, err := s.RevokeDevice(ctx, "d2", t0.Add(time.Minute))
	if err != nil || len(revoked) != 1 || revoked[0].ID != "s1" || len(cancelled) != 0 {
		t.Fatalf("RevokeDevice: %+v %+v %v", revoked, cancelled, err)
	}
	if list, _ := s.ListSessions(ctx, "u1", t0); len(list) != 0 {
		t.Fatalf("sessions after the phone's logout: %+v", list)
	}
	if _, err := s.RevokeSession(ctx, "u1", "s1", t0); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func testDueAndPurge(t *testing.T, s server.Store) {
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	tk2 := ticket("t2", "ref2")
	tk2.ExpiresAt = t0.Add(time.Hour)
	must(t, s.CreateTicket(ctx, tk2))
	due, err := s.DueTickets(ctx, t0.Add(2*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].ID != "t1" {
		t.Fatalf("DueTickets: %+v %v", due, err)
	}
	counts, _ := s.CountTicketsByState(ctx)
	if counts[server.StatePending] != 2 {
		t.Fatalf("counts: %v", counts)
	}
	n, err := s.DeleteTicketsBefore(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purge removed %d (%v), want the expired one", n, err)
	}
	if _, err := s.TicketByRef(ctx, "ref1"); !errors.Is(err, server.ErrNotFound) {
		t.Fatal("the purged ticket's ref still resolves")
	}
}

// Times come back equal to the microsecond at least (PostgreSQL keeps no
// more), in UTC whatever zone they were given in (the API prints them), and
// an unset time stays the zero time (Live and revocation read it).
func testTimes(t *testing.T, s server.Store) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.FixedZone("CET", 3600))
	checks := func(what string, pairs ...time.Time) {
		t.Helper()
		for i := 0; i < len(pairs); i += 2 {
			got, want := pairs[i], pairs[i+1]
			if !got.Equal(want) || got.Location() != time.UTC && !got.IsZero() {
				t.Errorf("%s, time %d: got %v, want %v in UTC", what, i/2, got, want)
			}
		}
	}
	u := user("u1", "alice")
	u.CreatedAt = base
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	gu, _ := s.UserByID(ctx, "u1")
	checks("user", gu.CreatedAt, base)

	d := server.Device{ID: "d1", UserID: "u1", ClientID: "phone", TokenHash: server.HashToken("tok"), CreatedAt: base, LastSeenAt: base.Add(time.Microsecond)}
	if err := s.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	gd, _ := s.DeviceByTokenHash(ctx, d.TokenHash)
	checks("device", gd.CreatedAt, base, gd.LastSeenAt, base.Add(time.Microsecond), gd.RevokedAt, time.Time{})

	tk := ticket("t1", "ref1")
	tk.CreatedAt, tk.ExpiresAt, tk.RotateUntil, tk.UpdatedAt = base, base.Add(time.Minute+time.Microsecond), base.Add(5*time.Minute), base
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	gt, _ := s.TicketByRef(ctx, "ref1")
	checks("new ticket", gt.CreatedAt, base, gt.ExpiresAt, tk.ExpiresAt, gt.RotateUntil, tk.RotateUntil, gt.UpdatedAt, base,
		gt.ScannedAt, time.Time{}, gt.ConfirmedAt, time.Time{})
	scanned := base.Add(2 * time.Microsecond)
	sess := server.Session{ID: "s1", UserID: "u1", DeviceID: "d1", TokenHash: server.HashToken("stok"), CreatedAt: scanned, LastSeenAt: scanned, ExpiresAt: base.Add(time.Hour)}
	if _, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.ScannedAt, tk.ConfirmedAt, tk.UpdatedAt = server.StateRedeemed, scanned, scanned, scanned
		return &sess, nil
	}); err != nil {
		t.Fatal(err)
	}
	gt, _ = s.TicketByRef(ctx, "ref1")
	checks("updated ticket", gt.ScannedAt, scanned, gt.ConfirmedAt, scanned, gt.UpdatedAt, scanned, gt.CreatedAt, base)
	gs, _ := s.SessionByTokenHash(ctx, sess.TokenHash)
	checks("session", gs.CreatedAt, scanned, gs.LastSeenAt, scanned, gs.ExpiresAt, sess.ExpiresAt, gs.RevokedAt, time.Time{})
	if !gs.Live(base) {
		t.Errorf("a new session is not live: %+v", gs)
	}
}

// Of logins of one phone at once, exactly one token stays live, as when
// they come one after the other (each revokes the earlier ones).
func testDeviceLoginRace(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	const rounds, n = 5, 12
	for r := range rounds {
		client := fmt.Sprint("phone", r)
		tok := func(i int) []byte { return server.HashToken(fmt.Sprint(client, "tok", i)) }
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				d := server.Device{ID: fmt.Sprint(client, "d", i), UserID: "u1", ClientID: client, TokenHash: tok(i), CreatedAt: t0, LastSeenAt: t0}
				if err := s.CreateDevice(ctx, d); err != nil {
					t.Errorf("login %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		live := 0
		for i := range n {
			d, err := s.DeviceByTokenHash(ctx, tok(i))
			if err != nil {
				t.Fatal(err)
			}
			if d.RevokedAt.IsZero() {
				live++
			}
		}
		if live != 1 {
			t.Fatalf("round %d: %d of %d racing logins of one phone left live, want 1", r, live, n)
		}
	}
}

// Of racing redeems of one ticket, only the winner's session is stored.
func testRaceStoresOneSession(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	tk := ticket("t1", "ref1")
	tk.State = server.StateConfirmed
	must(t, s.CreateTicket(ctx, tk))
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			id := fmt.Sprint("s", i)
			_, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
				if tk.State != server.StateConfirmed {
					return nil, server.ErrConflict
				}
				tk.State, tk.SessionID = server.StateRedeemed, id
				return &server.Session{ID: id, UserID: "u1", DeviceID: "d1", TokenHash: server.HashToken(id), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, nil
			})
			if err != nil && !errors.Is(err, server.ErrConflict) {
				t.Errorf("redeem %d: %v, want conflict", i, err)
			}
		})
	}
	wg.Wait()
	list, err := s.ListSessions(ctx, "u1", t0)
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions after racing redeems: %+v %v, want 1", list, err)
	}
	if got, _ := s.TicketByRef(ctx, "ref1"); got.SessionID != list[0].ID || got.Version != 2 {
		t.Fatalf("ticket %+v, session %s", got, list[0].ID)
	}
}

// Keys that no row can hold (NUL, invalid UTF-8: a URL path or a header can
// carry them) find nothing, never an internal error; free text with such
// bytes (a User-Agent cut mid-character) is stored; and an empty scan token
// finds no unscanned ticket.
func testOddKeysAndText(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	tk := ticket("t1", "ref1")
	tk.Desktop.UserAgent = "Mozilla/5.0 (caf\xe9) \xe2\x82"
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatalf("a User-Agent of odd bytes: %v", err)
	}
	got, err := s.TicketByRef(ctx, "ref1")
	if err != nil || got.Desktop.Name != "PC" || !strings.HasPrefix(got.Desktop.UserAgent, "Mozilla/5.0 (caf") {
		t.Fatalf("the ticket with odd bytes: %+v %v", got, err)
	}
	for _, k := range []string{"a\x00b", "\xff\xfe", "nope"} {
		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, server.ErrNotFound) {
				t.Errorf("%s(%q): %v, want not_found", what, k, err)
			}
		}
		_, err := s.UserByUsername(ctx, k)
		notFound("UserByUsername", err)
		_, err = s.UserByID(ctx, k)
		notFound("UserByID", err)
		_, err = s.TicketByRef(ctx, k)
		notFound("TicketByRef", err)
		called := false
		_, err = s.UpdateTicket(ctx, k, func(*server.Ticket) (*server.Session, error) { called = true; return nil, nil })
		notFound("UpdateTicket", err)
		if called {
			t.Errorf("UpdateTicket(%q) called the updater", k)
		}
		_, err = s.RevokeSession(ctx, "u1", k, t0)
		notFound("RevokeSession", err)
		_, err = s.RevokeSession(ctx, k, "s1", t0)
		notFound("RevokeSession of account", err)
		if err := s.TouchSession(ctx, k, t0); err != nil {
			t.Errorf("TouchSession(%q): %v", k, err)
		}
		if list, err := s.ListSessions(ctx, k, t0); err != nil || len(list) != 0 {
			t.Errorf("ListSessions(%q): %+v %v", k, list, err)
		}
		if list, tickets, err := s.RevokeDevice(ctx, k, t0); err != nil || len(list) != 0 || len(tickets) != 0 {
			t.Errorf("RevokeDevice(%q): %+v %+v %v", k, list, tickets, err)
		}
	}
}

// A session's last use never moves back: requests finish out of order.
func testTouchNeverGoesBack(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	sess := server.Session{ID: "s1", UserID: "u1", DeviceID: "d1", TokenHash: server.HashToken("stok"), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) { return &sess, nil }); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(2 * time.Minute), t0.Add(time.Minute)} {
		if err := s.TouchSession(ctx, "s1", at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByTokenHash(ctx, sess.TokenHash)
	if err != nil || !got.LastSeenAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("last seen %v (%v), want the later touch", got.LastSeenAt, err)
	}
}

// A session keeps the thumbprint of the key it is bound to, and a bearer
// session has none, wherever a session is read back.
func testSessionKeyBinding(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	must(t, s.CreateTicket(ctx, ticket("t1", "ref1")))
	must(t, s.CreateTicket(ctx, ticket("t2", "ref2")))
	bound := server.Session{ID: "s1", UserID: "u1", DeviceID: "d1", TokenHash: server.HashToken("bound"), CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(time.Hour), KeyThumbprint: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
	plain := bound
	plain.ID, plain.TokenHash, plain.KeyThumbprint = "s2", server.HashToken("plain"), ""
	for id, sess := range map[string]*server.Session{"t1": &bound, "t2": &plain} {
		if _, err := s.UpdateTicket(ctx, id, func(*server.Ticket) (*server.Session, error) { return sess, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []server.Session{bound, plain} {
		got, err := s.SessionByTokenHash(ctx, want.TokenHash)
		if err != nil || got.KeyThumbprint != want.KeyThumbprint {
			t.Errorf("session %s: thumbprint %q (%v), want %q", want.ID, got.KeyThumbprint, err, want.KeyThumbprint)
		}
	}
	list, err := s.ListSessions(ctx, "u1", t0)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions: %+v %v", list, err)
	}
	for _, got := range list {
		if want := map[string]string{"s1": bound.KeyThumbprint, "s2": ""}[got.ID]; got.KeyThumbprint != want {
			t.Errorf("listed %s: thumbprint %q, want %q", got.ID, got.KeyThumbprint, want)
		}
	}
	revoked, err := s.RevokeSession(ctx, "u1", "s1", t0.Add(time.Minute))
	if err != nil || revoked.KeyThumbprint != bound.KeyThumbprint {
		t.Errorf("RevokeSession: thumbprint %q (%v)", revoked.KeyThumbprint, err)
	}
}

// Enrolled desktops: enrolling again keeps the key's ID and moves it to
// the new account; look-ups by thumbprint and by ticket; racing updates
// all land; removing a key revokes exactly the sessions bound to it.
func testDesktopKeys(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	must(t, s.CreateUser(ctx, user("u2", "bob")))
	k := server.DesktopKey{ID: "k1", UserID: "u1", Thumbprint: "tp1", Name: "Office PC", OS: "linux", IP: "192.0.2.1", CreatedAt: t0, LastUsedAt: t0}
	got, err := s.EnrollDesktopKey(ctx, k)
	if err != nil || got.ID != "k1" || got.UserID != "u1" || !got.CreatedAt.Equal(t0) || len(got.Requests) != 0 || !got.PendingUntil.IsZero() {
		t.Fatalf("enroll: %+v %v", got, err)
	}
	again := k
	again.ID, again.UserID, again.Name, again.LastUsedAt = "k-other", "u2", "Home PC", t0.Add(time.Hour)
	if got, err = s.EnrollDesktopKey(ctx, again); err != nil || got.ID != "k1" || got.UserID != "u2" || got.Name != "Home PC" || !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("enroll the same key again: %+v %v, want k1 moved to u2", got, err)
	}
	if list, err := s.DesktopKeysOf(ctx, "u1"); err != nil || len(list) != 0 {
		t.Errorf("u1's keys after the move: %+v %v", list, err)
	}
	if _, err := s.DesktopKeyByThumbprint(ctx, "nope"); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("unknown thumbprint: %v", err)
	}

	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.UpdateDesktopKey(ctx, "k1", func(k *server.DesktopKey) error {
				k.Requests = append(k.Requests, t0.Add(time.Duration(i)*time.Second))
				k.PendingUntil, k.TicketRef = t0.Add(time.Minute), "ref-req"
				return nil
			})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.DesktopKeyByThumbprint(ctx, "tp1")
	if err != nil || len(got.Requests) != n || !got.PendingUntil.Equal(t0.Add(time.Minute)) || got.TicketRef != "ref-req" {
		t.Fatalf("after %d racing updates: %+v %v, want %d requests and the ticket", n, got, err, n)
	}
	for i := range n { // in the order the updates ran, each kept
		if !slices.ContainsFunc(got.Requests, func(r time.Time) bool { return r.Equal(t0.Add(time.Duration(i) * time.Second)) }) {
			t.Errorf("request %d lost: %v", i, got.Requests)
		}
	}
	refused := server.Errorf(server.CodeRateLimited, "no")
	if _, err := s.UpdateDesktopKey(ctx, "k1", func(k *server.DesktopKey) error { k.Name = "X"; return refused }); err != refused {
		t.Errorf("update returning an error: %v", err)
	}
	if got, _ := s.DesktopKeyByThumbprint(ctx, "tp1"); got.Name != "Home PC" {
		t.Errorf("a refused update was stored: %+v", got)
	}

	moved := k
	moved.ID, moved.UserID, moved.LastUsedAt = "k-third", "u1", t0.Add(2*time.Hour)
	if got, err = s.EnrollDesktopKey(ctx, moved); err != nil || got.ID != "k1" || got.UserID != "u1" || !got.PendingUntil.IsZero() || got.TicketRef != "" || len(got.Requests) != n {
		t.Fatalf("enrolled by another account: %+v %v, want no request waiting and the budget kept", got, err)
	}
	if _, err = s.EnrollDesktopKey(ctx, again); err != nil { // back to u2 for what follows
		t.Fatal(err)
	}
	for i, tp := range []string{"tp1", "tp1", "tp-other", ""} {
		must(t, s.CreateTicket(ctx, ticket(fmt.Sprint("tk", i), fmt.Sprint("ref-tk", i))))
		sess := server.Session{ID: fmt.Sprint("s", i), UserID: "u2", DeviceID: "d1", TokenHash: server.HashToken(fmt.Sprint("tok", i)),
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour), KeyThumbprint: tp}
		if _, err := s.UpdateTicket(ctx, fmt.Sprint("tk", i), func(*server.Ticket) (*server.Session, error) { return &sess, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.RemoveDesktopKey(ctx, "u1", "k1", t0); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("removing another account's key: %v", err)
	}
	removed, revoked, err := s.RemoveDesktopKey(ctx, "u2", "k1", t0.Add(time.Minute))
	if err != nil || removed.ID != "k1" || len(revoked) != 2 {
		t.Fatalf("remove: %+v %+v %v, want k1 and its two sessions", removed, revoked, err)
	}
	live, err := s.ListSessions(ctx, "u2", t0.Add(2*time.Minute))
	if err != nil || len(live) != 2 {
		t.Errorf("sessions left: %+v %v, want the other key's and the bearer one", live, err)
	}
	if _, err := s.DesktopKeyByThumbprint(ctx, "tp1"); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("the removed key: %v", err)
	}
}

// A final ticket is never due, however old its deadline; limit holds.
func testDueSkipsFinal(t *testing.T, s server.Store) {
	for _, id := range []string{"t1", "t2", "t3"} {
		must(t, s.CreateTicket(ctx, ticket(id, "ref-"+id)))
	}
	if _, err := s.UpdateTicket(ctx, "t3", func(tk *server.Ticket) (*server.Session, error) {
		tk.State = server.StateRedeemed
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	due, err := s.DueTickets(ctx, later, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueTickets: %+v %v, want t1 and t2", due, err)
	}
	for _, tk := range due {
		if tk.ID == "t3" {
			t.Fatal("a redeemed ticket is due")
		}
	}
	if due, _ := s.DueTickets(ctx, later, 1); len(due) != 1 {
		t.Fatalf("DueTickets(limit 1) returned %d", len(due))
	}
	counts, _ := s.CountTicketsByState(ctx)
	if counts[server.StatePending] != 2 || counts[server.StateRedeemed] != 1 {
		t.Fatalf("counts: %v", counts)
	}
}

// A ticket is found by its id, with its rotation period; an unknown id is
// not found.
func testTicketByID(t *testing.T, s server.Store) {
	tk := ticket("t1", "ref1")
	tk.RotateEvery = 20*time.Second + 3*time.Microsecond
	must(t, s.CreateTicket(ctx, tk))
	got, err := s.TicketByID(ctx, "t1")
	if err != nil || got.ID != "t1" || got.Ref != "ref1" || got.RotateEvery != tk.RotateEvery || got.State != server.StatePending {
		t.Fatalf("TicketByID: %+v %v", got, err)
	}
	for _, id := range []string{"t2", "", "ref1", "t1\x00"} {
		if _, err := s.TicketByID(ctx, id); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("TicketByID(%q): %v, want not found", id, err)
		}
	}
}

// ExtendTickets moves the deadline of pending, unexpired tickets only, not
// past their RotateUntil, and only later; one never updated is marked
// (its Version moves) even where its deadline cannot move.
func testExtendTickets(t *testing.T, s server.Store) {
	now, until := t0.Add(30*time.Second), t0.Add(2*time.Minute)
	for _, id := range []string{"t1", "t2", "t3", "t5", "t6"} {
		tk := ticket(id, "ref-"+id)
		switch id {
		case "t6": // its deadline is its RotateUntil already
			tk.RotateUntil = tk.ExpiresAt
		case "t2":
			tk.State = server.StateScanned
		case "t3":
			tk.ExpiresAt = now
		case "t5":
			tk.RotateUntil = t0.Add(90 * time.Second)
		}
		must(t, s.CreateTicket(ctx, tk))
	}
	n, err := s.ExtendTickets(ctx, []string{"t1", "t2", "t3", "t4", "t5", "t6"}, until, now)
	if err != nil || n != 3 {
		t.Fatalf("ExtendTickets = %d, %v; want 3", n, err)
	}
	for id, want := range map[string]time.Time{"t1": until, "t5": t0.Add(90 * time.Second), "t6": t0.Add(time.Minute), "t2": t0.Add(time.Minute), "t3": now} {
		got, err := s.TicketByID(ctx, id)
		moved := id == "t1" || id == "t5" || id == "t6"
		if err != nil || !got.ExpiresAt.Equal(want) || moved != (got.Version == 2) || moved != got.UpdatedAt.Equal(now) {
			t.Errorf("%s: expires %v, version %d, updated %v (%v); want expires %v, moved %v", id, got.ExpiresAt, got.Version, got.UpdatedAt, err, want, moved)
		}
	}
	if n, err := s.ExtendTickets(ctx, []string{"t1", "t5", "t6"}, t0.Add(time.Minute), now); err != nil || n != 0 {
		t.Fatalf("an earlier deadline, or a marked ticket's that cannot move: %d, %v; want 0", n, err)
	}
}

// ServerKey stores the first key offered and returns it to every later
// call and to racing first calls; names are apart.
func testServerKey(t *testing.T, s server.Store) {
	const n = 16
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := s.ServerKey(ctx, "seal", []byte(fmt.Sprintf("key-%02d", i)))
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := range n {
		if string(keys[i]) != string(keys[0]) || !strings.HasPrefix(string(keys[0]), "key-") {
			t.Fatalf("racing first calls got %q and %q", keys[0], keys[i])
		}
	}
	if k, err := s.ServerKey(ctx, "seal", []byte("later")); err != nil || string(k) != string(keys[0]) {
		t.Fatalf("a later call got %q %v, want %q", k, err, keys[0])
	}
	if k, err := s.ServerKey(ctx, "other", []byte("other-key")); err != nil || string(k) != "other-key" {
		t.Fatalf("another name got %q %v", k, err)
	}
}

// device stores a live device of account userID with client id client,
// whose token is "tok-"+id.
func device(t *testing.T, s server.Store, id, userID, client string) {
	t.Helper()
	d := server.Device{ID: id, UserID: userID, ClientID: client, TokenHash: server.HashToken("tok-" + id), CreatedAt: t0, LastSeenAt: t0}
	if err := s.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// bound stores ticket id (ref "ref-"+id) in state, scanned by deviceID of
// account userID.
func bound(t *testing.T, s server.Store, id string, state server.State, userID, deviceID string) {
	t.Helper()
	tk := ticket(id, "ref-"+id)
	tk.State, tk.UserID, tk.DeviceID, tk.ScanTokenHash, tk.ScannedAt = state, userID, deviceID, server.HashToken("scan-"+id), t0
	if state == server.StateConfirmed {
		tk.ConfirmedAt = t0
	}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
}

// signIn stores session id (token id) of account userID, confirmed by
// deviceID, as a redeem does: ticket "t-"+id moves to redeemed at changed
// and the session is created with it.
func signIn(t *testing.T, s server.Store, id, userID, deviceID string, expires, changed time.Time) {
	t.Helper()
	bound(t, s, "t-"+id, server.StateConfirmed, userID, deviceID)
	sess := server.Session{ID: id, UserID: userID, DeviceID: deviceID, TokenHash: server.HashToken(id), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: expires}
	if _, err := s.UpdateTicket(ctx, "t-"+id, func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.SessionID, tk.UpdatedAt = server.StateRedeemed, id, changed
		return &sess, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ids returns the sorted ids of tickets or sessions.
func ids[T any](list []T, id func(T) string) string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = id(x)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func ticketID(t server.Ticket) string   { return t.ID }
func sessionID(s server.Session) string { return s.ID }

// A phone's logout cancels the logins it has in flight, scanned or
// confirmed but not redeemed, and leaves every other ticket as it was: so
// that no desktop redeems a login that the phone confirmed before it
// logged out.
func testLogoutEndsLoginsInFlight(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	must(t, s.CreateUser(ctx, user("u2", "bob")))
	device(t, s, "d1", "u1", "phone")
	device(t, s, "d3", "u1", "tablet")
	device(t, s, "e1", "u2", "phone")
	bound(t, s, "scanned", server.StateScanned, "u1", "d1")
	bound(t, s, "confirmed", server.StateConfirmed, "u1", "d1")
	bound(t, s, "denied", server.StateDenied, "u1", "d1")
	bound(t, s, "expired", server.StateExpired, "u1", "d1")
	bound(t, s, "tablet", server.StateConfirmed, "u1", "d3")
	bound(t, s, "other", server.StateConfirmed, "u2", "e1")
	must(t, s.CreateTicket(ctx, ticket("pending", "ref-pending")))
	signIn(t, s, "s1", "u1", "d1", t0.Add(time.Hour), t0)

	at := t0.Add(time.Minute)
	sessions, tickets, err := s.RevokeDevice(ctx, "d1", at)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(sessions, sessionID); got != "s1" {
		t.Errorf("sessions revoked: %s, want s1", got)
	}
	if got := ids(tickets, ticketID); got != "confirmed,scanned" {
		t.Fatalf("tickets cancelled: %s, want confirmed,scanned", got)
	}
	for _, tk := range tickets {
		stored, err := s.TicketByRef(ctx, "ref-"+tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for what, got := range map[string]server.Ticket{"returned": tk, "stored": stored} {
			if got.State != server.StateCancelled || got.Version != 2 || !got.UpdatedAt.Equal(at) || got.UpdatedAt.Location() != time.UTC ||
				got.DeviceID != "d1" || got.UserID != "u1" || got.Ref != "ref-"+tk.ID || !got.ExpiresAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("%s %s: %+v, want it cancelled at %v, version 2, the rest as it was", what, tk.ID, got, at)
			}
		}
	}
	for _, want := range []struct {
		id      string
		state   server.State
		version int64
	}{
		{"denied", server.StateDenied, 1}, {"expired", server.StateExpired, 1}, {"tablet", server.StateConfirmed, 1},
		{"other", server.StateConfirmed, 1}, {"pending", server.StatePending, 1}, {"t-s1", server.StateRedeemed, 2},
	} {
		got, err := s.TicketByRef(ctx, "ref-"+want.id)
		if err != nil || got.State != want.state || got.Version != want.version {
			t.Errorf("%s after the logout: %+v %v, want it as it was: %s, version %d", want.id, got, err, want.state, want.version)
		}
	}
	// Once more: nothing is left to end.
	if sessions, tickets, err := s.RevokeDevice(ctx, "d1", at.Add(time.Minute)); err != nil || len(sessions) != 0 || len(tickets) != 0 {
		t.Fatalf("second logout: %+v %+v %v", sessions, tickets, err)
	}
}

// A phone that logged in again with the same device id gets a new device
// row (the old token is revoked); its logout still ends what it confirmed
// under the earlier login, and nothing of another device id or account.
func testLogoutCoversEarlierLogins(t *testing.T, s server.Store) {
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	must(t, s.CreateUser(ctx, user("u2", "bob")))
	device(t, s, "d1", "u1", "phone")
	device(t, s, "d3", "u1", "tablet")
	device(t, s, "e1", "u2", "phone")
	later := t0.Add(time.Hour)
	signIn(t, s, "s1", "u1", "d1", later, t0)
	bound(t, s, "inflight", server.StateConfirmed, "u1", "d1")
	device(t, s, "d2", "u1", "phone") // the same phone logs in again
	signIn(t, s, "s2", "u1", "d2", later, t0)
	signIn(t, s, "s3", "u1", "d3", later, t0)
	signIn(t, s, "s4", "u2", "e1", later, t0)
	bound(t, s, "tablet", server.StateScanned, "u1", "d3")

	sessions, tickets, err := s.RevokeDevice(ctx, "d2", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(sessions, sessionID); got != "s1,s2" {
		t.Errorf("sessions revoked: %s, want s1,s2 (the earlier login's too)", got)
	}
	if got := ids(tickets, ticketID); got != "inflight" {
		t.Errorf("tickets cancelled: %s, want inflight (the earlier login's)", got)
	}
	for user, want := range map[string]string{"u1": "s3", "u2": "s4"} {
		if list, err := s.ListSessions(ctx, user, t0); err != nil || ids(list, sessionID) != want {
			t.Errorf("live sessions of %s: %+v %v, want %s", user, list, err, want)
		}
	}
	for id, live := range map[string]bool{"d1": false, "d2": false, "d3": true, "e1": true} {
		if d, err := s.DeviceByTokenHash(ctx, server.HashToken("tok-"+id)); err != nil || d.RevokedAt.IsZero() != live {
			t.Errorf("device %s: %+v %v, want live %v", id, d, err, live)
		}
	}
	if tk, _ := s.TicketByRef(ctx, "ref-tablet"); tk.State != server.StateScanned {
		t.Errorf("another device's ticket: %s", tk.State)
	}
}

// The purge removes sessions that ended before the cut-off and revoked
// devices, batch by batch, and nothing that is still live or named.
func testPurgeSessions(t *testing.T, s server.Store) {
	cut := t0.Add(2 * time.Hour)
	month := t0.Add(30 * 24 * time.Hour)
	must(t, s.CreateUser(ctx, user("u1", "alice")))
	for _, d := range [][2]string{{"dLive", "a"}, {"dGone", "b"}, {"dHeld", "c"}, {"dTicket", "d"}, {"dRecent", "e"}} {
		device(t, s, d[0], "u1", d[1])
	}
	signIn(t, s, "sLive", "u1", "dLive", month, t0)
	signIn(t, s, "sRevoked", "u1", "dGone", month, t0)
	signIn(t, s, "sExpired", "u1", "dGone", t0.Add(30*time.Minute), t0)
	signIn(t, s, "sHeld", "u1", "dHeld", month, t0)
	signIn(t, s, "sNamed", "u1", "dLive", month, cut.Add(time.Minute)) // its ticket outlives the cut-off
	signIn(t, s, "sRecent", "u1", "dLive", month, t0)
	revoke := func(id string, at time.Time) {
		t.Helper()
		if _, err := s.RevokeSession(ctx, "u1", id, at); err != nil {
			t.Fatal(err)
		}
	}
	revoke("sRevoked", t0.Add(time.Minute))
	revoke("sNamed", t0.Add(time.Minute))
	revoke("sRecent", cut.Add(time.Minute))
	device(t, s, "dHeld2", "u1", "c") // revokes dHeld, whose session stays live
	tk := ticket("tTicket", "ref-tTicket")
	tk.State, tk.UserID, tk.DeviceID, tk.ExpiresAt = server.StateScanned, "u1", "dTicket", cut.Add(time.Minute)
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	device(t, s, "dTicket2", "u1", "d") // revokes dTicket, whose scan is still in flight
	for _, d := range []struct {
		id string
		at time.Time
	}{{"dGone", t0.Add(time.Minute)}, {"dRecent", cut.Add(time.Minute)}} {
		if _, _, err := s.RevokeDevice(ctx, d.id, d.at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteTicketsBefore(ctx, cut); err != nil { // as the service does first
		t.Fatal(err)
	}

	// One at a time: a session; the other session and, now unnamed, its
	// device; then nothing.
	for i, want := range []int{1, 2, 0} {
		if n, err := s.PurgeSessions(ctx, cut, 1); err != nil || n != want {
			t.Fatalf("purge %d (limit 1): removed %d (%v), want %d", i, n, err, want)
		}
	}
	if n, err := s.PurgeSessions(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("purge again: removed %d (%v), want 0", n, err)
	}
	for id, kept := range map[string]bool{"sLive": true, "sRevoked": false, "sExpired": false, "sHeld": true, "sNamed": true, "sRecent": true} {
		_, err := s.SessionByTokenHash(ctx, server.HashToken(id))
		if kept && err != nil || !kept && !errors.Is(err, server.ErrNotFound) {
			t.Errorf("session %s: %v, want kept %v", id, err, kept)
		}
	}
	for id, kept := range map[string]bool{"dLive": true, "dGone": false, "dHeld": true, "dHeld2": true, "dTicket": true, "dTicket2": true, "dRecent": true} {
		_, err := s.DeviceByTokenHash(ctx, server.HashToken("tok-"+id))
		if kept && err != nil || !kept && !errors.Is(err, server.ErrNotFound) {
			t.Errorf("device %s: %v, want kept %v", id, err, kept)
		}
	}
}

// A store that takes writes says so, whenever it is asked and whatever the
// caller's clock does.
func testCheckWrites(t *testing.T, s server.Store) {
	for _, at := range []time.Time{t0, t0.Add(time.Second), t0.Add(time.Minute), t0.Add(-time.Hour)} {
		if err := s.CheckWrites(ctx, at); err != nil {
			t.Fatalf("CheckWrites at %v: %v", at, err)
		}
	}
}

// must fails the test at once on a set-up step's error: a suite that went
// on after a failed set-up would test something else than it says.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
