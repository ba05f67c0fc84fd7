package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
)

// fakeLookup is a Lookup from what the test knows: a ref of each ticket,
// and the token of each session (whose liveness it reads from the store).
type fakeLookup struct {
	store  server.Store
	refs   map[string]string // ticket id -> one of its refs
	tokens map[string]string // session id -> its token
}

func (f *fakeLookup) TicketRefs(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if ref, ok := f.refs[id]; ok {
			out[id] = ref
		}
	}
	return out, nil
}

func (f *fakeLookup) LiveSessions(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range ids {
		tok, ok := f.tokens[id]
		if !ok {
			continue
		}
		sess, err := f.store.SessionByTokenHash(ctx, server.HashToken(tok))
		if err != nil {
			return nil, err
		}
		out[id] = sess.Live(now)
	}
	return out, nil
}

// twoNodes is two services on one store, as two nodes on one database whose
// bus lost every notice: what b does, a's watchers are not told.
type twoNodes struct {
	a, b *Service
	dev  server.Device // alice's phone
	tok  string        // its device token
	look *fakeLookup
}

func newTwoNodes(t *testing.T, storeA func(server.Store) server.Store) *twoNodes {
	t.Helper()
	ctx := context.Background()
	store := openSQLite(t)
	clk := testclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) // standing still: nothing rotates or expires
	n := &twoNodes{a: newRotating(t, storeA(store), clk), b: newRotating(t, store, clk),
		look: &fakeLookup{store: store, refs: map[string]string{}, tokens: map[string]string{}}}
	if _, err := n.b.Register(ctx, api.RegisterRequest{Username: "alice", Password: "password1", DisplayName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	lr, err := n.b.MobileLogin(ctx, api.MobileLoginRequest{Username: "alice", Password: "password1", Device: api.MobileDevice{ID: "phone"}})
	if err != nil {
		t.Fatal(err)
	}
	n.tok = lr.DeviceToken
	if n.dev, err = n.b.AuthDevice(ctx, lr.DeviceToken, "phone"); err != nil {
		t.Fatal(err)
	}
	return n
}

// ticket starts a ticket on b, watched on a, and walks it on b through the
// states of path (scanned, confirmed, redeemed). It returns the ticket as
// created, a's subscription, and the session token if it was redeemed.
func (n *twoNodes) ticket(t *testing.T, path ...server.State) (server.Ticket, *hub.Sub[TicketMsg], string) {
	t.Helper()
	ctx := context.Background()
	tk, resp, err := n.b.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	n.look.refs[tk.ID] = tk.Ref
	sub := n.a.Tickets.Subscribe(tk.ID, 16)
	t.Cleanup(sub.Close)
	var sr api.ScanResponse
	token := ""
	for _, st := range path {
		switch st {
		case server.StateScanned:
			sr, err = n.b.Scan(ctx, n.dev, resp.QRPayload, "192.0.2.1")
		case server.StateConfirmed:
			approve := true
			_, err = n.b.Confirm(ctx, n.dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve})
		case server.StateRedeemed:
			var cur server.Ticket
			if cur, err = n.b.store.TicketByID(ctx, tk.ID); err == nil {
				var rr api.RedeemResponse
				rr, err = n.b.Redeem(ctx, cur, "")
				token = rr.SessionToken
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	return tk, sub, token
}

// events returns what sub holds now.
func events(sub *hub.Sub[TicketMsg]) []api.TicketEvent {
	var out []api.TicketEvent
	for {
		select {
		case m := <-sub.C:
			out = append(out, m.Event)
		default:
			return out
		}
	}
}

// Resync sends each watched ticket's state as it is now (a pending one's
// QR, as rotated; a scanned one's masked user), and revoked to the watchers
// of a session that ended, but nothing to those of a live session.
func TestResyncTellsWatchersWhatTheyMissed(t *testing.T) {
	ctx := context.Background()
	n := newTwoNodes(t, func(s server.Store) server.Store { return s })
	pending, pendingSub, _ := n.ticket(t)
	_, scannedSub, _ := n.ticket(t, server.StateScanned)
	_, confirmedSub, _ := n.ticket(t, server.StateScanned, server.StateConfirmed)
	_, redeemedSub, liveToken := n.ticket(t, server.StateScanned, server.StateConfirmed, server.StateRedeemed)
	_, _, revokedToken := n.ticket(t, server.StateScanned, server.StateConfirmed, server.StateRedeemed)
	live, err := n.b.AuthSession(ctx, liveToken)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := n.b.AuthSession(ctx, revokedToken)
	if err != nil {
		t.Fatal(err)
	}
	n.look.tokens[live.ID], n.look.tokens[revoked.ID] = liveToken, revokedToken
	liveSub, revokedSub := n.a.Sessions.Subscribe(live.ID, 4), n.a.Sessions.Subscribe(revoked.ID, 4)
	defer liveSub.Close()
	defer revokedSub.Close()
	if err := n.b.RevokeSession(ctx, n.dev, revoked.ID); err != nil {
		t.Fatal(err)
	}
	gone := n.a.Tickets.Subscribe("nosuchticket", 4) // a ticket purged meanwhile
	defer gone.Close()
	for _, sub := range []*hub.Sub[TicketMsg]{pendingSub, scannedSub, confirmedSub, redeemedSub} {
		if evs := events(sub); len(evs) != 0 {
			t.Fatalf("a's watcher heard %+v from b without a bus", evs)
		}
	}

	n.a.Resync(ctx, n.look)

	evs := events(pendingSub)
	_, exp := n.a.qr(pending, 0)
	if len(evs) != 1 || evs[0].Type != api.EventRotated || evs[0].Ref != pending.Ref ||
		evs[0].QRPayload != api.Payload(n.a.cfg.BaseURL, pending.Ref) || evs[0].ExpiresAt == nil || !evs[0].ExpiresAt.Equal(exp) {
		t.Errorf("pending ticket: %+v, want its current QR as one rotated event", evs)
	}
	evs = events(scannedSub)
	if len(evs) != 1 || evs[0].Type != api.EventState || evs[0].State != server.StateScanned ||
		evs[0].User == nil || evs[0].User.DisplayName != Mask("Alice") || evs[0].MatchRequired == nil {
		t.Errorf("scanned ticket: %+v, want one scanned event with the masked user", evs)
	}
	for name, sub := range map[server.State]*hub.Sub[TicketMsg]{server.StateConfirmed: confirmedSub, server.StateRedeemed: redeemedSub} {
		if evs := events(sub); len(evs) != 1 || evs[0].Type != api.EventState || evs[0].State != name {
			t.Errorf("%s ticket: %+v, want one %s event", name, evs, name)
		}
	}
	if got := len(gone.C); got != 0 {
		t.Errorf("the watcher of a ticket that is gone got %d events", got)
	}
	select {
	case ev := <-revokedSub.C:
		if ev.Type != api.EventRevoked {
			t.Errorf("revoked session: %+v", ev)
		}
	default:
		t.Error("the watcher of a revoked session was not told")
	}
	if len(liveSub.C) != 0 {
		t.Errorf("the watcher of a live session got %+v", <-liveSub.C)
	}
}

// hookStore runs hook once, right after the first TicketByID has read its
// ticket: a change that lands while Resync holds what it read.
type hookStore struct {
	server.Store
	once sync.Once
	hook func()
}

func (h *hookStore) TicketByID(ctx context.Context, id string) (server.Ticket, error) {
	t, err := h.Store.TicketByID(ctx, id)
	h.once.Do(h.hook)
	return t, err
}

// A ticket that changes, and is published to, between Resync's read and its
// publication is not sent the state Resync read, which is older: Resync
// reads it again and sends what it is now.
func TestResyncDoesNotSendAnOlderState(t *testing.T) {
	ctx := context.Background()
	hs := &hookStore{}
	n := newTwoNodes(t, func(s server.Store) server.Store { hs.Store = s; return hs })
	tk, _, err := n.b.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	n.look.refs[tk.ID] = tk.Ref
	sub := n.a.Tickets.Subscribe(tk.ID, 16)
	defer sub.Close()
	sr, err := n.b.Scan(ctx, n.dev, api.Payload(n.b.cfg.BaseURL, tk.Ref), "192.0.2.1") // a's watcher misses it
	if err != nil {
		t.Fatal(err)
	}
	hooked := false
	hs.hook = func() { // the phone confirms on a itself, which tells a's watcher
		hooked = true
		approve := true
		if _, err := n.a.Confirm(ctx, n.dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve}); err != nil {
			t.Error(err)
		}
	}

	n.a.Resync(ctx, n.look)

	if !hooked {
		t.Fatal("Resync did not read the ticket")
	}
	evs := events(sub)
	if len(evs) == 0 {
		t.Fatal("the watcher heard nothing")
	}
	for _, ev := range evs {
		if ev.Type != api.EventState || ev.State != server.StateConfirmed {
			t.Fatalf("the watcher heard %+v, want confirmed only (never the scanned that Resync read first)", evs)
		}
	}
}
