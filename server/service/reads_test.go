package service

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// readCounter counts the reads of a ticket outside an update, of
// accounts by id and of devices by token.
type readCounter struct {
	server.Store
	reads, users, devices atomic.Int64
}

func (c *readCounter) DeviceByTokenHash(ctx context.Context, h []byte) (server.Device, error) {
	c.devices.Add(1)
	return c.Store.DeviceByTokenHash(ctx, h)
}

func (c *readCounter) UserByID(ctx context.Context, id string) (server.User, error) {
	c.users.Add(1)
	return c.Store.UserByID(ctx, id)
}

func (c *readCounter) TicketByID(ctx context.Context, id string) (server.Ticket, error) {
	c.reads.Add(1)
	return c.Store.TicketByID(ctx, id)
}

func (c *readCounter) TicketByRef(ctx context.Context, ref string) (server.Ticket, error) {
	c.reads.Add(1)
	return c.Store.TicketByRef(ctx, ref)
}

// countedTicket starts two nodes on one store, node a's reads counted, and
// a ticket on node b.
func countedTicket(t *testing.T) (*twoNodes, *readCounter, server.Ticket, api.CreateTicketResponse) {
	t.Helper()
	counter := &readCounter{}
	n := newTwoNodes(t, func(s server.Store) server.Store { counter.Store = s; return counter })
	tk, resp, err := n.b.NewTicket(context.Background(), server.Desktop{Name: "PC"}, 0, server.AppNone)
	if err != nil {
		t.Fatal(err)
	}
	return n, counter, tk, resp
}

// credentialCase is a desktop credential and the answer it gets.
type credentialCase struct {
	ref, secret string
	want        server.Code
}

// wrongCredentials are credentials that name no ticket the desktop holds,
// beside resp's: no secret, a wrong one, an unknown ref, a malformed one.
func wrongCredentials(resp api.CreateTicketResponse) []credentialCase {
	return []credentialCase{
		{resp.Ref, "", server.CodeUnauthorized},
		{resp.Ref, "wrong", server.CodeNotFound},
		{server.NewRef(), resp.PollSecret, server.CodeNotFound},
		{"not a ref", resp.PollSecret, server.CodeNotFound},
	}
}

// Follow subscribes to the ticket before it reads it, once for a sealed
// ref, and answers a wrong or missing secret, or an unknown ref, as
// AuthTicket does.
func TestFollowSubscribesThenReadsOnce(t *testing.T) {
	ctx := context.Background()
	n, counter, tk, resp := countedTicket(t)
	var subscribed []string
	got, ev, err := n.a.Follow(ctx, resp.Ref, resp.PollSecret, func(id string) {
		if counter.reads.Load() != 0 {
			t.Error("subscribed after the ticket was read")
		}
		subscribed = append(subscribed, id)
	})
	if err != nil || got.ID != tk.ID || ev.State != server.StatePending || ev.Ref != resp.Ref {
		t.Fatalf("Follow = %s, %+v, %v; want %s pending with its first ref", got.ID, ev, err, tk.ID)
	}
	if len(subscribed) != 1 || subscribed[0] != tk.ID || counter.reads.Load() != 1 {
		t.Fatalf("subscribed to %v with %d reads; want [%s] and 1", subscribed, counter.reads.Load(), tk.ID)
	}

	for _, c := range wrongCredentials(resp) {
		if _, _, err := n.a.Follow(ctx, c.ref, c.secret, func(string) {}); server.ErrorCode(err) != c.want {
			t.Errorf("Follow(%q, %q): %v, want %s", c.ref, c.secret, err, c.want)
		}
	}

	// A device grant's ticket does not rotate: its ref is stored.
	grant, gresp, err := n.b.NewTicket(ctx, server.Desktop{Name: "TV"}, time.Minute, server.AppDevice)
	if err != nil {
		t.Fatal(err)
	}
	subscribed = nil
	got, ev, err = n.a.Follow(ctx, gresp.Ref, gresp.PollSecret, func(id string) { subscribed = append(subscribed, id) })
	if err != nil || got.ID != grant.ID || ev.Ref != gresp.Ref || len(subscribed) == 0 || subscribed[len(subscribed)-1] != grant.ID {
		t.Fatalf("Follow of a stored ref = %s, %+v, %v, subscribed %v", got.ID, ev, err, subscribed)
	}
}

// A scan of a sealed ref and its confirm read the ticket only in their
// updates; a confirm by another device is refused and changes nothing.
func TestScanAndConfirmReadInTheUpdate(t *testing.T) {
	ctx := context.Background()
	n, counter, tk, resp := countedTicket(t)
	sr, err := n.a.Scan(ctx, n.dev, resp.QRPayload, "192.0.2.1")
	if err != nil || sr.ScanToken == "" || sr.Desktop.Name != "PC" {
		t.Fatalf("Scan = %+v, %v", sr, err)
	}
	approve := true
	other := n.dev
	other.ID = "another-device"
	if _, err := n.a.Confirm(ctx, other, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve}); server.ErrorCode(err) != server.CodeForbidden {
		t.Fatalf("Confirm by another device: %v, want forbidden", err)
	}
	if cur, _ := n.b.store.TicketByID(ctx, tk.ID); cur.State != server.StateScanned {
		t.Fatalf("after the refused confirm the ticket is %s", cur.State)
	}
	if _, err := n.a.Confirm(ctx, n.dev, api.ConfirmRequest{ScanToken: "unknown", Approve: &approve}); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("Confirm of an unknown scan token: %v, want not_found", err)
	}
	body, err := n.a.Confirm(ctx, n.dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve})
	if err != nil || body.State != server.StateConfirmed {
		t.Fatalf("Confirm = %+v, %v", body, err)
	}
	if r := counter.reads.Load(); r != 0 {
		t.Fatalf("scan and confirm read the ticket %d times outside their updates", r)
	}
}

// A login's redeem without a DPoP proof reads the ticket only in its
// update, which checks the poll secret before anything else: a wrong one
// is a credential error that changes nothing, as AuthTicket's would be.
// The scan, the scanned event and the redeem read the account once.
func TestRedeemRefReadsInTheUpdate(t *testing.T) {
	ctx := context.Background()
	n, counter, tk, resp := countedTicket(t)
	sr, err := n.a.Scan(ctx, n.dev, resp.QRPayload, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	approve := true
	if _, err := n.a.Confirm(ctx, n.dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve}); err != nil {
		t.Fatal(err)
	}
	for _, c := range wrongCredentials(resp) {
		if _, err := n.a.RedeemRef(ctx, c.ref, c.secret); server.ErrorCode(err) != c.want || !IsCredential(err) {
			t.Errorf("RedeemRef(%q, %q): %v (credential: %v), want %s of the credential", c.ref, c.secret, err, IsCredential(err), c.want)
		}
	}
	if cur, _ := n.b.store.TicketByID(ctx, tk.ID); cur.State != server.StateConfirmed {
		t.Fatalf("after the wrong credentials the ticket is %s", cur.State)
	}
	counter.reads.Store(0)
	rr, err := n.a.RedeemRef(ctx, resp.Ref, resp.PollSecret)
	if err != nil || rr.SessionToken == "" || rr.User.DisplayName != "Alice" {
		t.Fatalf("RedeemRef = %+v, %v", rr, err)
	}
	if r := counter.reads.Load(); r != 0 {
		t.Errorf("the redeem read the ticket %d times outside its update", r)
	}
	if u := counter.users.Load(); u != 1 {
		t.Errorf("scan, confirm and redeem read the account %d times, want 1", u)
	}
	_, err = n.a.RedeemRef(ctx, resp.Ref, resp.PollSecret)
	if server.ErrorCode(err) != server.CodeExpired || IsCredential(err) {
		t.Errorf("a second redeem: %v, want expired, not a credential error", err)
	}
}

// A scanned notice from another node names the account and the match
// requirement, so the watching node builds the event without reading the
// ticket; one from a node of before (neither named) still reads it.
func TestDeliverScannedWithoutATicketRead(t *testing.T) {
	ctx := context.Background()
	n, counter, tk, resp := countedTicket(t)
	sub := n.a.Tickets.Subscribe(tk.ID, 16)
	defer sub.Close()
	if _, err := n.b.Scan(ctx, n.dev, resp.QRPayload, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		notice Notice
		reads  int64
	}{
		{Notice{Kind: NoticeState, ID: tk.ID, State: server.StateScanned, User: n.dev.UserID, Match: true}, 0},
		{Notice{Kind: NoticeState, ID: tk.ID, State: server.StateScanned}, 1},
	} {
		counter.reads.Store(0)
		n.a.Deliver(ctx, c.notice)
		ev := next(t, sub)
		if ev.State != server.StateScanned || ev.User == nil || ev.User.DisplayName != Mask("Alice") || ev.MatchRequired == nil {
			t.Fatalf("delivered %+v", ev)
		}
		if *ev.MatchRequired != c.notice.Match {
			t.Errorf("match_required %v, want %v (as the ticket has it: %v)", *ev.MatchRequired, c.notice.Match, c.notice.User == "")
		}
		if r := counter.reads.Load(); r != c.reads {
			t.Errorf("notice %+v: %d ticket reads, want %d", c.notice, r, c.reads)
		}
	}
}

// A whole login on one node, as its requests come (the desktop's watch,
// the phone's scan and confirm with its token checked each time, the
// desktop's redeem), reads outside its writes the ticket once (the
// watch), the device twice, and the account only the first time.
func TestLoginReads(t *testing.T) {
	ctx := context.Background()
	n, counter, _, _ := countedTicket(t)
	for i, wantUsers := range []int64{1, 0} {
		_, resp, err := n.b.NewTicket(ctx, server.Desktop{Name: "PC"}, 0, server.AppNone)
		if err != nil {
			t.Fatal(err)
		}
		counter.reads.Store(0)
		counter.users.Store(0)
		counter.devices.Store(0)
		if _, _, err := n.a.Follow(ctx, resp.Ref, resp.PollSecret, func(string) {}); err != nil {
			t.Fatal(err)
		}
		d, err := n.a.AuthDevice(ctx, n.tok, "phone")
		if err != nil {
			t.Fatal(err)
		}
		sr, err := n.a.Scan(ctx, d, resp.QRPayload, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if d, err = n.a.AuthDevice(ctx, n.tok, "phone"); err != nil {
			t.Fatal(err)
		}
		approve := true
		if _, err := n.a.Confirm(ctx, d, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.a.RedeemRef(ctx, resp.Ref, resp.PollSecret); err != nil {
			t.Fatal(err)
		}
		if r, d, u := counter.reads.Load(), counter.devices.Load(), counter.users.Load(); r != 1 || d != 2 || u != wantUsers {
			t.Errorf("login %d read the ticket %d times, the device %d and the account %d; want 1, 2 and %d", i+1, r, d, u, wantUsers)
		}
	}
}
