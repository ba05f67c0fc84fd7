package client

import (
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
)

// WithDPoP makes the Client prove that it holds key (DPoP, RFC 9449).
// Redeem sends a proof, so that the server binds the new session to key
// (the answer's TokenType is then api.TokenDPoP), and the calls made with
// a session token (Me, Logout, WatchSession) send it as "Authorization:
// DPoP <token>" with a fresh proof from key for each request or handshake.
// A session bound to key works only through a Client with this option; an
// unbound (bearer) session works through one too, since the server takes
// either scheme for it and ignores the proof. Ticket and phone calls are
// unchanged.
//
// A proof carries the time it was made, which the server refuses when it
// is more than a minute from its own clock; so the Client stamps proofs
// with the server's time: it keeps the offset of the server's clock from
// this computer's, learned from the Date header of every answer, and sends
// a call once more, with a new proof, when the server refused it (400 or
// 401) and the answer's Date shows that the proof's time was off.
func WithDPoP(key *ecdsa.PrivateKey) Option {
	return func(c *Client) { c.key = key }
}

// proofUse is the DPoP proof a call carries when the Client has a key.
type proofUse int

const (
	// noProof: none (ticket and phone calls).
	noProof proofUse = iota
	// bindProof: a proof without a token hash, beside the poll secret as a
	// bearer: the redeem that binds the new session to the key.
	bindProof
	// sessionProof: bearer is a session token, sent with the DPoP scheme
	// and a proof that carries its hash.
	sessionProof
)

// clockSlack is how far a refused proof's time may be from the answer's
// Date (which has whole seconds, and is stamped a round trip later) before
// the refusal is put down to the clock and the call sent once more. The
// server takes proofs within a minute of its clock.
const clockSlack = 10 * time.Second

// setHeaders sets the User-Agent and cl's credentials on h for a request of
// method to rawURL: the bearer with the Bearer scheme, or, with a key and a
// session proof, the DPoP scheme; the proof cl.proof asks for; the device
// id. It returns the server time stamped on the proof (zero if none).
func (c *Client) setHeaders(h http.Header, cl call, method, rawURL string) (time.Time, error) {
	h.Set("User-Agent", c.userAgent)
	scheme := "Bearer"
	var at time.Time
	if c.key != nil && cl.proof != noProof {
		ath := ""
		if cl.proof == sessionProof {
			scheme, ath = dpop.Scheme, cl.bearer
		}
		at = c.serverNow()
		proof, err := dpop.Proof(c.key, method, rawURL, ath, at)
		if err != nil {
			return time.Time{}, fmt.Errorf("client: %w", err)
		}
		h.Set(dpop.Header, proof)
	}
	if cl.bearer != "" {
		h.Set("Authorization", scheme+" "+cl.bearer)
	}
	if cl.deviceID != "" {
		h.Set(api.HeaderDeviceID, cl.deviceID)
	}
	return at, nil
}

// serverNow is the server's clock as last learned: this computer's clock
// plus the offset of the last Date header.
func (c *Client) serverNow() time.Time {
	return c.now().Add(time.Duration(c.skew.Load()))
}

// learnClock keeps the offset of the server's clock from the Date header of
// resp, when the Client has a key (only proofs need it), and reports
// whether resp refused (400 or 401) a proof stamped at (zero: none was
// sent) that was more than clockSlack off that Date: a call to send once
// more.
func (c *Client) learnClock(resp *http.Response, at time.Time) bool {
	if c.key == nil {
		return false
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return false
	}
	c.skew.Store(int64(date.Sub(c.now())))
	if at.IsZero() || (resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized) {
		return false
	}
	off := at.Sub(date)
	return off > clockSlack || off < -clockSlack
}
