package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/service"
)

// tvApp registers a device-grant app (a public client, as a TV is) on h's
// server and returns its OAuth configuration.
func tvApp(t *testing.T, h *harness) *oauth2.Config {
	t.Helper()
	c := oauth.Client{ID: server.NewRef(), Name: "TV App", Public: true, GrantTypes: []string{oauth.GrantDevice}, CreatedAt: time.Now()}
	if err := h.node.Store().(oauth.Store).CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return &oauth2.Config{ClientID: c.ID, Scopes: []string{"openid"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: h.node.URL() + "/oauth/device/code", TokenURL: h.node.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
}

func deviceAuth(t *testing.T, conf *oauth2.Config) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := conf.DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return da
}

// A device grant approved from another network than the TV's, under
// -match risky and -match always, needs no match code (the TV shows none):
// the phone is given the user code to compare and warned, and the TV gets
// its token. A desktop's ticket from the same phone still needs its code.
func TestDeviceGrantAcrossNetworksNeedsNoMatchCode(t *testing.T) {
	for _, policy := range []string{"risky", "always"} {
		t.Run(policy, func(t *testing.T) {
			h := startOAuth(t, func(c *node.Config) { c.Match = service.MatchPolicy(policy) })
			conf := tvApp(t, h)
			p := h.NewPhone("Alice")
			phoneNet := protocoltest.New(t, h.node.URL()) // 127.0.5.1: another /24 than the TV's 127.0.0.1
			phoneNet.HTTP = protocoltest.FromAddr("127.0.5.1")

			da := deviceAuth(t, conf)
			r := phoneNet.Scan(p, da.VerificationURIComplete)
			protocoltest.Want(t, r, http.StatusOK, "")
			var sr api.ScanResponse
			r.JSON(t, &sr)
			if sr.MatchRequired {
				t.Fatal("a device grant's scan asks for a match code, which the TV never shows")
			}
			if sr.App == nil || sr.App.UserCode != da.UserCode || sr.App.Name != "TV App" {
				t.Fatalf("the phone is not given the TV's user code %s: %+v", da.UserCode, sr.App)
			}
			if !strings.Contains(sr.Warning, da.UserCode) {
				t.Errorf("warning %q does not say which code to check", sr.Warning)
			}
			protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, ""), http.StatusOK, "")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if tok, err := conf.DeviceAccessToken(ctx, da); err != nil || tok.AccessToken == "" {
				t.Fatalf("the TV's token: %+v, %v", tok, err)
			}

			tk := h.NewTicket()
			var dr api.ScanResponse
			phoneNet.Scan(p, tk.QRPayload).JSON(t, &dr)
			if !dr.MatchRequired || dr.App != nil {
				t.Fatalf("a desktop's scan: match_required=%v app=%+v", dr.MatchRequired, dr.App)
			}
			protocoltest.Want(t, phoneNet.Confirm(p, dr.ScanToken, true, ""), http.StatusForbidden, "forbidden")
			protocoltest.Want(t, phoneNet.Confirm(p, dr.ScanToken, true, tk.MatchCode), http.StatusOK, "")
		})
	}
}

// Wrong user codes spend the account's budget (5 at once) and the
// address's guessing budget: the sixth wrong code of one account gets 429,
// and so does its right code then; another account on the address goes on
// until the address's budget is spent too.
func TestWrongUserCodesAreLimited(t *testing.T) {
	h := startOAuth(t, func(c *node.Config) {
		c.Limits = httpapi.Limits{Failures: 0.001, BurstFailure: 7} // the address: 7 failures, no refill to speak of
	})
	conf := tvApp(t, h)
	alice, bob := h.NewPhone("Alice"), h.NewPhone("Bob")
	da := deviceAuth(t, conf)
	wrong := []string{"BCDF-GHJK", "bcdfghjl", "BCDF GHJM", "BCDFGHJN", "bcdf-ghjp", "BCDF-GHJQ", "BCDF-GHJR", "BCDF-GHJS"}
	for i, code := range wrong {
		if strings.EqualFold(strings.ReplaceAll(strings.ReplaceAll(code, "-", ""), " ", ""), strings.ReplaceAll(da.UserCode, "-", "")) {
			t.Skipf("the TV drew %s, one of the wrong codes", da.UserCode) // odds 8 in 2.56e10
		}
		wrong[i] = api.DevicePayload(h.node.URL(), code)
	}
	for i := range 5 {
		protocoltest.Want(t, h.Scan(alice, wrong[i]), http.StatusNotFound, "not_found")
	}
	r := h.Scan(alice, wrong[5])
	protocoltest.Want(t, r, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	protocoltest.Want(t, h.Scan(alice, da.VerificationURIComplete), http.StatusTooManyRequests, "rate_limited")

	// The address has 2 of its 7 failures left (the 429s spent none).
	protocoltest.Want(t, h.Scan(bob, wrong[6]), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Scan(bob, wrong[7]), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Scan(bob, da.VerificationURIComplete), http.StatusTooManyRequests, "rate_limited")
}

// The accounts behind one address share a budget of wrong user codes, so
// that accounts made for guessing do not multiply it.
func TestWrongUserCodesPerAddress(t *testing.T) {
	h := startOAuth(t, func(c *node.Config) {
		c.Limits = httpapi.Limits{UserCodesPerAddress: 0.001, BurstUserCodePerAddress: 3} // 3 for the address, no refill to speak of
	})
	conf := tvApp(t, h)
	alice, bob := h.NewPhone("Alice"), h.NewPhone("Bob")
	da := deviceAuth(t, conf)
	var wrong []string
	for _, code := range []string{"BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM", "BCDF-GHJN"} {
		if code == da.UserCode {
			t.Skipf("the TV drew %s, one of the wrong codes", da.UserCode)
		}
		wrong = append(wrong, api.DevicePayload(h.node.URL(), code))
	}
	protocoltest.Want(t, h.Scan(alice, wrong[0]), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Scan(alice, wrong[1]), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Scan(bob, wrong[2]), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Scan(bob, wrong[3]), http.StatusTooManyRequests, "rate_limited")
	// A desktop's QR code is no user code: it is not held back.
	tk := h.NewTicket()
	protocoltest.Want(t, h.Scan(bob, tk.QRPayload), http.StatusOK, "")
}
