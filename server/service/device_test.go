package service

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// fakeApps is an open platform with one device grant: ticket deviceTicket,
// whose user code is code (canonical). It notes the tickets App is asked
// about. Other methods of Apps are not called here.
type fakeApps struct {
	Apps
	deviceTicket, ref, code string
	asked                   []string
}

func (f *fakeApps) App(_ context.Context, ticketID string) (*api.App, error) {
	f.asked = append(f.asked, ticketID)
	if ticketID != f.deviceTicket {
		return nil, nil
	}
	return &api.App{ClientID: "tv", Name: "TV App", Scopes: []string{"openid"}, UserCode: api.FormatUserCode(f.code)}, nil
}

func (f *fakeApps) RefForUserCode(_ context.Context, code string) (string, error) {
	if code != f.code {
		return "", server.Errorf(server.CodeNotFound, "no such request")
	}
	return f.ref, nil
}

// A device grant approved from another network than the device's goes
// through without a match code under -match risky and -match always: the
// phone is shown the user code to compare instead, and warned. A desktop's
// ticket still needs its match code.
func TestDeviceGrantNeedsNoMatchCode(t *testing.T) {
	const tvIP, phoneIP = "192.0.2.10", "198.51.100.7" // two networks
	for _, policy := range []MatchPolicy{MatchRisky, MatchAlways} {
		t.Run(string(policy), func(t *testing.T) {
			ctx := context.Background()
			apps := &fakeApps{} // names the TV's ticket once it exists
			s, err := New(openSQLite(t), Config{
				BaseURL: "http://127.0.0.1:8080", Match: policy, OpenRegistration: true,
				Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Apps: apps,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			if _, err := s.Register(ctx, api.RegisterRequest{Username: "alice", Password: "password1"}); err != nil {
				t.Fatal(err)
			}
			lr, err := s.MobileLogin(ctx, api.MobileLoginRequest{Username: "alice", Password: "password1", Device: api.MobileDevice{ID: "phone"}})
			if err != nil {
				t.Fatal(err)
			}
			phone, err := s.AuthDevice(ctx, lr.DeviceToken, "phone")
			if err != nil {
				t.Fatal(err)
			}
			tv, tvResp, err := s.NewTicket(ctx, server.Desktop{Name: "TV App", App: "TV App", IP: tvIP}, 10*time.Minute, server.AppDevice)
			if err != nil {
				t.Fatal(err)
			}
			apps.deviceTicket, apps.ref, apps.code = tv.ID, tvResp.Ref, "WDJBMJHT"
			approve := true

			// The device: the code typed in lower case without the dash.
			sr, err := s.Scan(ctx, phone, api.DevicePayload(s.cfg.BaseURL, "wdjbmjht"), phoneIP)
			if err != nil {
				t.Fatal(err)
			}
			if sr.MatchRequired {
				t.Error("a device grant's scan needs the match code, which the device never shows")
			}
			if sr.App == nil || sr.App.UserCode != "WDJB-MJHT" {
				t.Errorf("the phone is not given the user code to compare: %+v", sr.App)
			}
			if !strings.Contains(sr.Warning, "WDJB-MJHT") || !strings.Contains(sr.Warning, "different network") {
				t.Errorf("warning %q: want the networks and the code to check", sr.Warning)
			}
			st, err := s.Confirm(ctx, phone, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve})
			if err != nil || st.State != server.StateConfirmed {
				t.Fatalf("approving the device without a match code: %+v, %v", st, err)
			}

			// A wrong code is not_found (a guess that counts).
			if _, err := s.Scan(ctx, phone, api.DevicePayload(s.cfg.BaseURL, "BCDF-GHJK"), phoneIP); server.ErrorCode(err) != server.CodeNotFound {
				t.Errorf("a wrong user code: %v, want not_found", err)
			}

			// A desktop on the TV's network still needs its code.
			_, dResp, err := s.NewTicket(ctx, server.Desktop{Name: "PC", IP: tvIP}, 0, server.AppNone)
			if err != nil {
				t.Fatal(err)
			}
			sr, err = s.Scan(ctx, phone, dResp.QRPayload, phoneIP)
			if err != nil {
				t.Fatal(err)
			}
			if !sr.MatchRequired || sr.App != nil || !strings.Contains(sr.Warning, "desktop") {
				t.Errorf("a desktop's scan from another network: match_required=%v app=%+v warning=%q", sr.MatchRequired, sr.App, sr.Warning)
			}
			if _, err := s.Confirm(ctx, phone, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve}); server.ErrorCode(err) != server.CodeForbidden {
				t.Errorf("a desktop approved without its code: %v, want forbidden", err)
			}
			st, err = s.Confirm(ctx, phone, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve, MatchCode: dResp.MatchCode})
			if err != nil || st.State != server.StateConfirmed {
				t.Errorf("a desktop with its code: %+v, %v", st, err)
			}
			if rr, err := s.RedeemRef(ctx, dResp.Ref, dResp.PollSecret); err != nil || rr.SessionToken == "" {
				t.Errorf("the desktop's redeem: %+v, %v", rr, err)
			}

			// The TV's ticket is an app's: the desktop's redeem is
			// refused, naming the app.
			_, err = s.RedeemRef(ctx, tvResp.Ref, tvResp.PollSecret)
			if server.ErrorCode(err) != server.CodeForbidden || IsCredential(err) || !strings.Contains(err.Error(), "TV App") {
				t.Errorf("a desktop redeem of the TV's ticket: %v, want forbidden naming the TV App", err)
			}
			// Only the TV's ticket was looked up as an app's.
			for _, id := range apps.asked {
				if id != tv.ID {
					t.Errorf("the app of the desktop's ticket %s was looked up", id)
				}
			}
		})
	}
}
