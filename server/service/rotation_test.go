package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// clock is a Config.Now that moves only when told. The rotator sleeps in
// real time until the slot it computed from it, and rotates what is due by
// it: with the clock standing still nothing rotates, and a step past a slot
// rotates, within one RotateEvery of real time, everything due by then.
type clock = testclock.Clock

// batchStore records the size of each RotateTickets call, once it returns.
type batchStore struct {
	server.Store
	mu      sync.Mutex
	batches []int
}

func (b *batchStore) RotateTickets(ctx context.Context, rs []server.Rotation, now time.Time) ([]server.RotationResult, error) {
	res, err := b.Store.RotateTickets(ctx, rs, now)
	b.mu.Lock()
	b.batches = append(b.batches, len(rs))
	b.mu.Unlock()
	return res, err
}

// take returns the sizes recorded since the last call.
func (b *batchStore) take() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.batches
	b.batches = nil
	return out
}

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

// Tickets that fall due at one slot are rotated in one store transaction;
// each watcher is told its new ref, which scans while the old one does not;
// a scanned ticket stops rotating, and so does one whose watchers left
// more than watchGrace ago.
func TestRotationBatchesDueTickets(t *testing.T) {
	ctx := context.Background()
	store := &batchStore{Store: openSQLite(t)}
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newRotating(t, store, clk)
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

	const n = 50
	tks := make([]server.Ticket, n)
	subs := make([]*hub.Sub[TicketMsg], n)
	releases := make([]func(), n)
	for i := range tks {
		if tks[i], _, err = s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0); err != nil {
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

	clk.Add(testEvery + rotationGather) // past the first slot, the same for all, by the gathering wait
	refs := make([]string, n)
	for i, sub := range subs {
		ev := next(t, sub)
		if ev.Type != api.EventRotated || ev.Ref == "" || ev.Ref == tks[i].CurrentRef || ev.QRPayload != api.Payload(s.cfg.BaseURL, ev.Ref) ||
			ev.ExpiresAt == nil || !ev.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
			t.Fatalf("ticket %d: %+v, want a rotated event with a new ref that lives a minute", i, ev)
		}
		refs[i] = ev.Ref
	}
	if got := store.take(); len(got) != 1 || got[0] != n {
		t.Errorf("rotations per store call: %v, want one call of %d", got, n)
	}
	// The even ones are scanned by the new QR; the odd ones' old QR is refused.
	for i := range tks {
		payload := api.Payload(s.cfg.BaseURL, refs[i])
		if i%2 == 1 {
			payload = api.Payload(s.cfg.BaseURL, tks[i].CurrentRef)
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

	// The odd ones' watchers leave; within watchGrace they still rotate,
	// and the scanned ones are forgotten.
	for i := 1; i < n; i += 2 {
		releases[i]()
	}
	clk.Add(testEvery + rotationGather)
	for i := 1; i < n; i += 2 {
		if ev := next(t, subs[i]); ev.Type != api.EventRotated || ev.Ref == refs[i] {
			t.Fatalf("ticket %d, second slot: %+v", i, ev)
		}
	}
	waitWatched(t, s, n/2)
	for i := 0; i < n; i += 2 {
		none(t, "a scanned ticket", subs[i])
	}

	// Past watchGrace, they are forgotten at their next slot, unrotated.
	clk.Add(watchGrace + testEvery + rotationGather)
	waitWatched(t, s, 0)
	for i := range subs {
		none(t, "after the watchers left", subs[i])
	}
	for i := 0; i < n; i += 2 {
		releases[i]()
	}
}

// Two nodes that watch the same tickets rotate each once per slot: the
// second to reach the slot finds it rotated already, and keeps watching.
func TestRotationTwoNodesRotateOnce(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	stores := []*batchStore{{Store: db}, {Store: db}}
	nodes := []*Service{newRotating(t, stores[0], clk), newRotating(t, stores[1], clk)}
	const n = 20
	tks := make([]server.Ticket, n)
	var subs [2][n]*hub.Sub[TicketMsg]
	for i := range tks {
		var err error
		if tks[i], _, err = nodes[0].NewTicket(ctx, server.Desktop{Name: "PC"}, 0); err != nil {
			t.Fatal(err)
		}
		for j, s := range nodes {
			subs[j][i] = s.Tickets.Subscribe(tks[i].ID, 16)
			defer subs[j][i].Close()
			defer s.Watch(tks[i])()
		}
	}
	events := make([]int, n)
	for slot := 1; slot <= 3; slot++ {
		clk.Add(testEvery + rotationGather)
		for j, st := range stores { // both nodes have been through the slot
			for deadline, done := time.Now().Add(5*time.Second), 0; done < n; time.Sleep(5 * time.Millisecond) {
				for _, b := range st.take() {
					done += b
				}
				if time.Now().After(deadline) {
					t.Fatalf("slot %d: node %d tried %d rotations, want %d", slot, j, done, n)
				}
			}
		}
		for i, tk := range tks {
			got, err := db.TicketByRef(ctx, tk.CurrentRef)
			if err != nil || got.Version != int64(1+slot) {
				t.Fatalf("slot %d, ticket %d: version %d (%v), want %d: one rotation a slot", slot, i, got.Version, err, 1+slot)
			}
			for events[i] < slot {
				var m TicketMsg
				select {
				case m = <-subs[0][i].C:
				case m = <-subs[1][i].C:
				case <-time.After(5 * time.Second):
					t.Fatalf("slot %d, ticket %d: %d rotated events, want %d", slot, i, events[i], slot)
				}
				events[i]++
				if m.Event.Type != api.EventRotated || events[i] == slot && m.Event.Ref != got.CurrentRef {
					t.Fatalf("slot %d, ticket %d: told %+v, stored ref %s", slot, i, m.Event, got.CurrentRef)
				}
			}
		}
		for _, s := range nodes {
			if w := watched(s); w != n {
				t.Fatalf("slot %d: a node watches %d tickets, want %d", slot, w, n)
			}
		}
	}
	for i := range tks {
		for j := range nodes {
			none(t, "a second rotated event", subs[j][i])
		}
	}
}

// barrierBus is a Bus whose Notify of a rotation returns only once n such
// calls are waiting together.
type barrierBus struct {
	n       int
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

func (b *barrierBus) Notify(ctx context.Context, n Notice) error {
	if n.Kind != NoticeRotated {
		return nil
	}
	b.mu.Lock()
	if b.waiting++; b.waiting == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The rotations of one batch are handed to the bus together, not each
// after the round trip of the one before.
func TestRotationNotifiesOtherNodesTogether(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	const n = 5
	bus := &barrierBus{n: n, all: make(chan struct{})}
	s := newRotatingBus(t, openSQLite(t), clk, bus)
	for range n {
		tk, _, err := s.NewTicket(ctx, server.Desktop{Name: "PC"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Watch(tk)()
	}
	clk.Add(testEvery + rotationGather)
	select {
	case <-bus.all:
	case <-time.After(4 * time.Second):
		bus.mu.Lock()
		defer bus.mu.Unlock()
		t.Fatalf("%d notices of rotations were waiting for the bus together, want %d", bus.waiting, n)
	}
}

// failingStore fails every RotateTickets, and counts the calls.
type failingStore struct {
	server.Store
	mu    sync.Mutex
	calls int
}

func (f *failingStore) RotateTickets(context.Context, []server.Rotation, time.Time) ([]server.RotationResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return nil, errors.New("the database is down")
}

func (f *failingStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// A store that fails is asked again later, not again and again, even for
// a ticket whose last slot (its RotateUntil) is behind.
func TestRotationBacksOffWhenTheStoreFails(t *testing.T) {
	store := &failingStore{Store: openSQLite(t)}
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newRotating(t, store, clk)
	tk, _, err := s.NewTicket(context.Background(), server.Desktop{Name: "PC"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Watch(tk)()
	clk.Add(2 * time.Hour) // past RotateUntil (an hour)
	deadline := time.Now().Add(5 * time.Second)
	for store.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no rotation was tried")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the clock stands still: nothing is due again
	if n := store.count(); n != 1 {
		t.Errorf("RotateTickets was called %d times while nothing was due again, want 1", n)
	}
}
