// Package storetest is the conformance suite that every server.Store
// backend must pass, so that backends cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"qrlogin/server"
)

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) server.Store) {
	tests := map[string]func(t *testing.T, s server.Store){
		"Users":                 testUsers,
		"TicketCompareAndSwap":  testTicketCAS,
		"TicketRefs":            testTicketRefs,
		"UpdaterErrorStoresNil": testUpdaterError,
		"DevicesAndSessions":    testDevicesAndSessions,
		"DueAndPurge":           testDueAndPurge,
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
		ID: id, Version: 1, State: server.StatePending, PollSecretHash: server.HashToken(id), CurrentRef: ref,
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
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
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

// A rotated ticket is found by every ref it had, and its current one moves.
func testTicketRefs(t *testing.T, s server.Store) {
	s.CreateTicket(ctx, ticket("t1", "ref1"))
	tk, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.CurrentRef = "ref2"
		return nil, nil
	})
	if err != nil || tk.CurrentRef != "ref2" {
		t.Fatalf("rotate: %+v %v", tk, err)
	}
	for _, ref := range []string{"ref1", "ref2"} {
		got, err := s.TicketByRef(ctx, ref)
		if err != nil || got.ID != "t1" || got.CurrentRef != "ref2" {
			t.Fatalf("TicketByRef(%s): %+v %v", ref, got, err)
		}
	}
	if _, err := s.TicketByRef(ctx, "ref3"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("unknown ref: %v", err)
	}
}

// An updater's error stores nothing, and is returned as it is.
func testUpdaterError(t *testing.T, s server.Store) {
	s.CreateTicket(ctx, ticket("t1", "ref1"))
	mine := server.Errorf(server.CodeExpired, "mine")
	_, err := s.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.CurrentRef = server.StateRedeemed, "other"
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
	s.CreateUser(ctx, user("u1", "alice"))
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
	s.CreateTicket(ctx, ticket("t1", "ref1"))
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
	revoked, err := s.RevokeDevice(ctx, "d2", t0.Add(time.Minute))
	if err != nil || len(revoked) != 1 || revoked[0].ID != "s1" {
		t.Fatalf("RevokeDevice: %+v %v", revoked, err)
	}
	if list, _ := s.ListSessions(ctx, "u1", t0); len(list) != 0 {
		t.Fatalf("sessions after the phone's logout: %+v", list)
	}
	if _, err := s.RevokeSession(ctx, "u1", "s1", t0); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func testDueAndPurge(t *testing.T, s server.Store) {
	s.CreateTicket(ctx, ticket("t1", "ref1"))
	tk2 := ticket("t2", "ref2")
	tk2.ExpiresAt = t0.Add(time.Hour)
	s.CreateTicket(ctx, tk2)
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
