package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
)

// The desktop's calls of one-tap login against the real server: a key is
// unknown until a QR login redeemed with its proof enrols it; then the
// request is a ticket that starts scanned, which the phone approves with
// the number the desktop shows and the desktop redeems; a second request
// while one waits is a conflict, a fourth in ten minutes rate_limited.
func TestAgainstServerDesktopOneTap(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain := client.New(n.URL(), client.WithUserAgent("client-test/1"))
	desk := client.New(n.URL(), client.WithUserAgent("client-test/1"), client.WithDPoP(newKey(t)))
	m := login(t, plain, "olive", "olive-phone-00000000000")
	dev := api.DesktopDevice{Name: "olive's laptop", OS: "linux", App: "client test"}

	if _, err := plain.DesktopKey(ctx); !errors.Is(err, client.ErrNoKey) {
		t.Errorf("DesktopKey without a key = %v, want ErrNoKey", err)
	}
	if _, err := plain.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev}); !errors.Is(err, client.ErrNoKey) {
		t.Errorf("DesktopLogin without a key = %v, want ErrNoKey", err)
	}
	if _, err := desk.DesktopKey(ctx); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("DesktopKey of a key never enrolled = %v, want not_found", err)
	}
	if _, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev}); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("DesktopLogin of a key never enrolled = %v, want not_found", err)
	}

	signIn(t, desk, m) // enrols desk's key
	info, err := desk.DesktopKey(ctx)
	if err != nil {
		t.Fatalf("DesktopKey after a QR login with a proof: %v", err)
	}
	if info.User.DisplayName == "" || info.User.DisplayName == "olive" || info.User.DisplayName[0] != 'o' ||
		info.User.AvatarURL == "" || info.Name != "test desktop" {
		t.Errorf("DesktopKey = %+v, want olive's masked name and avatar, and the desktop's name", info)
	}

	// 1: approved with the number the desktop shows, then redeemed.
	r, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev})
	if err != nil {
		t.Fatalf("DesktopLogin: %v", err)
	}
	if r.Ref == "" || r.PollSecret == "" || len(r.Number) != 2 || r.User.DisplayName != info.User.DisplayName ||
		time.Until(r.ExpiresAt) < 30*time.Second {
		t.Fatalf("DesktopLogin = %+v", r)
	}
	if _, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev}); !errors.Is(err, server.ErrConflict) {
		t.Errorf("a second DesktopLogin while one waits = %v, want conflict", err)
	}
	w := watch(ctx, desk, api.CreateTicketResponse{Ref: r.Ref, PollSecret: r.PollSecret})
	if ev := w.next(t); ev.State != server.StateScanned {
		t.Fatalf("first event of the request %+v, want scanned", ev)
	}
	req, err := m.WaitLoginRequest(ctx)
	if err != nil || req.ID != r.Ref {
		t.Fatalf("the phone's request = %+v, %v; want %s", req, err, r.Ref)
	}
	if st, err := m.DecideLoginRequest(ctx, req.ID, api.DecideLoginRequest{Action: api.ActionApprove, Number: r.Number}); err != nil || st != server.StateConfirmed {
		t.Fatalf("approve with the desktop's number: %q, %v", st, err)
	}
	if ev := w.next(t); ev.State != server.StateConfirmed {
		t.Fatalf("after approval %+v, want confirmed", ev)
	}
	s, err := desk.Redeem(ctx, r.Ref, r.PollSecret)
	if err != nil || s.TokenType != api.TokenDPoP || s.SessionToken == "" {
		t.Fatalf("Redeem of the confirmed request = %+v, %v", s, err)
	}
	if u, err := desk.Me(ctx, s.SessionToken); err != nil || u.DisplayName != "olive" {
		t.Errorf("Me with the one-tap session = %+v, %v", u, err)
	}

	// 2: cancelled by the desktop; 3: left to wait; 4: refused for the limit.
	r2, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev})
	if err != nil {
		t.Fatalf("second DesktopLogin: %v", err)
	}
	if err := desk.Cancel(ctx, r2.Ref, r2.PollSecret); err != nil {
		t.Fatalf("Cancel of the request: %v", err)
	}
	r3, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev})
	if err != nil {
		t.Fatalf("third DesktopLogin, after a cancel: %v", err)
	}
	if err := desk.Cancel(ctx, r3.Ref, r3.PollSecret); err != nil {
		t.Fatalf("Cancel of the third request: %v", err)
	}
	_, err = desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: dev})
	var se *server.Error
	if !errors.As(err, &se) || se.Code != server.CodeRateLimited || se.RetryAfter <= 0 || se.RetryAfter > 10*time.Minute {
		t.Errorf("a fourth DesktopLogin within ten minutes = %v (%+v), want rate_limited with a Retry-After", err, se)
	}
}
