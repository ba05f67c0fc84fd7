package client_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/node"
)

// startNode runs the real server on loopback with a fresh SQLite file.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Start(ctx, node.Config{Addr: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "qrlogin.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := n.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
	})
	return n
}

// watcher runs Watch in the background and hands over its events.
type watcher struct {
	events chan api.TicketEvent
	done   chan error
}

func watch(ctx context.Context, c *client.Client, tk api.CreateTicketResponse) *watcher {
	w := &watcher{events: make(chan api.TicketEvent, 32), done: make(chan error, 1)}
	go func() {
		w.done <- c.Watch(ctx, tk.Ref, tk.PollSecret, func(ev api.TicketEvent) { w.events <- ev })
	}()
	return w
}

// next returns the next state event, skipping rotations. Events delivered
// before Watch returned come first.
func (w *watcher) next(t *testing.T) api.TicketEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.events:
			if ev.Type == api.EventState {
				return ev
			}
		case err := <-w.done:
			select {
			case ev := <-w.events:
				w.done <- err // for end
				if ev.Type == api.EventState {
					return ev
				}
				continue
			default:
			}
			t.Fatalf("Watch ended early: %v", err)
		case <-timeout:
			t.Fatal("no event within 10 s")
		}
	}
}

// end waits for Watch to return.
func (w *watcher) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-w.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return within 10 s")
		return nil
	}
}

// login registers name and logs a phone in.
func login(t *testing.T, c *client.Client, name, device string) *client.Mobile {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Register(ctx, api.RegisterRequest{Username: name, Password: "correct horse battery", DisplayName: name}); err != nil &&
		!errors.Is(err, server.ErrConflict) {
		t.Fatalf("Register %s: %v", name, err)
	}
	resp, err := c.MobileLogin(ctx, api.MobileLoginRequest{Username: name, Password: "correct horse battery",
		Device: api.MobileDevice{ID: device, Name: "test phone", Platform: "test"}})
	if err != nil {
		t.Fatalf("MobileLogin %s: %v", name, err)
	}
	if resp.DeviceToken == "" || resp.User.Username != name {
		t.Fatalf("MobileLogin = %+v", resp)
	}
	return c.Mobile(resp.DeviceToken, resp.DeviceID)
}

// signIn walks one ticket from creation to redeem with desk watching, and
// returns the session.
func signIn(t *testing.T, desk *client.Client, m *client.Mobile) api.RedeemResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev := api.DesktopDevice{Name: "test desktop", OS: "linux", App: "client test"}
	tk, err := desk.CreateTicket(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	w := watch(ctx, desk, tk)
	if ev := w.next(t); ev.State != server.StatePending {
		t.Fatalf("first event %+v, want pending", ev)
	}
	if _, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret); !errors.Is(err, server.ErrConflict) {
		t.Errorf("Redeem before confirmation = %v, want conflict", err)
	}
	scan, err := m.Scan(ctx, tk.QRPayload)
	if err != nil {
		t.Fatal(err)
	}
	if scan.Desktop.Name != dev.Name || scan.Desktop.OS != dev.OS || scan.Desktop.App != dev.App ||
		scan.Desktop.IP == "" || scan.Desktop.UserAgent != "client-test/1" || scan.ScanToken == "" {
		t.Errorf("Scan = %+v, want what the desktop sent", scan)
	}
	if _, err := m.Scan(ctx, tk.QRPayload); !errors.Is(err, server.ErrConflict) {
		t.Errorf("second Scan = %v, want conflict", err)
	}
	ev := w.next(t)
	if ev.State != server.StateScanned || ev.User == nil || ev.User.DisplayName == "" || ev.MatchRequired == nil {
		t.Fatalf("event %+v, want scanned with a masked user", ev)
	}
	yes := true
	req := api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &yes}
	if scan.MatchRequired {
		req.MatchCode = tk.MatchCode
	}
	if state, err := m.Confirm(ctx, req); err != nil || state != server.StateConfirmed {
		t.Fatalf("Confirm = %q, %v", state, err)
	}
	if ev := w.next(t); ev.State != server.StateConfirmed {
		t.Fatalf("event %+v, want confirmed", ev)
	}
	if err := w.end(t); err != nil {
		t.Fatalf("Watch after confirmed = %v, want nil", err)
	}
	s, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret)
	if err != nil || s.SessionToken == "" {
		t.Fatalf("Redeem = %+v, %v", s, err)
	}
	if _, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret); !errors.Is(err, server.ErrExpired) {
		t.Errorf("second Redeem = %v, want expired", err)
	}
	return s
}

// watchSession runs WatchSession in the background; give its socket a
// moment to open before the session ends.
func watchSession(ctx context.Context, c *client.Client, token string) chan error {
	done := make(chan error, 1)
	go func() { done <- c.WatchSession(ctx, token, func(api.SessionEvent) {}) }()
	time.Sleep(300 * time.Millisecond)
	return done
}

// seesRevoked checks that a WatchSession returned nil within 2 s.
func seesRevoked(t *testing.T, done chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: WatchSession = %v, want nil after revoked", what, err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("%s: the desktop was not told within a second", what)
	}
}

// onlyNew returns the one session of list whose id is not in old.
func onlyNew(t *testing.T, list []api.Session, old ...string) api.Session {
	t.Helper()
	var found []api.Session
	for _, s := range list {
		known := false
		for _, id := range old {
			known = known || s.ID == id
		}
		if !known {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("sessions %+v: want exactly one new", list)
	}
	return found[0]
}

func TestAgainstServer(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := client.New(n.URL())
	desk := client.New(n.URL(), client.WithUserAgent("client-test/1"))
	deskLP := client.New(n.URL(), client.WithUserAgent("client-test/1"), client.WithLongPoll())

	m := login(t, c, "alice", "alice-phone-1-0000000000")
	other := login(t, c, "alice", "alice-phone-2-0000000000")

	// The account's other phone hears of new desktop sessions.
	phoneEvents := make(chan api.MobileEvent, 8)
	go other.Events(ctx, func(ev api.MobileEvent) { phoneEvents <- ev })
	time.Sleep(300 * time.Millisecond) // let the phone's socket open

	// Over the WebSocket.
	wsSession := signIn(t, desk, m)
	list, err := m.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wsListed := onlyNew(t, list)
	if wsListed.Device.Name != "test desktop" || wsListed.Device.App != "client test" {
		t.Errorf("session %+v, want the desktop's device", wsListed)
	}
	select {
	case ev := <-phoneEvents:
		if ev.Type != api.EventSessionCreated || ev.Session == nil || ev.Session.ID != wsListed.ID {
			t.Errorf("phone event %+v, want session_created of %s", ev, wsListed.ID)
		}
	case <-time.After(5 * time.Second):
		t.Error("the other phone heard of no new session")
	}

	// Over the long-poll.
	lpSession := signIn(t, deskLP, m)
	list, err = m.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %+v, %v; want 2", list, err)
	}
	if lp := onlyNew(t, list, wsListed.ID); lp.Device.Name != "test desktop" {
		t.Errorf("session %+v, want the desktop's device", lp)
	}

	for _, s := range []api.RedeemResponse{wsSession, lpSession} {
		me, err := desk.Me(ctx, s.SessionToken)
		if err != nil || me.DisplayName != "alice" || me.ID == "" {
			t.Fatalf("Me = %+v, %v", me, err)
		}
	}

	// A remote log-out tells that desktop, and only it.
	wsDone := watchSession(ctx, desk, wsSession.SessionToken)
	if err := m.RevokeSession(ctx, wsListed.ID); err != nil {
		t.Fatal(err)
	}
	seesRevoked(t, wsDone, "RevokeSession")
	if _, err := desk.Me(ctx, wsSession.SessionToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me after revoke = %v, want unauthorized", err)
	}
	if err := desk.WatchSession(ctx, wsSession.SessionToken, func(api.SessionEvent) {}); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("WatchSession of a revoked session = %v, want unauthorized", err)
	}
	if _, err := desk.Me(ctx, lpSession.SessionToken); err != nil {
		t.Errorf("Me of the other session after revoke = %v", err)
	}

	// The phone's logout ends the desktops it confirmed.
	lpDone := watchSession(ctx, desk, lpSession.SessionToken)
	if err := m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	seesRevoked(t, lpDone, "mobile Logout")
	if _, err := m.Sessions(ctx); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Sessions after Logout = %v, want unauthorized", err)
	}
	if _, err := other.Sessions(ctx); err != nil {
		t.Errorf("the other phone after the first logged out: %v", err)
	}
}

func TestAgainstServerEndings(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, desk := range []*client.Client{client.New(n.URL()), client.New(n.URL(), client.WithLongPoll())} {
		m := login(t, desk, "bob", "bob-phone-00000000000000")
		dev := api.DesktopDevice{Name: "d", OS: "linux", App: "t"}

		// Denied.
		tk, err := desk.CreateTicket(ctx, dev)
		if err != nil {
			t.Fatal(err)
		}
		w := watch(ctx, desk, tk)
		w.next(t)
		scan, err := m.Scan(ctx, tk.QRPayload)
		if err != nil {
			t.Fatal(err)
		}
		w.next(t)
		no := false
		if state, err := m.Confirm(ctx, api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &no}); err != nil || state != server.StateDenied {
			t.Fatalf("deny = %q, %v", state, err)
		}
		if ev := w.next(t); ev.State != server.StateDenied {
			t.Errorf("event %+v, want denied", ev)
		}
		if err := w.end(t); err != nil {
			t.Errorf("Watch after denied = %v", err)
		}
		if _, err := desk.Redeem(ctx, tk.Ref, tk.PollSecret); err == nil {
			t.Error("a denied ticket was redeemed")
		}

		// Cancelled.
		tk, err = desk.CreateTicket(ctx, dev)
		if err != nil {
			t.Fatal(err)
		}
		w = watch(ctx, desk, tk)
		w.next(t)
		if err := desk.Cancel(ctx, tk.Ref, tk.PollSecret); err != nil {
			t.Fatal(err)
		}
		if ev := w.next(t); ev.State != server.StateCancelled {
			t.Errorf("event %+v, want cancelled", ev)
		}
		if err := w.end(t); err != nil {
			t.Errorf("Watch after cancelled = %v", err)
		}
		if _, err := m.Scan(ctx, tk.QRPayload); !errors.Is(err, server.ErrExpired) {
			t.Errorf("scan of a cancelled ticket = %v, want expired", err)
		}

		// Refusals.
		if err := desk.Watch(ctx, tk.Ref, "wrong-secret", func(api.TicketEvent) {}); !errors.Is(err, server.ErrNotFound) && !errors.Is(err, server.ErrUnauthorized) {
			t.Errorf("Watch with a wrong secret = %v, want not_found or unauthorized", err)
		}
		if _, err := m.Scan(ctx, api.Payload(n.URL(), "AAAAAAAAAAAAAAAAAAAAAA")); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("scan of an unknown ref = %v, want not_found", err)
		}
	}
}
