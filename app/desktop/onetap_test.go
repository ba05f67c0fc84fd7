package desktop

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/node"
)

// tapFixture is a controller with a DPoP key on a real server, signed in
// once by QR code (which enrols the key), and its phone.
type tapFixture struct {
	*fixture
	key  client.Option
	desk *client.Client // a client with the controller's key, to ask the server
}

// newTapFixture signs a controller with a key in by QR code and logs it
// out: the window shows the one-tap view.
func newTapFixture(t *testing.T) *tapFixture {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	n := mustStartNode(t, node.Config{})
	f := &tapFixture{
		fixture: &fixture{node: n, store: FileVault{Path: filepath.Join(t.TempDir(), "session.json")}, rec: &recorder{}},
		key:     client.WithDPoP(key),
		desk:    client.New(n.URL(), client.WithDPoP(key)),
	}
	f.phone = mustPhone(t, n.URL())
	f.ctrl = newTestController(t, n.URL(), f.store, f.rec, f.key)
	f.ctrl.Start()
	v := waitView(t, f.ctrl, ViewPending, nil)
	f.phone.approve(t, v.QR.Payload, "")
	waitView(t, f.ctrl, ViewSignedIn, nil)
	f.ctrl.Logout()
	return f
}

// waitRequest returns the phone's waiting one-tap request.
func (f *tapFixture) waitRequest(t *testing.T) api.LoginRequest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := f.phone.WaitLoginRequest(ctx)
	if err != nil {
		t.Fatalf("the phone saw no login request: %v", err)
	}
	return r
}

// decide answers the phone's request r.
func (f *tapFixture) decide(t *testing.T, r api.LoginRequest, action, number string) (server.State, error) {
	t.Helper()
	return f.phone.DecideLoginRequest(context.Background(), r.ID, api.DecideLoginRequest{Action: action, Number: number})
}

// logIn clicks Log in and returns the view with the number to tap.
func (f *tapFixture) logIn(t *testing.T) View {
	t.Helper()
	f.ctrl.LogIn()
	return waitView(t, f.ctrl, ViewOneTapWaiting, nil)
}

// After a QR login and a log-out from the desktop, the window offers the
// account (masked) instead of a QR code; Log in shows the number, which
// the phone taps: signed in, as after a scan, with the session kept.
func TestOneTapApprove(t *testing.T) {
	f := newTapFixture(t)
	v := waitView(t, f.ctrl, ViewOneTap, nil)
	a := v.OneTap
	if a == nil || a.DisplayName == "Alice" || !strings.HasPrefix(a.DisplayName, "A") ||
		!strings.Contains(a.AvatarURL, "/avatars/") || a.Number != "" || v.QR != nil {
		t.Fatalf("one-tap view = %+v (%+v), want Alice masked, her avatar, no number", v, a)
	}

	w := f.logIn(t)
	if len(w.OneTap.Number) != 2 || w.OneTap.DisplayName != a.DisplayName {
		t.Fatalf("waiting view's account = %+v, want a two-digit number", w.OneTap)
	}
	r := f.waitRequest(t)
	if !slices.Contains(r.Choices, w.OneTap.Number) || r.Desktop.Name != "test-desktop" {
		t.Fatalf("the phone's request %+v does not offer the window's number %s", r, w.OneTap.Number)
	}
	if st, err := f.decide(t, r, api.ActionApprove, w.OneTap.Number); err != nil || st != server.StateConfirmed {
		t.Fatalf("approve: %q, %v", st, err)
	}
	s := waitView(t, f.ctrl, ViewSignedIn, nil).Session
	if s == nil || s.DisplayName != "Alice" {
		t.Fatalf("signed-in session = %+v", s)
	}
	states := f.rec.states()
	want := []string{ViewOneTap, ViewLoading, ViewOneTapWaiting, ViewConfirmed, ViewSignedIn}
	if i := slices.Index(states, ViewOneTap); i < 0 || !slices.Equal(states[i:], want) {
		t.Errorf("states = %v, want them to end %v", states, want)
	}
	if saved, err := f.store.Load(); err != nil || saved.Token == "" {
		t.Errorf("saved session after one-tap login = %+v, %v", saved, err)
	}
	sessions, err := f.phone.Sessions(context.Background())
	if err != nil || len(sessions) != 1 {
		t.Errorf("the account's sessions = %+v, %v; want the one-tap one alone", sessions, err)
	}
}

// The wrong number on the phone denies the request: the window says so
// and offers the QR code (and Log in again); Cancel while waiting ends the
// request; Switch account shows a QR code, and keeps to QR codes.
func TestOneTapDeniedCancelSwitch(t *testing.T) {
	f := newTapFixture(t)
	waitView(t, f.ctrl, ViewOneTap, nil)
	w := f.logIn(t)
	r := f.waitRequest(t)
	wrong := ""
	for _, c := range r.Choices {
		if c != w.OneTap.Number {
			wrong = c
		}
	}
	if _, err := f.decide(t, r, api.ActionApprove, wrong); !errors.Is(err, server.ErrForbidden) {
		t.Fatalf("approve with the wrong number: %v, want forbidden", err)
	}
	d := waitView(t, f.ctrl, ViewOneTapDenied, nil)
	if d.Message != "Denied on your phone." || d.OneTap == nil || d.OneTap.Number != "" {
		t.Errorf("denied view = %+v", d)
	}
	time.Sleep(500 * time.Millisecond) // the window's one look: a plain denial keeps the enrolment
	if v := f.ctrl.View(); v.State != ViewOneTapDenied {
		t.Fatalf("after a wrong number the view moved on to %q (%q)", v.State, v.Message)
	}

	f.logIn(t)
	r = f.waitRequest(t)
	f.ctrl.Cancel()
	waitView(t, f.ctrl, ViewOneTap, nil)
	if _, err := f.decide(t, r, api.ActionApprove, "00"); err == nil {
		t.Error("the phone decided a request that the window cancelled")
	}

	f.ctrl.SwitchAccount()
	v := waitView(t, f.ctrl, ViewPending, nil)
	if v.QR == nil || v.OneTap != nil {
		t.Fatalf("after Switch account = %+v, want a QR code", v)
	}
	f.ctrl.Refresh() // a new QR code, not the one-tap view
	waitView(t, f.ctrl, ViewPending, func(n View) bool { return n.QR.Ref != v.QR.Ref })
	if _, err := f.desk.DesktopKey(context.Background()); err != nil {
		t.Errorf("Switch account changed the enrolment: %v", err)
	}
}

// "Not me" on the phone denies the request and removes the enrolment: the
// window shows the QR code, saying why, and never offers one-tap again.
func TestOneTapNotMe(t *testing.T) {
	f := newTapFixture(t)
	waitView(t, f.ctrl, ViewOneTap, nil)
	f.logIn(t)
	if st, err := f.decide(t, f.waitRequest(t), api.ActionNotMe, ""); err != nil || st != server.StateDenied {
		t.Fatalf("not me: %q, %v", st, err)
	}
	v := waitView(t, f.ctrl, ViewPending, nil)
	if v.QR == nil || !strings.Contains(v.Message, "not you") {
		t.Errorf("after not me = %+v, want the QR code and why", v)
	}
	if _, err := f.desk.DesktopKey(context.Background()); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("DesktopKey after not me = %v, want not_found", err)
	}
	f.ctrl.Start() // a new start, no saved session: still the QR code
	waitView(t, f.ctrl, ViewPending, func(n View) bool { return n.QR.Ref != v.QR.Ref })
}

// A fourth request within ten minutes is refused: the window says when to
// try again and offers the QR code.
func TestOneTapRateLimited(t *testing.T) {
	f := newTapFixture(t)
	waitView(t, f.ctrl, ViewOneTap, nil)
	for range 3 {
		f.logIn(t)
		f.ctrl.Cancel()
		waitView(t, f.ctrl, ViewOneTap, nil)
	}
	f.ctrl.LogIn()
	v := waitView(t, f.ctrl, ViewOneTapLimited, nil)
	if !strings.Contains(v.Message, "try again in 10 min") || v.OneTap == nil {
		t.Errorf("limited view = %+v, want when to try again", v)
	}
	f.ctrl.SwitchAccount()
	waitView(t, f.ctrl, ViewPending, nil)
}

// The phone's revocation shows the QR code (the person logged this
// computer out on purpose: no one-tap Log in); a start without a saved
// session leads to the one-tap view; a controller without a key shows the
// QR code.
func TestOneTapAfterRevocationAndStart(t *testing.T) {
	f := newTapFixture(t)
	waitView(t, f.ctrl, ViewOneTap, nil)
	f.logIn(t)
	r := f.waitRequest(t)
	if _, err := f.decide(t, r, api.ActionApprove, waitView(t, f.ctrl, ViewOneTapWaiting, nil).OneTap.Number); err != nil {
		t.Fatal(err)
	}
	waitView(t, f.ctrl, ViewSignedIn, nil)
	waitSessionSocket(t, f.node.URL())
	ctx := context.Background()
	sessions, err := f.phone.Sessions(ctx)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions = %+v, %v", sessions, err)
	}
	if err := f.phone.RevokeSession(ctx, sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	if v := waitView(t, f.ctrl, ViewPending, nil); v.Message != "You were logged out from your phone." {
		t.Errorf("after the revocation = %+v", v)
	}

	again := newTestController(t, f.node.URL(), FileVault{Path: filepath.Join(t.TempDir(), "session.json")}, &recorder{}, f.key)
	again.Start()
	waitView(t, again, ViewOneTap, nil)
	keyless := newTestController(t, f.node.URL(), FileVault{Path: filepath.Join(t.TempDir(), "session.json")}, &recorder{})
	keyless.Start()
	waitView(t, keyless, ViewPending, nil)
}

// limitedNotice rounds the wait up, to whole seconds or minutes.
func TestLimitedNotice(t *testing.T) {
	for _, c := range []struct {
		after time.Duration
		want  string
	}{
		{9*time.Minute + 10*time.Second, "try again in 10 min"},
		{30 * time.Second, "try again in 30 s"},
		{1500 * time.Millisecond, "try again in 2 s"},
		{0, "try again later"},
	} {
		got := limitedNotice(&server.Error{Code: server.CodeRateLimited, RetryAfter: c.after})
		if !strings.Contains(got, c.want) {
			t.Errorf("limitedNotice(%v) = %q, want %q in it", c.after, got, c.want)
		}
	}
}
