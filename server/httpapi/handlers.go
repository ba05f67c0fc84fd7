package httpapi

import (
	"net/http"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/service"
)

// checked runs check, which verifies a credential, with one failure
// reserved beforehand from the address's guessing budget (and username's,
// if not ""): the failure is kept if check fails as a wrong guess
// (credentialFailure) and given back otherwise. An empty budget answers
// rate_limited without running check.
func (h *Handler) checked(r *http.Request, username string, check func() error) error {
	c, err := h.limits.reserveFailure(r.Context(), clientIP(r), username)
	if err != nil {
		return err
	}
	failed := true // a panic in check counts, and still settles
	defer func() { c.settle(failed) }()
	err = check()
	failed = credentialFailure(err)
	return err
}

// mobile wraps a handler of an authenticated phone: Bearer device token and
// X-Device-Id (or the phone web app's cookies, phonecookie.go), checked
// against the guessing budget, then the phone's budget of calls.
func (h *Handler) mobile(next func(w http.ResponseWriter, r *http.Request, d server.Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var d server.Device
		err := h.checked(r, "", func() (err error) {
			tok, dev := h.phoneCredential(r)
			d, err = h.svc.AuthDevice(r.Context(), tok, dev)
			return err
		})
		if err == nil {
			err = h.limits.forCredential("device " + d.ID)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next(w, r, d)
	}
}

// desktop wraps a handler of a ticket's desktop: the ref in the path and the
// poll secret as Bearer, checked against the guessing budget.
func (h *Handler) desktop(next func(w http.ResponseWriter, r *http.Request, t server.Ticket)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var t server.Ticket
		err := h.checked(r, "", func() (err error) {
			t, err = h.svc.AuthTicket(r.Context(), r.PathValue("ref"), bearer(r))
			return err
		})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next(w, r, t)
	}
}

// session wraps a handler of a signed-in desktop: the session token (Bearer,
// or DPoP with a proof from the session's key when it is bound to one),
// checked against the guessing budget, then the session's budget of calls.
func (h *Handler) session(next func(w http.ResponseWriter, r *http.Request, s server.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s server.Session
		token, dpopScheme := sessionToken(r)
		err := h.checked(r, "", func() (err error) {
			if s, err = h.svc.AuthSession(r.Context(), token); err != nil {
				return err
			}
			return h.bound(r, s, token, "", dpopScheme)
		})
		if err == nil {
			err = h.limits.forCredential("session " + s.ID)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next(w, r, s)
	}
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.Register(r.Context(), req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.UserBody{User: u})
}

// mobileLogin serves POST /api/v1/mobile/login. A wrong password spends
// the address's guessing budget and the username's (case-folded: ALICE is
// alice); a name that cannot be a username spends the address's only, and
// never becomes a key.
func (h *Handler) mobileLogin(w http.ResponseWriter, r *http.Request) {
	var req api.MobileLoginRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	name, _ := service.CanonicalUsername(req.Username) // "" for a malformed name
	var resp api.MobileLoginResponse
	err := h.checked(r, name, func() (err error) {
		resp, err = h.svc.MobileLogin(r.Context(), req)
		return err
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if r.Header.Get(api.HeaderCredential) == api.CredentialCookie {
		h.setPhoneCookies(w, r, resp.DeviceToken, resp.DeviceID, int(phoneCookieLife/time.Second))
		resp.DeviceToken = ""
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) mobileLogout(w http.ResponseWriter, r *http.Request, d server.Device) {
	if err := h.svc.MobileLogout(r.Context(), d); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.setPhoneCookies(w, r, "", "", -1)
	w.WriteHeader(http.StatusNoContent)
}

// account serves GET /api/v1/mobile/account: the phone's account.
func (h *Handler) account(w http.ResponseWriter, r *http.Request, d server.Device) {
	u, err := h.svc.PhoneAccount(r.Context(), d)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, d server.Device) {
	list, err := h.svc.ListSessions(r.Context(), d)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SessionsBody{Sessions: list})
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, d server.Device) {
	if err := h.svc.RevokeSession(r.Context(), d, r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// scan serves POST /api/v1/mobile/scan. An unknown ref or user code spends
// the address's guessing budget; a device grant's payload, whose user code
// a person may have typed (short, so guessable), also spends the account's
// budget of wrong user codes, and an account whose budget is spent gets
// rate_limited for any user code, right or wrong.
func (h *Handler) scan(w http.ResponseWriter, r *http.Request, d server.Device) {
	if err := h.limits.forAccount(d.UserID); err != nil {
		h.writeError(w, r, err)
		return
	}
	var req api.ScanRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, perr := api.ParseAnyPayload(req.QRPayload)
	device := perr == nil && p.Device()
	var resp api.ScanResponse
	err := h.checked(r, "", func() (err error) {
		if device {
			var c charge
			if c, err = h.limits.reserveUserCode(r.Context(), d.UserID, clientIP(r)); err != nil {
				return err
			}
			defer func() { c.settle(credentialFailure(err)) }() // err: Scan's
		}
		resp, err = h.svc.Scan(r.Context(), d, req.QRPayload, clientIP(r))
		return err
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, d server.Device) {
	if err := h.limits.forAccount(d.UserID); err != nil {
		h.writeError(w, r, err)
		return
	}
	var req api.ConfirmRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	var resp api.StateBody
	err := h.checked(r, "", func() (err error) {
		resp, err = h.svc.Confirm(r.Context(), d, req)
		return err
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request) {
	var req api.CreateTicketRequest
	if err := decodeOptional(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.limits.ticketBudgets(clientIP(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	resp, err := h.svc.CreateTicket(r.Context(), req, server.Desktop{IP: clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

// redeem serves POST /api/v1/tickets/{ref}/redeem, as a handler that
// desktop wraps would: the ref and poll secret checked against the
// guessing budget first. Without a DPoP proof the ticket is read once, in
// its update (RedeemRef); with one, redeemBound serves it.
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request) {
	if len(r.Header.Values(dpop.Header)) > 0 {
		h.desktop(h.redeemBound)(w, r)
		return
	}
	var resp api.RedeemResponse
	var redeemErr error // an error of the redeem, not of the credential
	err := h.checked(r, "", func() error {
		resp, redeemErr = h.svc.RedeemRef(r.Context(), r.PathValue("ref"), bearer(r))
		if service.IsCredential(redeemErr) {
			return redeemErr
		}
		return nil
	})
	if err == nil {
		err = redeemErr
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// redeemBound is redeem with a DPoP proof, which binds the new session to
// the proof's key; a proof that does not check out is refused before the
// ticket is touched.
func (h *Handler) redeemBound(w http.ResponseWriter, r *http.Request, t server.Ticket) {
	jkt, err := h.proofKey(r, "", "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp, err := h.svc.Redeem(r.Context(), t, jkt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, t server.Ticket) {
	resp, err := h.svc.Cancel(r.Context(), t)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request, s server.Session) {
	u, err := h.svc.Me(r.Context(), s)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.UserBody{User: u})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s server.Session) {
	if err := h.svc.Logout(r.Context(), s); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
