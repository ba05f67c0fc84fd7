package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

const (
	pending  = api.PathTickets + "/"
	short    = 2 * time.Second
	wsLonger = 5 * time.Second
)

func events(ref string) string { return api.PathTickets + "/" + ref + "/events" }
func wait(ref, q string) string {
	return api.PathTickets + "/" + ref + "/wait" + q
}

// Checklist 1: a create request that names its own id, ref or secret gets
// them ignored.
func TestChecklist01_ServerChoosesEveryID(t *testing.T) {
	h := start(t, nil)
	body := `{"id":"attacker-id-0000000000000","ref":"attackerchosenref000000","poll_secret":"attacker-secret-000000000","qr_payload":"http://evil/q/attackerchosenref000000","match_code":"00","device":{"id":"x","name":"PC","os":"linux","app":"a"}}`
	for range 5 {
		r := h.Do("POST", api.PathTickets, protocoltest.Auth{}, body)
		protocoltest.Want(t, r, http.StatusCreated, "")
		var tk api.CreateTicketResponse
		r.JSON(t, &tk)
		for _, v := range []string{tk.Ref, tk.PollSecret, tk.QRPayload} {
			if strings.Contains(body, v) {
				t.Fatalf("server returned %q, which the client sent", v)
			}
		}
		if !strings.HasPrefix(tk.QRPayload, h.node.URL()+"/q/") {
			t.Fatalf("qr_payload %q is not on the server's base URL", tk.QRPayload)
		}
	}
}

// Checklist 2: refs, secrets and tokens carry at least 128 random bits;
// random refs get 404, and many such tries get 429.
func TestChecklist02_UnguessableRefsAndGuessingCutOff(t *testing.T) {
	h := start(t, nil)
	seen := map[string]bool{}
	p := h.NewPhone("Alice")
	for range 30 {
		tk := h.NewTicket()
		for _, v := range []string{tk.Ref, tk.PollSecret} {
			raw, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(raw) < 16 {
				t.Fatalf("%q is not base64url of at least 128 bits", v)
			}
			if seen[v] {
				t.Fatalf("%q issued twice", v)
			}
			seen[v] = true
			if strings.Trim(v, "0123456789") == "" {
				t.Fatalf("%q is numeric", v)
			}
		}
	}
	for _, v := range []string{p.Bearer} {
		if raw, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(raw) < 16 {
			t.Fatalf("device token %q is short", v)
		}
	}

	random := "AAAAAAAAAAAAAAAAAAAAAA"
	protocoltest.Want(t, h.Scan(p, h.node.URL()+"/q/"+random), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Redeem(random, protocoltest.Auth{Bearer: "guess"}), http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Do("GET", wait(random, ""), protocoltest.Auth{Bearer: "guess"}, nil), http.StatusNotFound, "not_found")
	if _, status := h.Dial(events(random), protocoltest.Auth{Bearer: "guess"}, ""); status != http.StatusNotFound {
		t.Fatalf("watching a random ref: %d, want 404", status)
	}
	limited := 0
	for i := range 40 {
		r := h.Scan(p, fmt.Sprintf("%s/q/guess%017d", h.node.URL(), i))
		if r.Status == http.StatusTooManyRequests {
			limited++
			if r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without the error body or Retry-After: %v %s", r.Header, r.Body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("44 guesses from one IP, none refused with 429")
	}
}

// Checklist 3: the poll secret never appears in the QR, a URL or a log;
// without it, or with another ticket's, a watch, long-poll or redeem gets
// 401/404 and never the state.
func TestChecklist03_PollSecretRequired(t *testing.T) {
	h := start(t, nil)
	a, b := h.NewTicket(), h.NewTicket()
	if strings.Contains(a.QRPayload, a.PollSecret) {
		t.Fatal("the QR payload holds the poll secret")
	}
	for _, auth := range []protocoltest.Auth{{}, {Bearer: b.PollSecret}} {
		for _, r := range []protocoltest.Resp{
			h.Do("GET", wait(a.Ref, ""), auth, nil),
			h.Redeem(a.Ref, auth),
			h.Do("POST", api.PathTickets+"/"+a.Ref+"/cancel", auth, nil),
		} {
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusNotFound {
				t.Fatalf("with %q: %d %s, want 401 or 404", auth.Bearer, r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "pending") {
				t.Fatalf("the state leaked: %s", r.Body)
			}
		}
		if _, status := h.Dial(events(a.Ref), auth, ""); auth.Bearer != "" && status != http.StatusNotFound {
			t.Fatalf("WebSocket with another ticket's secret: %d, want 404", status)
		}
	}
	// A socket without a header must authenticate in its first message.
	ws, _ := h.Dial(events(a.Ref), protocoltest.Auth{}, "")
	ws.Send(api.AuthMessage{Type: "auth", PollSecret: b.PollSecret})
	if m, err := ws.Next(short); err == nil {
		t.Fatalf("wrong first-message secret got %v", m)
	} else if websocket.CloseStatus(err) != 4401 {
		t.Fatalf("wrong first-message secret: closed with %v, want 4401", err)
	}
	ws, _ = h.Dial(events(a.Ref), protocoltest.Auth{}, "")
	ws.Send(api.AuthMessage{Type: "auth", PollSecret: a.PollSecret})
	ws.Expect("state", "pending", short)

	h.SignIn(h.NewPhone("Alice"), a)
	if strings.Contains(h.logs.String(), a.PollSecret) {
		t.Fatal("the poll secret is in the log")
	}
}

// Checklist 4: a ticket expires after ticket_ttl; a scan, confirm or redeem
// after that gets 410.
func TestChecklist04_TicketsExpire(t *testing.T) {
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := start(t, func(c *node.Config) { c.Now = clk.Now })
	p := h.NewPhone("Alice")
	ttl := 60 * time.Second

	// Scan after the ref's life.
	tk := h.NewTicket()
	clk.Add(ttl)
	protocoltest.Want(t, h.Scan(p, tk.QRPayload), http.StatusGone, "expired")
	r := h.Do("GET", wait(tk.Ref, ""), tk.Secret(), nil)
	if r.Map()["state"] != "expired" {
		t.Fatalf("expired ticket's state: %s", r.Body)
	}

	// Confirm after the scan token's life.
	tk = h.NewTicket()
	var sr api.ScanResponse
	r = h.Scan(p, tk.QRPayload)
	r.JSON(t, &sr)
	clk.Add(ttl)
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusGone, "expired")

	// Redeem after the confirmed ticket's life.
	tk = h.NewTicket()
	r = h.Scan(p, tk.QRPayload)
	r.JSON(t, &sr)
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusOK, "")
	clk.Add(ttl - time.Second)
	clk.Add(time.Second)
	protocoltest.Want(t, h.Redeem(tk.Ref, tk.Secret()), http.StatusGone, "expired")
}

// Checklist 4 (rotation): while watched the QR is replaced every
// rotate_every, the old ref gets 410 at once, and after rotate_max the
// desktop is told expired and the socket closes.
func TestChecklist04_RotationWhileWatched(t *testing.T) {
	h := start(t, func(c *node.Config) {
		c.TicketTTL, c.RotateEvery, c.RotateMax = 600*time.Millisecond, 300*time.Millisecond, 1500*time.Millisecond
	})
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)
	rot := ws.Expect("rotated", "", short)
	newRef, _ := rot["ref"].(string)
	if newRef == "" || newRef == tk.Ref || rot["qr_payload"] != h.node.URL()+"/q/"+newRef || rot["expires_at"] == nil {
		t.Fatalf("rotated event: %v", rot)
	}
	protocoltest.Want(t, h.Scan(p, tk.QRPayload), http.StatusGone, "expired")
	ws.Expect("state", "expired", 3*time.Second)
	if code := ws.Closed(short); code != websocket.StatusNormalClosure {
		t.Fatalf("socket after expiry: close %d", code)
	}
}

// Checklist 5: of 100 concurrent scans of one ticket exactly one gets 200,
// the rest 409, and the first binding stays.
func TestChecklist05_ConcurrentScansOneWinner(t *testing.T) {
	h := start(t, nil)
	phones := make([]protocoltest.Phone, 100)
	for i := range phones {
		phones[i] = h.NewPhone(fmt.Sprintf("Person %03d", i))
	}
	tk := h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)

	statuses := make([]int, len(phones))
	bodies := make([][]byte, len(phones))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range phones {
		wg.Go(func() {
			<-start
			r := h.Scan(phones[i], tk.QRPayload)
			statuses[i], bodies[i] = r.Status, r.Body
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			if winner >= 0 {
				t.Fatalf("two scans won: %d and %d", winner, i)
			}
			winner = i
		case http.StatusConflict:
		default:
			t.Fatalf("scan %d: %d %s, want 200 or 409", i, s, bodies[i])
		}
	}
	if winner < 0 {
		t.Fatal("no scan won")
	}
	m := ws.Expect("state", "scanned", short)
	want := "P***" + fmt.Sprintf("%d", winner%10)
	if u, _ := m["user"].(map[string]any); u["display_name"] != want {
		t.Fatalf("scanned by %v, want the winner %s", m["user"], want)
	}
	if m, err := ws.Next(300 * time.Millisecond); err == nil {
		t.Fatalf("a losing scan changed the ticket: %v", m)
	}
	var sr api.ScanResponse
	json.Unmarshal(bodies[winner], &sr)
	protocoltest.Want(t, h.Confirm(phones[winner], sr.ScanToken, true, ""), http.StatusOK, "")
	var rr api.RedeemResponse
	h.Redeem(tk.Ref, tk.Secret()).JSON(t, &rr)
	if rr.User.ID != phones[winner].User.ID {
		t.Fatalf("session for %s, want the winner %s", rr.User.ID, phones[winner].User.ID)
	}
}

// Checklist 6: the account comes only from the validated device token; a
// confirm with another device's token gets 403; a token with another device
// id gets 401.
func TestChecklist06_AccountFromDeviceTokenOnly(t *testing.T) {
	h := start(t, nil)
	alice, mallory := h.NewPhone("Alice"), h.NewPhone("Mallory")
	aliceTablet := h.Login(alice.Username, "alice-tablet")
	tk := h.NewTicket()
	body := map[string]any{"qr_payload": tk.QRPayload, "user_id": alice.User.ID, "username": alice.Username}
	r := h.Do("POST", api.PathMobileScan, mallory.Auth, body)
	protocoltest.Want(t, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(t, &sr)
	protocoltest.Want(t, h.Confirm(alice, sr.ScanToken, true, ""), http.StatusForbidden, "forbidden")
	protocoltest.Want(t, h.Confirm(aliceTablet, sr.ScanToken, true, ""), http.StatusForbidden, "forbidden")
	wrongDev := protocoltest.Phone{Auth: protocoltest.Auth{Bearer: mallory.Bearer, DeviceID: alice.DeviceID}}
	protocoltest.Want(t, h.Confirm(wrongDev, sr.ScanToken, true, ""), http.StatusUnauthorized, "unauthorized")
	protocoltest.Want(t, h.Confirm(mallory, sr.ScanToken, true, ""), http.StatusOK, "")
	var rr api.RedeemResponse
	h.Redeem(tk.Ref, tk.Secret()).JSON(t, &rr)
	if rr.User.ID != mallory.User.ID {
		t.Fatalf("session for %s, want the token's account %s", rr.User.ID, mallory.User.ID)
	}
}

// Checklist 7: scanning alone never logs in; deny and cancel end the ticket
// and the desktop is told.
func TestChecklist07_ScanAloneNeverLogsIn(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")

	tk := h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	ws.Expect("state", "scanned", short)
	protocoltest.Want(t, h.Redeem(tk.Ref, tk.Secret()), http.StatusConflict, "conflict")
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, false, ""), http.StatusOK, "")
	ws.Expect("state", "denied", short)
	protocoltest.Want(t, h.Redeem(tk.Ref, tk.Secret()), http.StatusConflict, "conflict")
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusConflict, "conflict")

	tk = h.NewTicket()
	ws, _ = h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)
	protocoltest.Want(t, h.Do("POST", api.PathTickets+"/"+tk.Ref+"/cancel", tk.Secret(), nil), http.StatusOK, "")
	ws.Expect("state", "cancelled", short)
	protocoltest.Want(t, h.Scan(p, tk.QRPayload), http.StatusGone, "expired")
}

// Checklist 8: the session token is handed over exactly once, even to
// racing redeems.
func TestChecklist08_RedeemExactlyOnce(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusOK, "")
	var wg sync.WaitGroup
	results := make([]protocoltest.Resp, 20)
	for i := range results {
		wg.Go(func() { ; results[i] = h.Redeem(tk.Ref, tk.Secret()) })
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK && r.Map()["session_token"] != nil:
			won++
		case r.Status == http.StatusOK:
			t.Fatalf("200 without a token: %s", r.Body)
		case r.Status == http.StatusGone || r.Status == http.StatusConflict:
			if strings.Contains(string(r.Body), "session_token") {
				t.Fatalf("a losing redeem got a token: %s", r.Body)
			}
		default:
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
	}
	if won != 1 {
		t.Fatalf("%d redeems got a token, want 1", won)
	}
	protocoltest.Want(t, h.Redeem(tk.Ref, tk.Secret()), http.StatusGone, "expired")
}

// Checklist 9: before confirmation the desktop learns nothing of the account
// but a masked display name and an avatar.
func TestChecklist09_DesktopLearnsOnlyMaskedName(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alexandra")
	tk := h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	m := ws.Expect("state", "scanned", short)
	poll := h.Do("GET", wait(tk.Ref, "?after=pending"), tk.Secret(), nil)
	wsb, _ := json.Marshal(m)
	for _, seen := range []string{string(wsb), string(poll.Body)} {
		for _, secret := range []string{p.Username, p.User.ID, p.Bearer, p.DeviceID, sr.ScanToken, "Alexandra"} {
			if strings.Contains(seen, secret) {
				t.Fatalf("the desktop saw %q in %s", secret, seen)
			}
		}
		if !strings.Contains(seen, `"display_name":"A***a"`) || !strings.Contains(seen, "avatar_url") {
			t.Fatalf("no masked name and avatar in %s", seen)
		}
	}
}

// Checklist 10: before confirming, the mobile is shown what the server
// recorded when the desktop asked for the QR.
func TestChecklist10_MobileSeesDesktop(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")
	before := time.Now().Add(-time.Second)
	r := h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{Device: api.DesktopDevice{Name: "Work PC", OS: "Windows 11", App: "qrlogin 1.0"}})
	var tk api.CreateTicketResponse
	r.JSON(t, &tk)
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	d := sr.Desktop
	if d.Name != "Work PC" || d.OS != "Windows 11" || d.App != "qrlogin 1.0" || d.IP != "127.0.0.1" || !strings.HasPrefix(d.UserAgent, "Go-http-client") {
		t.Fatalf("desktop shown as %+v", d)
	}
	if d.CreatedAt.Before(before) || d.CreatedAt.After(time.Now()) {
		t.Fatalf("created_at %v is not when the QR was asked for", d.CreatedAt)
	}
}

// Checklist 11: where the networks differ (or under -match always) approving
// needs the desktop's code, which the mobile never receives; three wrong
// codes deny; the mobile is warned in words.
func TestChecklist11_MatchCodeAcrossNetworks(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Match = "risky" })
	p := h.NewPhone("Alice")

	// Same network (both 127.0.0.1): no code.
	tk := h.NewTicket()
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	if sr.MatchRequired || sr.Warning != "" {
		t.Fatalf("same network: match_required=%v warning=%q", sr.MatchRequired, sr.Warning)
	}

	// The phone on another network: 127.0.5.1 is another /24 on loopback.
	phoneNet := protocoltest.New(t, h.node.URL())
	phoneNet.HTTP = protocoltest.FromAddr("127.0.5.1")
	tk = h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Expect("state", "pending", short)
	r := phoneNet.Scan(p, tk.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	if strings.Contains(string(r.Body), `"`+tk.MatchCode+`"`) || strings.Contains(string(r.Body), "match_code") {
		t.Fatalf("the scan answer carries the code: %s", r.Body)
	}
	r.JSON(t, &sr)
	if !sr.MatchRequired || sr.Warning == "" {
		t.Fatalf("other network: match_required=%v warning=%q", sr.MatchRequired, sr.Warning)
	}
	if m := ws.Expect("state", "scanned", short); m["match_required"] != true {
		t.Fatalf("desktop not told to show the code: %v", m)
	}
	wrong := fmt.Sprintf("%02d", (atoi(tk.MatchCode)+1)%100)
	protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, ""), http.StatusForbidden, "forbidden")
	protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, wrong), http.StatusForbidden, "forbidden")
	protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, wrong), http.StatusForbidden, "forbidden")
	ws.Expect("state", "denied", short)
	protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, tk.MatchCode), http.StatusConflict, "conflict")

	// With the right code it goes through.
	tk = h.NewTicket()
	phoneNet.Scan(p, tk.QRPayload).JSON(t, &sr)
	protocoltest.Want(t, phoneNet.Confirm(p, sr.ScanToken, true, tk.MatchCode), http.StatusOK, "")
}

func atoi(s string) int {
	n := 0
	fmt.Sscanf(s, "%d", &n)
	return n
}

// Checklist 11 (-match always): even on one network the code is needed.
func TestChecklist11_MatchAlways(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Match = "always" })
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	var sr api.ScanResponse
	h.Scan(p, tk.QRPayload).JSON(t, &sr)
	if !sr.MatchRequired {
		t.Fatal("-match always: match_required is false")
	}
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusForbidden, "forbidden")
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, false, ""), http.StatusOK, "") // a denial needs no code
}

// Checklist 12: a new desktop session is announced to the account's other
// phones; the mobile lists and revokes sessions; revoking, or the mobile
// logging out, ends the desktop's session within a second.
func TestChecklist12_SessionsAnnouncedListedRevoked(t *testing.T) {
	h := start(t, nil)
	phone := h.NewPhone("Alice")
	other := h.Login(phone.Username, "alice-tablet")
	feed, status := h.Dial(api.PathMobileEvents, other.Auth, "")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("phone channel: %d", status)
	}
	own, _ := h.Dial(api.PathMobileEvents, phone.Auth, "")

	tk := h.NewTicket()
	rr := h.SignIn(phone, tk)
	m := feed.Expect(api.EventSessionCreated, "", short)
	sess, _ := m["session"].(map[string]any)
	if sess["id"] == nil {
		t.Fatalf("session_created without a session id: %v", m)
	}
	if m, err := own.Next(300 * time.Millisecond); err == nil {
		t.Fatalf("the confirming phone got its own announcement: %v", m)
	}

	var list api.SessionsBody
	h.Do("GET", api.PathMobileSessions, phone.Auth, nil).JSON(t, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].ID != sess["id"] || list.Sessions[0].Device.Name != "Test PC" {
		t.Fatalf("sessions: %+v", list)
	}
	desk := protocoltest.Auth{Bearer: rr.SessionToken}
	protocoltest.Want(t, h.Do("GET", api.PathMe, desk, nil), http.StatusOK, "")
	sws, _ := h.Dial(api.PathSessionEvents, desk, "")

	// Another account cannot revoke it.
	mallory := h.NewPhone("Mallory")
	protocoltest.Want(t, h.Do("DELETE", api.PathMobileSessions+"/"+list.Sessions[0].ID, mallory.Auth, nil), http.StatusNotFound, "not_found")

	revokedAt := time.Now()
	r := h.Do("DELETE", api.PathMobileSessions+"/"+list.Sessions[0].ID, phone.Auth, nil)
	if r.Status/100 != 2 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	sws.Expect(api.EventRevoked, "", time.Second)
	if d := time.Since(revokedAt); d > time.Second {
		t.Fatalf("desktop told after %v", d)
	}
	feed.Expect(api.EventSessionRevoked, "", short)
	protocoltest.Want(t, h.Do("GET", api.PathMe, desk, nil), http.StatusUnauthorized, "unauthorized")

	// Mobile logout ends every session that phone confirmed.
	rr1, rr2 := h.SignIn(phone, h.NewTicket()), h.SignIn(phone, h.NewTicket())
	rr3 := h.SignIn(other, h.NewTicket())
	w1, _ := h.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: rr1.SessionToken}, "")
	w2, _ := h.Dial(api.PathSessionEvents, protocoltest.Auth{Bearer: rr2.SessionToken}, "")
	r = h.Do("POST", api.PathMobileLogout, phone.Auth, nil)
	if r.Status/100 != 2 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	w1.Expect(api.EventRevoked, "", time.Second)
	w2.Expect(api.EventRevoked, "", time.Second)
	protocoltest.Want(t, h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr1.SessionToken}, nil), http.StatusUnauthorized, "unauthorized")
	protocoltest.Want(t, h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: rr3.SessionToken}, nil), http.StatusOK, "")
	protocoltest.Want(t, h.Do("GET", api.PathMobileSessions, phone.Auth, nil), http.StatusUnauthorized, "unauthorized")
}
