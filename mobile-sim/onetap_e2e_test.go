package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/service"
)

// keyDesktop is a desktop that holds a DPoP key, as the desktop app does,
// and talks to the server with proofs from it.
type keyDesktop struct {
	url     string
	key     *ecdsa.PrivateKey
	session string // the session token of its QR login, bound to key
}

// dpopDo sends a request with a proof from d's key for method and path;
// with a token, as "Authorization: DPoP <token>" (ath in the proof), and
// with a poll secret, as a bearer. It returns the status and the body.
func (d *keyDesktop) dpopDo(t *testing.T, method, path, bearer, token string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := dpop.Proof(d.key, method, d.url+path, token, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(dpop.Header, proof)
	req.Header.Set("Content-Type", "application/json")
	switch {
	case token != "":
		req.Header.Set("Authorization", dpop.Scheme+" "+token)
	case bearer != "":
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// enrolDesktop signs a new desktop in by its QR code, which the phone of
// the default profile approves, and redeems the ticket with a proof: that
// binds the session to the desktop's key and enrols the key for one-tap
// login.
func enrolDesktop(t *testing.T, url string) *keyDesktop {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	d := newDesktop(t, url)
	sim(t, exitOK, "scan", "--payload", d.ticket.QRPayload, "--yes")
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Fatalf("desktop's last event %+v, want confirmed", ev)
	}
	kd := &keyDesktop{url: url, key: key}
	st, body := kd.dpopDo(t, http.MethodPost, api.PathTickets+"/"+d.ticket.Ref+"/redeem", d.ticket.PollSecret, "", struct{}{})
	var r api.RedeemResponse
	if err := json.Unmarshal(body, &r); st != http.StatusOK || err != nil || r.TokenType != api.TokenDPoP {
		t.Fatalf("redeem with a proof: %d %s", st, body)
	}
	kd.session = r.SessionToken
	return kd
}

// ask makes a one-tap request and returns the server's answer: the number
// the desktop shows, and its ticket.
func (d *keyDesktop) ask(t *testing.T) api.DesktopLoginResponse {
	t.Helper()
	st, body := d.dpopDo(t, http.MethodPost, api.PathDesktopLogin, "", "",
		api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "Test Desktop", OS: "linux", App: "e2e"}})
	var r api.DesktopLoginResponse
	if err := json.Unmarshal(body, &r); st/100 != 2 || err != nil || r.Number == "" || r.Ref == "" {
		t.Fatalf("POST %s: %d %s", api.PathDesktopLogin, st, body)
	}
	return r
}

// outcome is the state the desktop's ticket ends in, as the desktop
// watches it after asking.
func (d *keyDesktop) outcome(t *testing.T, r api.DesktopLoginResponse) server.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var last server.State
	err := client.New(d.url).Watch(ctx, r.Ref, r.PollSecret, func(ev api.TicketEvent) {
		if ev.Type == api.EventState {
			last = ev.State
		}
	})
	if err != nil {
		t.Fatalf("Watch of the one-tap ticket: %v (last state %q)", err, last)
	}
	return last
}

// meStatus is the status of GET /api/v1/me with the desktop's session.
func (d *keyDesktop) meStatus(t *testing.T) int {
	t.Helper()
	st, _ := d.dpopDo(t, http.MethodGet, api.PathMe, "", d.session, nil)
	return st
}

// waitJSON runs requests --wait -json and returns the request it printed.
func waitJSON(t *testing.T, args ...string) api.LoginRequest {
	t.Helper()
	out, _ := sim(t, exitOK, append([]string{"requests", "--wait", "-json", "--timeout", "20s"}, args...)...)
	var r api.LoginRequest
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" || len(r.Choices) != 3 {
		t.Fatalf("requests --wait -json printed %q (%v), want a request with three numbers", out, err)
	}
	return r
}

// One-tap login from the phone's side: mobile-sim sees an enrolled
// desktop's request (as it comes on the channel, and when it was waiting
// already), approves it with the number the desktop shows, denies it on a
// wrong number, and on not-me also removes the enrolment and ends the
// desktop's session.
func TestEndToEndOneTap(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchNever)
	sim(t, exitOK, "register", "-server", url, "--username", "hana", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "hana", "--password", "a long enough password")

	// Nothing waits: --wait gives up after its timeout.
	_, errOut := sim(t, exitFailure, "requests", "--wait", "--timeout", "300ms")
	if !strings.Contains(errOut, "no login request came within 300ms") {
		t.Errorf("requests --wait with nothing to wait for: %q", errOut)
	}
	if out, _ := sim(t, exitOK, "desktops"); !strings.Contains(out, "no desktops enrolled") {
		t.Errorf("desktops before any: %q", out)
	}

	d := enrolDesktop(t, url)
	out, _ := sim(t, exitOK, "desktops", "-json")
	var desks []api.EnrolledDesktop
	if err := json.Unmarshal([]byte(out), &desks); err != nil || len(desks) != 1 || desks[0].Name != "Test Desktop" {
		t.Fatalf("desktops -json after a QR login with a key: %s (%v)", out, err)
	}
	if out, _ := sim(t, exitOK, "desktops"); !strings.Contains(out, desks[0].ID) || !strings.Contains(out, "Test Desktop") {
		t.Errorf("desktops table lacks the desktop:\n%s", out)
	}

	// 1. --wait is running when the request comes; the right number
	// confirms, and the desktop's ticket is confirmed.
	type result struct {
		code        int
		out, errOut string
	}
	waited := make(chan result, 1)
	go func() {
		code, out, errOut := runCmd(t, "", "requests", "--wait", "-json", "--timeout", "20s")
		waited <- result{code, out, errOut}
	}()
	time.Sleep(300 * time.Millisecond) // most often, let the channel open first
	asked := d.ask(t)
	var res result
	select {
	case res = <-waited:
	case <-time.After(25 * time.Second):
		t.Fatal("requests --wait did not return")
	}
	var r api.LoginRequest
	if err := json.Unmarshal([]byte(res.out), &r); res.code != exitOK || err != nil {
		t.Fatalf("requests --wait -json: exit %d, %q, %q (%v)", res.code, res.out, res.errOut, err)
	}
	if len(r.Choices) != 3 || !slices.Contains(r.Choices, asked.Number) || r.Desktop.Name != "Test Desktop" {
		t.Fatalf("the phone's request %+v: want the desktop's name and three numbers with %q", r, asked.Number)
	}
	out, _ = sim(t, exitOK, "requests")
	for _, want := range append([]string{r.ID, "Test Desktop", "in "}, r.Choices...) {
		if !strings.Contains(out, want) {
			t.Errorf("requests table lacks %q:\n%s", want, out)
		}
	}
	out, _ = sim(t, exitOK, "requests", "approve", r.ID, "--number", asked.Number)
	if out != "state: confirmed\n" {
		t.Errorf("approve with the desktop's number printed %q", out)
	}
	if st := d.outcome(t, asked); st != server.StateConfirmed {
		t.Errorf("the desktop's ticket ended %q, want confirmed", st)
	}
	if out, _ := sim(t, exitOK, "requests", "-json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("requests -json after the approval: %s", out)
	}
	_, errOut = sim(t, exitFailure, "requests", "approve", r.ID, "--number", asked.Number)
	if !strings.Contains(errOut, "login request "+r.ID+" was decided already") || !strings.Contains(errOut, "(conflict)") {
		t.Errorf("approving a decided request: %q", errOut)
	}

	// 2. The request waits before --wait starts; another of the three
	// numbers denies.
	asked = d.ask(t)
	r = waitJSON(t)
	wrong := r.Choices[0]
	if wrong == asked.Number {
		wrong = r.Choices[1]
	}
	code, out, errOut := runCmd(t, "", "requests", "approve", r.ID, "--number", wrong)
	if code != exitFailure || out != "state: denied\n" || errOut != "mobile-sim: requests: denied: the number did not match\n" {
		t.Errorf("approve with a wrong number: exit %d, %q, %q", code, out, errOut)
	}
	if st := d.outcome(t, asked); st != server.StateDenied {
		t.Errorf("the desktop's ticket ended %q, want denied", st)
	}

	// 3. not-me denies, removes the enrolment and ends the desktop's
	// session.
	if st := d.meStatus(t); st != http.StatusOK {
		t.Fatalf("the desktop's session before not-me: %d", st)
	}
	asked = d.ask(t)
	r = waitJSON(t)
	out, _ = sim(t, exitOK, "requests", "not-me", r.ID)
	if !strings.HasPrefix(out, "state: denied\n") {
		t.Errorf("not-me printed %q", out)
	}
	if st := d.outcome(t, asked); st != server.StateDenied {
		t.Errorf("the desktop's ticket ended %q, want denied", st)
	}
	if out, _ := sim(t, exitOK, "desktops", "-json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("desktops -json after not-me: %s", out)
	}
	if st := d.meStatus(t); st != http.StatusUnauthorized {
		t.Errorf("the desktop's session after not-me: %d, want 401", st)
	}
	if st, body := d.dpopDo(t, http.MethodPost, api.PathDesktopLogin, "", "",
		api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "Test Desktop"}}); st/100 == 2 {
		t.Errorf("a one-tap request after not-me was taken: %d %s", st, body)
	}
}

// deny denies without touching the enrolment; desktops remove ends it
// and the desktop's session.
func TestEndToEndOneTapDenyAndRemove(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchNever)
	sim(t, exitOK, "register", "-server", url, "--username", "ivan", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "ivan", "--password", "a long enough password")
	d := enrolDesktop(t, url)

	asked := d.ask(t)
	out, _ := sim(t, exitOK, "requests", "--wait")
	r := waitJSON(t)
	for _, want := range []string{"An enrolled desktop asks to log in", r.ID, "Test Desktop", strings.Join(r.Choices, "   "),
		"mobile-sim requests approve " + r.ID + " --number N"} {
		if !strings.Contains(out, want) {
			t.Errorf("requests --wait lacks %q:\n%s", want, out)
		}
	}
	if out, _ := sim(t, exitOK, "requests", "deny", r.ID); out != "state: denied\n" {
		t.Errorf("deny printed %q", out)
	}
	if st := d.outcome(t, asked); st != server.StateDenied {
		t.Errorf("the desktop's ticket ended %q, want denied", st)
	}

	out, _ = sim(t, exitOK, "desktops", "-json")
	var desks []api.EnrolledDesktop
	if err := json.Unmarshal([]byte(out), &desks); err != nil || len(desks) != 1 {
		t.Fatalf("desktops -json after a deny: %s (%v)", out, err)
	}
	if st := d.meStatus(t); st != http.StatusOK {
		t.Fatalf("the desktop's session after a deny: %d", st)
	}
	out, _ = sim(t, exitOK, "desktops", "remove", desks[0].ID)
	if !strings.Contains(out, "removed desktop "+desks[0].ID) {
		t.Errorf("desktops remove printed %q", out)
	}
	if out, _ := sim(t, exitOK, "desktops"); !strings.Contains(out, "no desktops enrolled") {
		t.Errorf("desktops after remove: %q", out)
	}
	if st := d.meStatus(t); st != http.StatusUnauthorized {
		t.Errorf("the desktop's session after remove: %d, want 401", st)
	}
	if _, errOut := sim(t, exitFailure, "desktops", "remove", desks[0].ID); !strings.Contains(errOut, "(not_found)") {
		t.Errorf("a second remove: %q", errOut)
	}
	_, errOut := sim(t, exitFailure, "requests", "deny", "AAAAAAAAAAAAAAAAAAAAAA")
	if !strings.Contains(errOut, "this account has no login request AAAAAAAAAAAAAAAAAAAAAA") || !strings.Contains(errOut, "(not_found)") {
		t.Errorf("denying an unknown request: %q", errOut)
	}
}
