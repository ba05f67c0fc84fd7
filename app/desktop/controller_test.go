package desktop

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/service"
)

// The whole loop a person sees: a QR code that rotates in place, the scan
// with the masked name, the confirmation, the session, and the QR code again
// within a second of the phone revoking it.
func TestLoginRotateScanConfirmRevoke(t *testing.T) {
	f := newFixture(t, node.Config{TicketTTL: 2 * time.Second, RotateEvery: 300 * time.Millisecond, RotateMax: time.Minute})
	ctx := context.Background()

	first := waitView(t, f.ctrl, ViewPending, nil)
	if first.QR == nil || !strings.HasSuffix(first.QR.Payload, "/q/"+first.QR.Ref) ||
		first.QR.ImageURL != f.node.URL()+"/q/"+first.QR.Ref+".png" {
		t.Fatalf("pending view's QR = %+v", first.QR)
	}
	rotated := waitView(t, f.ctrl, ViewPending, func(v View) bool { return v.QR.Ref != first.QR.Ref })
	if _, err := f.phone.Scan(ctx, first.QR.Payload); err == nil {
		t.Fatal("scanning the replaced QR code worked; the view showed a stale code")
	}

	f.phone.approve(t, rotated.QR.Payload, "")
	signed := waitView(t, f.ctrl, ViewSignedIn, nil)
	s := signed.Session
	if s == nil || s.DisplayName != "Alice" || s.Device != "test-desktop (Linux)" || s.App != "qrlogin desktop test" ||
		s.SignedInAt.IsZero() || s.ExpiresAt.Before(time.Now()) || s.LocalIP != "127.0.0.1" {
		t.Fatalf("signed-in session = %+v", s)
	}
	if got := f.rec.states(); !slices.Equal(got, []string{ViewLoading, ViewPending, ViewScanned, ViewConfirmed, ViewSignedIn}) {
		t.Errorf("states = %v", got)
	}
	saved, err := f.store.Load()
	if err != nil || saved.Token == "" || saved.Server != f.node.URL() {
		t.Fatalf("saved session = %+v, %v", saved, err)
	}

	sessions, err := f.phone.Sessions(ctx)
	if err != nil || len(sessions) != 1 || sessions[0].Device.Name != "test-desktop" {
		t.Fatalf("phone's sessions = %+v, %v", sessions, err)
	}
	// The view shows signed in before the session's socket is open; a
	// revocation before it opens is told as "session ended" instead.
	waitSessionSocket(t, f.node.URL())
	start := time.Now()
	if err := f.phone.RevokeSession(ctx, sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	back := waitView(t, f.ctrl, ViewPending, nil)
	if d := time.Since(start); d > time.Second {
		t.Errorf("back to the QR code %v after the revocation, want within 1 s", d)
	}
	if back.Message != "You were logged out from your phone." || back.Session != nil {
		t.Errorf("view after revocation = %+v", back)
	}
	if _, err := f.store.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after revocation, the store holds a session (%v)", err)
	}
}

// Where WebSockets are blocked, the same loop runs on the long-poll.
func TestLongPollOnly(t *testing.T) {
	n := mustStartNode(t, node.Config{TicketTTL: 2 * time.Second, RotateEvery: 300 * time.Millisecond, RotateMax: time.Minute})
	p := mustPhone(t, n.URL())
	c := newTestController(t, n.URL(), FileVault{Path: t.TempDir() + "/session.json"}, &recorder{}, client.WithLongPoll())
	c.Start()
	first := waitView(t, c, ViewPending, nil)
	rotated := waitView(t, c, ViewPending, func(v View) bool { return v.QR.Ref != first.QR.Ref })
	p.approve(t, rotated.QR.Payload, "")
	waitView(t, c, ViewSignedIn, nil)
}

// The scanned view shows the masked name, the avatar and, where the server
// wants it, the code that the phone must be given.
func TestScannedShowsMatchCode(t *testing.T) {
	f := newFixture(t, node.Config{Match: service.MatchAlways})
	ctx := context.Background()
	v := waitView(t, f.ctrl, ViewPending, nil)
	scan, err := f.phone.Scan(ctx, v.QR.Payload)
	if err != nil {
		t.Fatal(err)
	}
	v = waitView(t, f.ctrl, ViewScanned, nil)
	sc := v.Scanner
	if sc == nil || sc.DisplayName == "Alice" || !strings.HasPrefix(sc.DisplayName, "A") ||
		!strings.Contains(sc.AvatarURL, "/avatars/") || len(sc.MatchCode) != 2 {
		t.Fatalf("scanner = %+v", sc)
	}
	yes := true
	if _, err := f.phone.Confirm(ctx, api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &yes, MatchCode: sc.MatchCode}); err != nil {
		t.Fatalf("confirm with the code the window shows: %v", err)
	}
	waitView(t, f.ctrl, ViewSignedIn, nil)
}

// Without match_required, the window shows no code.
func TestScannedWithoutMatchCode(t *testing.T) {
	f := newFixture(t, node.Config{Match: service.MatchNever})
	v := waitView(t, f.ctrl, ViewPending, nil)
	if _, err := f.phone.Scan(context.Background(), v.QR.Payload); err != nil {
		t.Fatal(err)
	}
	if v := waitView(t, f.ctrl, ViewScanned, nil); v.Scanner.MatchCode != "" {
		t.Errorf("match code %q shown though not required", v.Scanner.MatchCode)
	}
}

// A QR code that runs out shows expired, and Refresh brings a new one.
func TestExpiredThenRefresh(t *testing.T) {
	f := newFixture(t, node.Config{TicketTTL: 400 * time.Millisecond, RotateEvery: 200 * time.Millisecond, RotateMax: 600 * time.Millisecond})
	first := waitView(t, f.ctrl, ViewPending, nil)
	waitView(t, f.ctrl, ViewExpired, nil)
	f.ctrl.Refresh()
	v := waitView(t, f.ctrl, ViewPending, func(v View) bool { return v.QR.Ref != first.QR.Ref })
	f.phone.approve(t, v.QR.Payload, "")
	waitView(t, f.ctrl, ViewSignedIn, nil)
}

// A denial on the phone shows denied; Refresh brings a new QR code.
func TestDenied(t *testing.T) {
	f := newFixture(t, node.Config{})
	ctx := context.Background()
	v := waitView(t, f.ctrl, ViewPending, nil)
	s, err := f.phone.Scan(ctx, v.QR.Payload)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	if _, err := f.phone.Confirm(ctx, api.ConfirmRequest{ScanToken: s.ScanToken, Approve: &no}); err != nil {
		t.Fatal(err)
	}
	waitView(t, f.ctrl, ViewDenied, nil)
	f.ctrl.Refresh()
	waitView(t, f.ctrl, ViewPending, nil)
}

// Cancel ends the ticket on the server: the phone can no longer use it.
func TestCancel(t *testing.T) {
	f := newFixture(t, node.Config{})
	v := waitView(t, f.ctrl, ViewPending, nil)
	f.ctrl.Cancel()
	waitView(t, f.ctrl, ViewCancelled, nil)
	if _, err := f.phone.Scan(context.Background(), v.QR.Payload); err == nil {
		t.Error("a cancelled QR code could still be scanned")
	}
}

// A server that cannot be reached shows unreachable, never a blank window;
// the retry works once the server is up.
func TestUnreachableThenRetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := &recorder{}
	store := FileVault{Path: t.TempDir() + "/session.json"}
	c := newTestController(t, "http://"+addr, store, rec)
	c.Start()
	v := waitView(t, c, ViewUnreachable, nil)
	if !strings.Contains(v.Message, addr) {
		t.Errorf("unreachable message %q does not name the server", v.Message)
	}
	mustStartNode(t, node.Config{Addr: addr})
	c.Refresh()
	waitView(t, c, ViewPending, nil)
}

// Unreachable starts over on its own once the server is back.
func TestUnreachableRetriesOnItsOwn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	c := NewController(Config{
		Client: client.New(base), Server: ServerInfo{Mode: ModeRemote, URL: base},
		Vault: FileVault{Path: t.TempDir() + "/session.json"}, Log: testLog(t), Retry: 100 * time.Millisecond,
	})
	t.Cleanup(c.Close)
	c.Start()
	waitView(t, c, ViewUnreachable, nil)
	mustStartNode(t, node.Config{Addr: addr})
	waitView(t, c, ViewPending, nil)
}

// A server that goes away while a QR code is shown shows unreachable.
func TestServerGoneWhilePending(t *testing.T) {
	f := newFixture(t, node.Config{})
	waitView(t, f.ctrl, ViewPending, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.node.Shutdown(ctx)
	waitView(t, f.ctrl, ViewUnreachable, nil)
}

// The session survives a restart (it is kept in the file store), and a
// session that ended while the app was closed brings the QR code back.
func TestRestoreFromFileVault(t *testing.T) {
	f := newFixture(t, node.Config{})
	v := waitView(t, f.ctrl, ViewPending, nil)
	f.phone.approve(t, v.QR.Payload, "")
	waitView(t, f.ctrl, ViewSignedIn, nil)
	f.ctrl.Close()

	f.start(t)
	restored := waitView(t, f.ctrl, ViewSignedIn, nil)
	if restored.Session.DisplayName != "Alice" {
		t.Errorf("restored session = %+v", restored.Session)
	}
	if got := f.rec.states(); !slices.Equal(got, []string{ViewLoading, ViewSignedIn}) {
		t.Errorf("restart went through %v, want no QR code", got)
	}
	f.ctrl.Close()

	ctx := context.Background()
	sessions, err := f.phone.Sessions(ctx)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions = %v, %v", sessions, err)
	}
	if err := f.phone.RevokeSession(ctx, sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	v = waitView(t, f.ctrl, ViewPending, nil)
	if v.Message != "Your session has ended: scan to log in again." {
		t.Errorf("message = %q", v.Message)
	}
	if _, err := f.store.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("the dead session is still saved (%v)", err)
	}
}

// A session saved for another server is not sent there.
func TestSavedSessionOfAnotherServer(t *testing.T) {
	store := FileVault{Path: t.TempDir() + "/session.json"}
	if err := store.Save(Saved{Server: "https://elsewhere.example", Token: "secret"}); err != nil {
		t.Fatal(err)
	}
	n := mustStartNode(t, node.Config{})
	c := newTestController(t, n.URL(), store, &recorder{})
	c.Start()
	waitView(t, c, ViewPending, nil)
}

// Log out ends the session on the server too and shows a QR code.
func TestLogout(t *testing.T) {
	f := newFixture(t, node.Config{})
	v := waitView(t, f.ctrl, ViewPending, nil)
	f.phone.approve(t, v.QR.Payload, "")
	waitView(t, f.ctrl, ViewSignedIn, nil)
	f.ctrl.Logout()
	waitView(t, f.ctrl, ViewPending, nil)
	sessions, err := f.phone.Sessions(context.Background())
	if err != nil || len(sessions) != 0 {
		t.Errorf("after log-out the account has sessions %v (%v)", sessions, err)
	}
	if _, err := f.store.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after log-out the session is still saved (%v)", err)
	}
}

// The phone's own log-out ends the desktops it confirmed.
func TestPhoneLogout(t *testing.T) {
	f := newFixture(t, node.Config{})
	v := waitView(t, f.ctrl, ViewPending, nil)
	f.phone.approve(t, v.QR.Payload, "")
	waitView(t, f.ctrl, ViewSignedIn, nil)
	if err := f.phone.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitView(t, f.ctrl, ViewPending, nil)
}

// A server restart while signed in is weathered: the session channel is
// opened again and the phone's revocation still arrives.
func TestSessionChannelReconnects(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := node.Config{Addr: addr, DBPath: dir + "/qrlogin.db"}
	n := mustStartNode(t, cfg)
	p := mustPhone(t, n.URL())
	c := newTestController(t, n.URL(), FileVault{Path: dir + "/session.json"}, &recorder{})
	c.Start()
	v := waitView(t, c, ViewPending, nil)
	p.approve(t, v.QR.Payload, "")
	waitView(t, c, ViewSignedIn, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Shutdown(ctx)
	waitView(t, c, ViewSignedIn, func(v View) bool { return strings.Contains(v.Message, "reconnecting") })
	mustStartNode(t, cfg)
	waitView(t, c, ViewSignedIn, func(v View) bool { return v.Message == "" })
	sessions, err := p.Sessions(ctx)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions = %v, %v", sessions, err)
	}
	if err := p.RevokeSession(ctx, sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	waitView(t, c, ViewPending, nil)
}

// A saved session the server refuses (/me answers 401) is forgotten for good
// even when the keyring cannot be reached to delete it: the next start, with
// the keyring back, does not load it.
func TestRefusedSessionForgottenWhileKeyringFails(t *testing.T) {
	n := mustStartNode(t, node.Config{})
	dir := t.TempDir()
	kr := &fakeKeyring{saved: &Saved{Server: n.URL(), Token: "refused", User: api.User{DisplayName: "Alice"}}, clearErr: errKeyring}
	rec := &recorder{}
	c := newTestController(t, n.URL(), secureVault(dir, kr, testLog(t)), rec)
	c.Start()
	v := waitView(t, c, ViewPending, nil)
	if v.Message != "Your session has ended: scan to log in again." {
		t.Errorf("message = %q", v.Message)
	}
	c.Close()

	kr.failClear(nil)
	if got := token(t, secureVault(dir, kr, testLog(t))); got != "" {
		t.Errorf("restarted, the store loads the refused session %q", got)
	}
	if kr.holds() != "" {
		t.Errorf("the keyring still holds %q", kr.holds())
	}
}
