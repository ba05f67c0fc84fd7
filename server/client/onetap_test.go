package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/dpop"
)

// tapDesktop is a desktop with a DPoP key, speaking to the server by hand
// so that these tests do not lean on the desktop's side of the client.
type tapDesktop struct {
	base string
	key  *ecdsa.PrivateKey
}

// post sends a POST of in to path with a proof from d's key (and the
// bearer, if set) and decodes a 2xx answer into out; it returns the status.
func (d *tapDesktop) post(t *testing.T, path, bearer string, in, out any) int {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, d.base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	proof, err := dpop.Proof(d.key, http.MethodPost, d.base+path, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(dpop.Header, proof)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %d %s: %v", path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// enrolTapDesktop signs a desktop in by QR code, approved by m, and
// redeems with a proof: the key is enrolled for one-tap login.
func enrolTapDesktop(t *testing.T, base string, m *client.Mobile) *tapDesktop {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	d := &tapDesktop{base: base, key: key}
	ctx := context.Background()
	tk, err := client.New(base).CreateTicket(ctx, api.DesktopDevice{Name: "tap desktop", OS: "linux", App: "client test"})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := m.Scan(ctx, tk.QRPayload)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	req := api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &yes}
	if scan.MatchRequired {
		req.MatchCode = tk.MatchCode
	}
	if _, err := m.Confirm(ctx, req); err != nil {
		t.Fatal(err)
	}
	var r api.RedeemResponse
	if st := d.post(t, api.PathTickets+"/"+tk.Ref+"/redeem", tk.PollSecret, struct{}{}, &r); st != http.StatusOK || r.TokenType != api.TokenDPoP {
		t.Fatalf("redeem with a proof: %d %+v", st, r)
	}
	return d
}

// ask makes a one-tap request and returns the number the desktop shows.
func (d *tapDesktop) ask(t *testing.T) string {
	t.Helper()
	var r api.DesktopLoginResponse
	st := d.post(t, api.PathDesktopLogin, "", api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "tap desktop"}}, &r)
	if st/100 != 2 || r.Number == "" {
		t.Fatalf("POST %s: %d %+v", api.PathDesktopLogin, st, r)
	}
	return r.Number
}

// The phone's calls of one-tap login against the real server: the waiting
// request is listed and waited for, decided by its number, and the errors
// are the codes that the doc comments promise.
func TestAgainstServerOneTap(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := client.New(n.URL(), client.WithUserAgent("client-test/1"))
	m := login(t, c, "tara", "tara-phone-0000000000000")

	if list, err := m.LoginRequests(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("LoginRequests before any = %v, %v; want an empty list", list, err)
	}
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := m.WaitLoginRequest(short)
	stop()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitLoginRequest with none coming = %v, want the context's deadline", err)
	}

	d := enrolTapDesktop(t, n.URL(), m)
	desks, err := m.Desktops(ctx)
	if err != nil || len(desks) != 1 || desks[0].Name != "tap desktop" {
		t.Fatalf("Desktops after a QR login with a key = %+v, %v", desks, err)
	}

	// Waiting when the request comes: it arrives on the channel.
	got := make(chan api.LoginRequest, 1)
	waitErr := make(chan error, 1)
	go func() {
		r, err := m.WaitLoginRequest(ctx)
		got <- r
		waitErr <- err
	}()
	time.Sleep(300 * time.Millisecond) // most often, let the channel open first
	number := d.ask(t)
	r := <-got
	if err := <-waitErr; err != nil || !slices.Contains(r.Choices, number) || len(r.Choices) != 3 || r.Desktop.Name != "tap desktop" {
		t.Fatalf("WaitLoginRequest = %+v, %v; want the desktop's request with %q among three numbers", r, err, number)
	}
	list, err := m.LoginRequests(ctx)
	if err != nil || len(list) != 1 || list[0].ID != r.ID {
		t.Fatalf("LoginRequests = %+v, %v; want request %s", list, err, r.ID)
	}
	if _, err := m.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: "maybe"}); !errors.Is(err, server.ErrInvalid) {
		t.Errorf("an unknown action = %v, want invalid_request", err)
	}
	st, err := m.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: api.ActionApprove, Number: number})
	if err != nil || st != server.StateConfirmed {
		t.Fatalf("approve with the desktop's number = %q, %v", st, err)
	}
	if _, err := m.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: api.ActionDeny}); !errors.Is(err, server.ErrConflict) {
		t.Errorf("deciding twice = %v, want conflict", err)
	}
	if _, err := m.DecideLoginRequest(ctx, "AAAAAAAAAAAAAAAAAAAAAA", api.DecideLoginRequest{Action: api.ActionDeny}); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("an unknown request = %v, want not_found", err)
	}

	// Waiting already: WaitLoginRequest returns it; a wrong number denies.
	number = d.ask(t)
	r, err = m.WaitLoginRequest(ctx)
	if err != nil || !slices.Contains(r.Choices, number) {
		t.Fatalf("WaitLoginRequest of a waiting request = %+v, %v", r, err)
	}
	wrong := r.Choices[0]
	if wrong == number {
		wrong = r.Choices[1]
	}
	if _, err := m.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: api.ActionApprove, Number: wrong}); !errors.Is(err, server.ErrForbidden) {
		t.Errorf("approve with a wrong number = %v, want forbidden", err)
	}
	if _, err := m.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: api.ActionApprove, Number: number}); !errors.Is(err, server.ErrConflict) {
		t.Errorf("the right number after a wrong one = %v, want conflict: the wrong one denied", err)
	}

	// Another account's phone sees none of it.
	other := login(t, c, "ugo", "ugo-phone-00000000000000")
	number = d.ask(t)
	if list, err := other.LoginRequests(ctx); err != nil || len(list) != 0 {
		t.Errorf("another account's LoginRequests = %+v, %v", list, err)
	}
	r, err = m.WaitLoginRequest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.DecideLoginRequest(ctx, r.ID, api.DecideLoginRequest{Action: api.ActionApprove, Number: number}); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("another account deciding = %v, want not_found", err)
	}
	if err := other.RemoveDesktop(ctx, desks[0].ID); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("another account removing the desktop = %v, want not_found", err)
	}

	// Removing the desktop: it is no longer listed.
	if err := m.RemoveDesktop(ctx, desks[0].ID); err != nil {
		t.Fatal(err)
	}
	if desks, err := m.Desktops(ctx); err != nil || desks == nil || len(desks) != 0 {
		t.Errorf("Desktops after RemoveDesktop = %+v, %v; want an empty list", desks, err)
	}
	if err := m.RemoveDesktop(ctx, desks[0].ID); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("a second RemoveDesktop = %v, want not_found", err)
	}

	// A revoked phone is refused.
	if err := m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LoginRequests(ctx); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("LoginRequests after Logout = %v, want unauthorized", err)
	}
	if _, err := m.Desktops(ctx); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Desktops after Logout = %v, want unauthorized", err)
	}
}
