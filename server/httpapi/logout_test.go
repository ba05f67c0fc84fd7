package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// logoutWait bounds the wait for an event that the phone's logout causes.
const logoutWait = 5 * time.Second

// scanned scans tk with p and returns the scan token.
func scanned(t *testing.T, h *harness, p protocoltest.Phone, tk protocoltest.Ticket) string {
	t.Helper()
	r := h.Scan(p, tk.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(t, &sr)
	return sr.ScanToken
}

// confirmed scans and approves tk with p, leaving it for the desktop to
// redeem.
func confirmed(t *testing.T, h *harness, p protocoltest.Phone, tk protocoltest.Ticket) {
	t.Helper()
	protocoltest.Want(t, h.Confirm(p, scanned(t, h, p, tk), true, tk.MatchCode), http.StatusOK, "")
}

// A login that the phone confirmed but the desktop has not redeemed yet
// ends with the phone's logout: the desktop's socket and long-poll hear
// "cancelled" and its redeem gets 410, with no session; so does a login the
// phone had only scanned, and the scan token is dead.
func TestLogoutEndsLoginsInFlight(t *testing.T) {
	h := start(t, nil)
	phone := h.NewPhone("Alice")
	tk := h.NewTicket()
	ws, status := h.Dial(api.PathTickets+"/"+tk.Ref+"/events", tk.Secret(), "")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("ticket events: %d", status)
	}
	ws.Expect(api.EventState, string(server.StatePending), logoutWait)
	confirmed(t, h, phone, tk)
	ws.Expect(api.EventState, string(server.StateScanned), logoutWait)
	ws.Expect(api.EventState, string(server.StateConfirmed), logoutWait)
	half := h.NewTicket()
	scanToken := scanned(t, h, phone, half)

	protocoltest.Want(t, h.Do("POST", api.PathMobileLogout, phone.Auth, nil), http.StatusNoContent, "")

	ws.Expect(api.EventState, string(server.StateCancelled), logoutWait)
	for _, x := range []protocoltest.Ticket{tk, half} {
		r := h.Do("GET", api.PathTickets+"/"+x.Ref+"/wait?after="+string(server.StateConfirmed), x.Secret(), nil)
		protocoltest.Want(t, r, http.StatusOK, "")
		if m := r.Map(); m["state"] != string(server.StateCancelled) {
			t.Errorf("long-poll after the logout: %s, want cancelled", r.Body)
		}
		r = h.Redeem(x.Ref, x.Secret())
		protocoltest.Want(t, r, http.StatusGone, "expired")
		if r.Map()["session_token"] != nil {
			t.Fatalf("a redeem after the logout handed out a session: %s", r.Body)
		}
	}
	protocoltest.Want(t, h.Confirm(phone, scanToken, true, half.MatchCode), http.StatusUnauthorized, "unauthorized")
}

// A phone that logs in again with the same device id, and then logs out,
// ends what it confirmed under its earlier login too: sessions and a login
// in flight. The account's other phone keeps its session.
func TestLogoutAfterLoggingInAgain(t *testing.T) {
	h := start(t, nil)
	first := h.NewPhone("Alice")
	early := h.SignIn(first, h.NewTicket())
	inFlight := h.NewTicket()
	confirmed(t, h, first, inFlight)

	again := h.Login(first.Username, first.DeviceID)
	protocoltest.Want(t, h.Do("GET", api.PathMobileSessions, first.Auth, nil), http.StatusUnauthorized, "unauthorized")
	late := h.SignIn(again, h.NewTicket())
	tablet := h.Login(first.Username, "alice-tablet")
	kept := h.SignIn(tablet, h.NewTicket())
	earlyEvents, _ := h.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: early.SessionToken}, "")

	protocoltest.Want(t, h.Do("POST", api.PathMobileLogout, again.Auth, nil), http.StatusNoContent, "")

	earlyEvents.Expect(api.EventRevoked, "", logoutWait)
	for name, rr := range map[string]api.RedeemResponse{"earlier login's": early, "later login's": late} {
		if r := h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("the %s session after the logout: %d %s, want 401", name, r.Status, r.Body)
		}
	}
	protocoltest.Want(t, h.Redeem(inFlight.Ref, inFlight.Secret()), http.StatusGone, "expired")
	protocoltest.Want(t, h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: kept.SessionToken}, nil), http.StatusOK, "")
	protocoltest.Want(t, h.Do("GET", api.PathMobileSessions, tablet.Auth, nil), http.StatusOK, "")
}
