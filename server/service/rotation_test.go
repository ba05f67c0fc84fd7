package service

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// clock is a Config.Now that moves only when told. The rotator sleeps in
// real time until the slot it computed from it, and pushes what is due by
// it: with the clock standing still nothing rotates, and a step past a slot
// pushes, within one RotateEvery of real time, everything due by then.
type clock = testclock.Clock

const testEvery = 200 * time.Millisecond

// newRotating returns a service on store with the clock clk, rotating every
// testEvery (of clk's time) a ref that lives a minute.
func newRotating(t *testing.T, store server.Store, clk *clock) *Service {
	t.Helper()
	return newRotatingBus(t, store, clk, nil)
}

// newRotatingBus is newRotating telling bus (if not nil) of its events.
func newRotatingBus(t *testing.T, store server.Store, clk *clock, bus Bus) *Service {
	t.Helper()
	cfg := Config{
		BaseURL: "http://127.0.0.1:8080", TicketTTL: time.Minute, RotateEvery: testEvery, RotateMax: time.Hour,
		Match: MatchNever, OpenRegistration: true, Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1},
		Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if bus != nil {
		cfg.Bus = bus
	}
	s, err := New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func openSQLite(t *testing.T) server.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "qrlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// next returns the next event of sub, failing after a few seconds.
func next(t *testing.T, sub *hub.Sub[TicketMsg]) api.TicketEvent {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return m.Event
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return api.TicketEvent{}
}

// none fails if sub has an event.
func none(t *testing.T, what string, sub *hub.Sub[TicketMsg]) {
	t.Helper()
	select {
	case m := <-sub.C:
		t.Fatalf("%s: unexpected event %+v", what, m.Event)
	default:
	}
}

// watched returns how many tickets s has a watch of.
func watched(s *Service) int {
	s.rot.mu.Lock()
	defer s.rot.mu.Unlock()
	return len(s.rot.w)
}

// waitWatched waits until s watches n tickets.
func waitWatched(t *testing.T, s *Service, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); watched(s) != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d tickets watched, want %d", watched(s), n)
		}
	}
}

// phone registers alice and returns her phone.
func phone(t *testing.T, s *Service) server.Device {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Register(ctx, api.RegisterRequest{Username: "alice", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	lr, err := s.MobileLogin(ctx, api.MobileLoginRequest{Username: "alice", Password: "password1", Device: api.MobileDevice{ID: "phone"}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := s.AuthDevice(ctx, lr.DeviceToken, "phone")
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// Each watcher is told its ticket's new ref at each slot, and the store is
// not written; the new ref scans while the old one does not; a scanned
// ticket stops rotating, and so does one whose watchers left more than
// watchGrace ago.
func TestRotationPushesSealedRefs(t *testing.T) {
	ctx := context.Background()
	store := openSQLite(t)
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newRotating(t, store, clk)
	dev := phone(t, s)

	const n = 50
	tks := make([]server.Ticket, n)
	subs := make([]*hub.Sub[TicketMsg], n)
	releases := make([]func(), n)
	for i := range tks {
		var err error
		if tks[i], _, err = s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone); err != nil {
			t.Fatal(err)
		}
		subs[i] = s.Tickets.Subscribe(tks[i].ID, 16)
		defer subs[i].Close()
		releases[i] = s.Watch(tks[i])
	}
	time.Sleep(2 * testEvery)
	for i := range subs {
		none(t, "before the first slot", subs[i])
	}

	clk.Add(testEvery)
	refs := make([]string, n)
	seen := map[string]bool{}
	for i, sub := range subs {
		ev := next(t, sub)
		slot := tks[i].CreatedAt.Add(testEvery)
		if ev.Type != api.EventRotated || ev.Ref == "" || ev.Ref == tks[i].Ref || !api.ValidRef(ev.Ref) || seen[ev.Ref] ||
			ev.QRPayload != api.Payload(s.cfg.BaseURL, ev.Ref) || ev.ExpiresAt == nil || !ev.ExpiresAt.Equal(slot.Add(time.Minute)) {
			t.Fatalf("ticket %d: %+v, want a rotated event with a new ref that lives a minute from its slot", i, ev)
		}
		refs[i], seen[ev.Ref] = ev.Ref, true
		// Marked as watched (Version 2) before its second QR was pushed
		// (the clock jumped past both at once), and no more.
		if got, err := store.TicketByID(ctx, tks[i].ID); err != nil || got.Version != 2 || got.Ref != tks[i].Ref {
			t.Fatalf("ticket %d as stored after a rotation: %+v %v, want it marked as watched", i, got, err)
		}
	}
	// The even ones are scanned by the new QR; the odd ones' old QR is refused.
	for i := range tks {
		payload := api.Payload(s.cfg.BaseURL, refs[i])
		if i%2 == 1 {
			payload = api.Payload(s.cfg.BaseURL, tks[i].Ref)
		}
		_, err := s.Scan(ctx, dev, payload, "127.0.0.1")
		if i%2 == 0 && err != nil {
			t.Fatalf("ticket %d: scan of the new QR: %v", i, err)
		}
		if i%2 == 1 && server.ErrorCode(err) != server.CodeExpired {
			t.Fatalf("ticket %d: scan of the replaced QR: %v, want expired", i, err)
		}
		if i%2 == 0 {
			if ev := next(t, subs[i]); ev.State != server.StateScanned {
				t.Fatalf("ticket %d after the scan: %+v", i, ev)
			}
		}
	}
	waitWatched(t, s, n/2) // the scanned ones are forgotten at once

	// The odd ones' watchers leave; within watchGrace they still rotate.
	for i := 1; i < n; i += 2 {
		releases[i]()
	}
	clk.Add(testEvery)
	for i := 1; i < n; i += 2 {
		if ev := next(t, subs[i]); ev.Type != api.EventRotated || ev.Ref == refs[i] {
			t.Fatalf("ticket %d, second slot: %+v", i, ev)
		}
	}
	for i := 0; i < n; i += 2 {
		none(t, "a scanned ticket", subs[i])
	}

	// Past watchGrace, they are forgotten at their next slot, unrotated.
	clk.Add(watchGrace + testEvery)
	waitWatched(t, s, 0)
	for i := range subs {
		none(t, "after the watchers left", subs[i])
	}
	for i := 0; i < n; i += 2 {
		releases[i]()
	}
}

// A rotation is pushed once its slot has begun, never before: a ref
// pushed early would not scan yet.
func TestRotationNotBeforeSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 13e6, time.UTC)) // off the pushQuantum grid
	s := newRotating(t, openSQLite(t), clk)
	tk, _, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Tickets.Subscribe(tk.ID, 4)
	defer sub.Close()
	defer s.Watch(tk)()
	clk.Add(testEvery - time.Nanosecond)
	time.Sleep(2 * testEvery)
	none(t, "a nanosecond before the slot", sub)
	clk.Add(time.Nanosecond)
	if ev := next(t, sub); ev.Type != api.EventRotated || ev.Ref == tk.Ref {
		t.Fatalf("at the slot: %+v, want a rotated event with a new ref", ev)
	}
}

// quantumAfter rounds up to the pushQuantum grid, and never down.
func TestQuantumAfter(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 0},
		{time.Nanosecond, pushQuantum},
		{pushQuantum - time.Nanosecond, pushQuantum},
		{pushQuantum, pushQuantum},
		{pushQuantum + time.Nanosecond, 2 * pushQuantum},
	} {
		if got := quantumAfter(base.Add(tc.in)); !got.Equal(base.Add(tc.want)) {
			t.Errorf("quantumAfter(base+%v) = base+%v, want base+%v", tc.in, got.Sub(base), tc.want)
		}
	}
}

// Which ref is current follows from the time alone, but a ticket's refs
// are replaced only once it is watched: until then its first QR scans for
// its whole TicketTTL, as the protocol says, beside the current one. Its
// first watch marks it in the store, and from then on, on every node, the
// first QR is refused and the current one scans.
func TestRotationWithoutWatchers(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := openSQLite(t)
	s, other := newRotating(t, store, clk), newRotating(t, store, clk)
	dev := phone(t, s)
	tk, resp, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	_, resp2, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2*testEvery + testEvery/2)
	if err := s.CheckShown(ctx, resp.Ref); err != nil {
		t.Fatalf("the first QR of an unwatched ticket, two rotations on: %v", err)
	}
	if _, err := s.Scan(ctx, dev, resp2.QRPayload, "127.0.0.1"); err != nil {
		t.Fatalf("scan of an unwatched ticket's first QR, two rotations on: %v", err)
	}
	ev, _, err := s.Current(ctx, tk)
	if err != nil || ev.State != server.StatePending || ev.Ref == resp.Ref {
		t.Fatalf("current: %+v %v", ev, err)
	}
	if want := tk.CreatedAt.Add(2 * testEvery).Add(time.Minute); !ev.ExpiresAt.Equal(want) {
		t.Errorf("the current QR expires at %v, want %v", ev.ExpiresAt, want)
	}
	if err := s.CheckShown(ctx, ev.Ref); err != nil {
		t.Fatalf("the current QR: %v", err)
	}

	defer other.Watch(tk)() // on the other node
	waitFor(t, func() bool {
		cur, err := store.TicketByID(ctx, tk.ID)
		return err == nil && cur.Version > 1
	}, "the first watch did not mark the ticket")
	for name, n := range map[string]*Service{"this node": s, "the watching node": other} {
		if err := n.CheckShown(ctx, resp.Ref); server.ErrorCode(err) != server.CodeExpired {
			t.Fatalf("%s: the first QR once watched: %v, want expired", name, err)
		}
	}
	if _, err := s.Scan(ctx, dev, resp.QRPayload, "127.0.0.1"); server.ErrorCode(err) != server.CodeExpired {
		t.Fatalf("scan of the first QR once watched: %v, want expired", err)
	}
	if _, err := s.Scan(ctx, dev, ev.QRPayload, "127.0.0.1"); err != nil {
		t.Fatalf("scan of the current QR: %v", err)
	}
}

// Refs are sealed: 128 bits, all different, none containing the ticket's
// id; one whose bits are changed, or a random one, names no ticket; the
// poll secret works with any of a ticket's refs.
func TestSealedRefs(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newRotating(t, openSQLite(t), clk)
	tk, resp, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for n := range 20 {
		ref, _ := s.qr(tk, n)
		raw, err := base64.RawURLEncoding.DecodeString(ref)
		if err != nil || len(raw) != 16 || seen[ref] || strings.Contains(ref, tk.ID[:8]) {
			t.Fatalf("ref %d: %q (%v)", n, ref, err)
		}
		seen[ref] = true
		if id, m, ok := s.refs.open(ref); !ok || id != tk.ID || m != n {
			t.Fatalf("open(ref %d) = %s %d %v", n, id, m, ok)
		}
		if got, err := s.AuthTicket(ctx, ref, resp.PollSecret); err != nil || got.ID != tk.ID {
			t.Fatalf("the poll secret with ref %d: %+v %v", n, got, err)
		}
		if _, err := s.AuthTicket(ctx, ref, "wrong"); server.ErrorCode(err) != server.CodeNotFound {
			t.Fatalf("a wrong poll secret with ref %d: %v", n, err)
		}
		for bit := range 128 {
			b := slices.Clone(raw)
			b[bit/8] ^= 1 << (bit % 8)
			bad := base64.RawURLEncoding.EncodeToString(b)
			if err := s.CheckShown(ctx, bad); server.ErrorCode(err) != server.CodeNotFound {
				t.Fatalf("ref %d with bit %d changed: %v, want not found", n, bit, err)
			}
		}
	}
	for range 1000 {
		if err := s.CheckShown(ctx, server.NewRef()); server.ErrorCode(err) != server.CodeNotFound {
			t.Fatalf("a random ref: %v, want not found", err)
		}
	}
	// Another node on the same database seals with the same key.
	other := newRotating(t, s.store, clk)
	for n := range 3 {
		a, _ := s.qr(tk, n)
		b, _ := other.qr(tk, n)
		if a != b {
			t.Fatalf("ref %d: %s on one node, %s on the other", n, a, b)
		}
	}
}

// Two nodes that watch the same ticket each push its rotations to their
// own watchers, the same refs, and either node scans them.
func TestRotationTwoNodes(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	nodes := []*Service{newRotating(t, db, clk), newRotating(t, db, clk)}
	dev := phone(t, nodes[0])
	tk, _, err := nodes[0].NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	var subs [2]*hub.Sub[TicketMsg]
	for j, s := range nodes {
		subs[j] = s.Tickets.Subscribe(tk.ID, 16)
		defer subs[j].Close()
		defer s.Watch(tk)()
	}
	var ref string
	for slot := 1; slot <= 3; slot++ {
		clk.Add(testEvery)
		a, b := next(t, subs[0]), next(t, subs[1])
		if a.Type != api.EventRotated || a.Ref != b.Ref || a.Ref == ref {
			t.Fatalf("slot %d: %+v and %+v", slot, a, b)
		}
		ref = a.Ref
	}
	if _, err := nodes[1].Scan(ctx, dev, api.Payload(nodes[1].cfg.BaseURL, ref), "127.0.0.1"); err != nil {
		t.Fatalf("scan on the other node: %v", err)
	}
}

// A pending ticket nobody watches expires after TicketTTL; a watched one
// is extended, in few writes, until RotateMax, and then expires; both are
// expired by the sweep, and their watchers told.
func TestRotationExtendsWatchedTickets(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingStore{Store: openSQLite(t)}
	s, err := New(store, Config{
		BaseURL: "http://127.0.0.1:8080", TicketTTL: 3 * testEvery, RotateEvery: testEvery, RotateMax: 15 * testEvery,
		Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Run()
	watched, _, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	alone, _, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	sub, aloneSub := s.Tickets.Subscribe(watched.ID, 64), s.Tickets.Subscribe(alone.ID, 64)
	defer sub.Close()
	defer aloneSub.Close()
	defer s.Watch(watched)()
	step := testEvery / 2
	for i := range 30 { // RotateMax in steps of half a rotation
		clk.Add(step)
		time.Sleep(step)
		if i == 6 { // past its TTL, the lone ticket has expired
			if ev := next(t, aloneSub); ev.State != server.StateExpired {
				t.Fatalf("the ticket nobody watches, after its TTL: %+v", ev)
			}
		}
		if i < 29 {
			waitFor(t, func() bool {
				got, err := store.TicketByID(ctx, watched.ID)
				return err == nil && got.State == server.StatePending && got.ExpiresAt.Sub(clk.Now()) >= min(testEvery, watched.RotateUntil.Sub(clk.Now()))
			}, "the watched ticket pending, with a rotation or more left, at %v", clk.Now())
		}
	}
	for {
		if ev := next(t, sub); ev.Type == api.EventState {
			if ev.State != server.StateExpired {
				t.Fatalf("at RotateUntil: %+v, want expired", ev)
			}
			break
		}
	}
	// An extension every two rotations or so, in place of 15 rotations.
	if n := store.extensions.Load(); n < 5 || n > 8 {
		t.Errorf("%d extensions in 5 minutes, want about 7", n)
	}
}

// countingStore counts ExtendTickets calls.
type countingStore struct {
	server.Store
	extensions atomic.Int64
}

func (c *countingStore) ExtendTickets(ctx context.Context, ids []string, until, now time.Time) (int, error) {
	c.extensions.Add(1)
	return c.Store.ExtendTickets(ctx, ids, until, now)
}

// waitFor waits until ok holds, failing with the message after a few seconds.
func waitFor(t *testing.T, ok func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: "+format, args...)
		}
	}
}

// Racing scans of an unwatched ticket's first QR, a rotation on: exactly
// one wins and the others find it scanned (409), not a replaced QR (410).
func TestRacingScansOfTheFirstQR(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newRotating(t, openSQLite(t), clk)
	dev := phone(t, s)
	_, resp, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(testEvery + testEvery/2)
	const racers = 16
	codes := make(chan server.Code, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			_, err := s.Scan(ctx, dev, resp.QRPayload, "127.0.0.1")
			codes <- server.ErrorCode(err)
		})
	}
	wg.Wait()
	close(codes)
	got := map[server.Code]int{}
	for c := range codes {
		got[c]++
	}
	if got[""] != 1 || got[server.CodeConflict] != racers-1 {
		t.Fatalf("outcomes %v, want one winner and %d conflicts", got, racers-1)
	}
}

// A watch writes nothing while the ticket's first QR is current: the
// mark comes a quarter rotation before the second QR, and where RotateMax
// is TicketTTL (no deadline can move) it still marks the ticket, so that
// its first QR is refused once replaced.
func TestFirstWatchMarksBeforeTheFirstRotation(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingStore{Store: openSQLite(t)}
	s, err := New(store, Config{
		BaseURL: "http://127.0.0.1:8080", TicketTTL: time.Minute, RotateEvery: testEvery, RotateMax: time.Minute,
		Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tk, resp, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Watch(tk)()
	clk.Add(testEvery / 2)
	time.Sleep(4 * pushQuantum) // the pusher wakes at least once meanwhile
	if n := store.extensions.Load(); n != 0 {
		t.Fatalf("%d writes while the first QR is current, want none", n)
	}
	clk.Add(testEvery/4 + testEvery/8) // 7/8 of the way to the second QR
	waitFor(t, func() bool {
		cur, err := store.TicketByID(ctx, tk.ID)
		return err == nil && cur.Version > 1 && cur.ExpiresAt.Equal(tk.ExpiresAt)
	}, "the watch did not mark the ticket before its second QR, or moved its deadline")
	if err := s.CheckShown(ctx, resp.Ref); err != nil {
		t.Fatalf("the first QR while still current: %v", err)
	}
	clk.Add(testEvery + testEvery/2)
	if err := s.CheckShown(ctx, resp.Ref); server.ErrorCode(err) != server.CodeExpired {
		t.Fatalf("the first QR of a watched ticket, a rotation on: %v, want expired", err)
	}
}
