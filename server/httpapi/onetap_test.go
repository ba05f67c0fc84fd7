package httpapi_test

import (
	"crypto/ecdsa"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// enrolled signs a desktop with key in to p's account by QR code with a
// DPoP proof, which binds the session to the key and enrols the key, and
// returns the session token.
func enrolled(t *testing.T, h *harness, p protocoltest.Phone, key *ecdsa.PrivateKey) string {
	t.Helper()
	tk := h.NewTicket()
	r := h.Scan(p, tk.QRPayload)
	protocoltest.Want(t, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(t, &sr)
	protocoltest.Want(t, h.Confirm(p, sr.ScanToken, true, ""), http.StatusOK, "")
	path := api.PathTickets + "/" + tk.Ref + "/redeem"
	auth := tk.Secret()
	auth.DPoP = mustProof(t, key, "POST", h.Base+path, "")
	r = h.Do("POST", path, auth, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	var rr api.RedeemResponse
	r.JSON(t, &rr)
	if rr.TokenType != api.TokenDPoP {
		t.Fatalf("redeem with a proof: token_type %q, want DPoP", rr.TokenType)
	}
	return rr.SessionToken
}

// ask makes a one-tap request from the desktop with key.
func ask(t *testing.T, h *harness, key *ecdsa.PrivateKey) protocoltest.Resp {
	t.Helper()
	return h.Do("POST", api.PathDesktopLogin, protocoltest.Auth{DPoP: mustProof(t, key, "POST", h.Base+api.PathDesktopLogin, "")},
		api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "Office PC", OS: "linux"}})
}

func askOK(t *testing.T, h *harness, key *ecdsa.PrivateKey) api.DesktopLoginResponse {
	t.Helper()
	r := ask(t, h, key)
	protocoltest.Want(t, r, http.StatusCreated, "")
	var resp api.DesktopLoginResponse
	r.JSON(t, &resp)
	return resp
}

func decide(h *harness, p protocoltest.Phone, id, action, number string) protocoltest.Resp {
	return h.Do("POST", api.PathMobileLoginRequests+"/"+id, p.Auth, api.DecideLoginRequest{Action: action, Number: number})
}

// waitState long-polls the request's ticket as the desktop does.
func waitState(t *testing.T, h *harness, resp api.DesktopLoginResponse) string {
	t.Helper()
	r := h.Do("GET", api.PathTickets+"/"+resp.Ref+"/wait?after=scanned", protocoltest.Auth{Bearer: resp.PollSecret}, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	return r.Map()["state"].(string)
}

// The whole one-tap flow: a desktop enrolled at its QR login asks; the
// phone is told, sees three numbers with the desktop's among them, taps
// it, and the desktop, and only that desktop's key, redeems a session
// bound to the key. A wrong number denies; a fourth request in ten
// minutes is refused.
func TestOneTapLogin(t *testing.T) { onBothStores(t, testOneTapLogin) }

func testOneTapLogin(t *testing.T, h *harness) {
	p := h.NewPhone("Alice")
	key, other := mustKey(t), mustKey(t)
	enrolled(t, h, p, key)

	r := h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: mustProof(t, key, "GET", h.Base+api.PathDesktopKey, "")}, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	var info api.DesktopKeyInfo
	r.JSON(t, &info)
	if info.User.DisplayName != "A***e" {
		t.Errorf("desktop key info %+v, want the masked account", info)
	}
	r = h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: mustProof(t, other, "GET", h.Base+api.PathDesktopKey, "")}, nil)
	protocoltest.Want(t, r, http.StatusNotFound, "not_found")
	protocoltest.Want(t, ask(t, h, other), http.StatusNotFound, "not_found")
	// A replayed proof and an expired one ask nothing.
	replayed := mustProof(t, key, "GET", h.Base+api.PathDesktopKey, "")
	protocoltest.Want(t, h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: replayed}, nil), http.StatusOK, "")
	protocoltest.Want(t, h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: replayed}, nil), http.StatusBadRequest, "invalid_request")
	stale := proofAt(t, key, "POST", h.Base+api.PathDesktopLogin, "", time.Now().Add(-2*time.Minute))
	protocoltest.Want(t, h.Do("POST", api.PathDesktopLogin, protocoltest.Auth{DPoP: stale}, nil), http.StatusBadRequest, "invalid_request")

	events, _ := h.Dial(api.PathMobileEvents, p.Auth, "")
	resp := askOK(t, h, key)
	ev, err := events.Next(5 * time.Second)
	if err != nil || ev["type"] != api.EventLoginRequest {
		t.Fatalf("phone channel: %v %v, want a login_request", ev, err)
	}
	r = h.Do("GET", api.PathMobileLoginRequests, p.Auth, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	var list []api.LoginRequest
	r.JSON(t, &list)
	if len(list) != 1 || list[0].ID != resp.Ref || len(list[0].Choices) != 3 || !slices.Contains(list[0].Choices, resp.Number) || list[0].Desktop.Name != info.Name {
		t.Fatalf("requests %+v, want one with the desktop's number %s among three", list, resp.Number)
	}
	protocoltest.Want(t, ask(t, h, key), http.StatusConflict, "conflict") // one at a time
	bob := h.NewPhone("Bob")
	protocoltest.Want(t, decide(h, bob, resp.Ref, api.ActionApprove, resp.Number), http.StatusNotFound, "not_found")

	r = decide(h, p, resp.Ref, api.ActionApprove, resp.Number)
	protocoltest.Want(t, r, http.StatusOK, "")
	if st := waitState(t, h, resp); st != "confirmed" {
		t.Fatalf("desktop sees %s, want confirmed", st)
	}
	path := api.PathTickets + "/" + resp.Ref + "/redeem"
	protocoltest.Want(t, h.Do("POST", path, protocoltest.Auth{Bearer: resp.PollSecret}, nil), http.StatusForbidden, "forbidden")
	protocoltest.Want(t, h.Do("POST", path, protocoltest.Auth{Bearer: resp.PollSecret, DPoP: mustProof(t, other, "POST", h.Base+path, "")}, nil), http.StatusForbidden, "forbidden")
	r = h.Do("POST", path, protocoltest.Auth{Bearer: resp.PollSecret, DPoP: mustProof(t, key, "POST", h.Base+path, "")}, nil)
	protocoltest.Want(t, r, http.StatusOK, "")
	var rr api.RedeemResponse
	r.JSON(t, &rr)
	if rr.TokenType != api.TokenDPoP || rr.User.DisplayName != "Alice" {
		t.Fatalf("redeem %+v, want a session bound to the key", rr)
	}

	// A wrong number denies at once.
	resp = askOK(t, h, key)
	wrong := "00"
	for _, c := range []string{"00", "01", "02"} {
		if c != resp.Number {
			wrong = c
			break
		}
	}
	protocoltest.Want(t, decide(h, p, resp.Ref, api.ActionApprove, wrong), http.StatusForbidden, "forbidden")
	if st := waitState(t, h, resp); st != "denied" {
		t.Fatalf("after a wrong number the desktop sees %s, want denied", st)
	}
	protocoltest.Want(t, decide(h, p, resp.Ref, api.ActionApprove, resp.Number), http.StatusConflict, "conflict") // decided

	// Deny, then the fourth request in ten minutes.
	resp = askOK(t, h, key)
	protocoltest.Want(t, decide(h, p, resp.Ref, api.ActionDeny, ""), http.StatusOK, "")
	r = ask(t, h, key)
	protocoltest.Want(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// Not me denies the request, removes the desktop's enrolment and ends
// the sessions bound to its key; the desktop is back to the QR code.
func TestOneTapNotMe(t *testing.T) { onBothStores(t, testOneTapNotMe) }

func testOneTapNotMe(t *testing.T, h *harness) {
	p := h.NewPhone("Alice")
	key := mustKey(t)
	tok := enrolled(t, h, p, key)
	me := h.Base + api.PathMe
	protocoltest.Want(t, h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", me, tok)}, nil), http.StatusOK, "")
	r := h.Do("GET", api.PathMobileDesktops, p.Auth, nil)
	var desktops []api.EnrolledDesktop
	r.JSON(t, &desktops)
	if len(desktops) != 1 {
		t.Fatalf("desktops %+v, want the enrolled one", desktops)
	}

	resp := askOK(t, h, key)
	protocoltest.Want(t, decide(h, p, resp.Ref, api.ActionNotMe, ""), http.StatusOK, "")
	if st := waitState(t, h, resp); st != "denied" {
		t.Errorf("after not me the desktop sees %s, want denied", st)
	}
	protocoltest.Want(t, h.Do("GET", api.PathMe, protocoltest.Auth{Bearer: tok, Scheme: "DPoP", DPoP: mustProof(t, key, "GET", me, tok)}, nil), http.StatusUnauthorized, "unauthorized")
	protocoltest.Want(t, h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: mustProof(t, key, "GET", h.Base+api.PathDesktopKey, "")}, nil), http.StatusNotFound, "not_found")
	protocoltest.Want(t, ask(t, h, key), http.StatusNotFound, "not_found")
	r = h.Do("GET", api.PathMobileDesktops, p.Auth, nil)
	r.JSON(t, &desktops)
	if len(desktops) != 0 {
		t.Errorf("desktops after not me: %+v", desktops)
	}
}

// Twenty requests from one desktop at once: one is asked, the others are
// refused; the budget is not dodged by concurrency.
func TestOneTapConcurrentRequests(t *testing.T) { onBothStores(t, testOneTapConcurrentRequests) }

func testOneTapConcurrentRequests(t *testing.T, h *harness) {
	p := h.NewPhone("Alice")
	key := mustKey(t)
	enrolled(t, h, p, key)
	statuses := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		proof := mustProof(t, key, "POST", h.Base+api.PathDesktopLogin, "")
		wg.Go(func() {
			statuses <- h.Do("POST", api.PathDesktopLogin, protocoltest.Auth{DPoP: proof}, nil).Status
		})
	}
	wg.Wait()
	close(statuses)
	created := 0
	for s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict, http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 1 {
		t.Errorf("%d of 20 racing requests were asked, want 1", created)
	}
	r := h.Do("GET", api.PathMobileLoginRequests, p.Auth, nil)
	var list []api.LoginRequest
	r.JSON(t, &list)
	if len(list) != 1 {
		t.Errorf("the phone sees %d requests, want 1", len(list))
	}
}

// Attacks on one-tap found in review, each closed: a key re-enrolled for
// another account takes no waiting request with it; a request's ticket
// stays bound to the asking key after the key asks again; Not me after the
// desktop cancelled still removes the computer.
func TestOneTapReviewAttacks(t *testing.T) { onBothStores(t, testOneTapReviewAttacks) }

func testOneTapReviewAttacks(t *testing.T, h *harness) {
	alice, mallory := h.NewPhone("Alice"), h.NewPhone("Mallory")
	key := mustKey(t)
	enrolled(t, h, alice, key)

	// Alice's request, then the desktop signs in to Mallory's account.
	resp := askOK(t, h, key)
	enrolled(t, h, mallory, key)
	var list []api.LoginRequest
	h.Do("GET", api.PathMobileLoginRequests, mallory.Auth, nil).JSON(t, &list)
	if len(list) != 0 {
		t.Errorf("Mallory's phone lists %+v, want none of Alice's", list)
	}
	protocoltest.Want(t, decide(h, mallory, resp.Ref, api.ActionApprove, resp.Number), http.StatusNotFound, "not_found")
	protocoltest.Want(t, decide(h, alice, resp.Ref, api.ActionApprove, resp.Number), http.StatusNotFound, "not_found")
	path := api.PathTickets + "/" + resp.Ref + "/redeem"
	protocoltest.Want(t, h.Do("POST", path, protocoltest.Auth{Bearer: resp.PollSecret, DPoP: mustProof(t, key, "POST", h.Base+path, "")}, nil),
		http.StatusForbidden, "forbidden") // the key is no longer Alice's

	// Mallory's own request is approved; the key asks again; the first
	// ticket still needs the key.
	first := askOK(t, h, key)
	protocoltest.Want(t, decide(h, mallory, first.Ref, api.ActionApprove, first.Number), http.StatusOK, "")
	second := askOK(t, h, key)
	path = api.PathTickets + "/" + first.Ref + "/redeem"
	protocoltest.Want(t, h.Do("POST", path, protocoltest.Auth{Bearer: first.PollSecret}, nil), http.StatusForbidden, "forbidden")

	// The desktop cancels at once; Not me still removes it.
	protocoltest.Want(t, h.Do("POST", api.PathTickets+"/"+second.Ref+"/cancel", protocoltest.Auth{Bearer: second.PollSecret}, nil), http.StatusOK, "")
	protocoltest.Want(t, decide(h, mallory, second.Ref, api.ActionNotMe, ""), http.StatusOK, "")
	protocoltest.Want(t, h.Do("GET", api.PathDesktopKey, protocoltest.Auth{DPoP: mustProof(t, key, "GET", h.Base+api.PathDesktopKey, "")}, nil),
		http.StatusNotFound, "not_found")
	protocoltest.Want(t, h.Do("POST", path, protocoltest.Auth{Bearer: first.PollSecret, DPoP: mustProof(t, key, "POST", h.Base+path, "")}, nil),
		http.StatusForbidden, "forbidden") // approved before, but the computer is no longer remembered
}
