package desktop

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
)

// One-tap login, the desktop's side: once this desktop's key is enrolled
// (a QR login redeemed with its proof), a log-out leads to the account's
// masked name and avatar with Log in, instead of a QR code. Log in asks
// the account's phones; the window shows the number to tap there and
// follows the request as a ticket that starts scanned: confirmed → redeem
// → signed in; denied or expired → say so and offer the QR code.

// sessionEnded is the notice after a session that the server no longer
// takes.
const sessionEnded = "Your session has ended"

// Notices of the one-tap views.
const (
	noticeDenied    = "Denied on your phone."
	noticeNoAnswer  = "No answer from your phone."
	noticeForgotten = "Your phone said it was not you: this computer is no longer remembered. Scan the QR code to log in."
	noticeUnknown   = "This computer is no longer remembered: scan the QR code to log in."
)

// LogIn asks the phones of the account this desktop's key is enrolled for
// to let it in (the one-tap view's Log in, and its retries): the window
// shows the number to tap, then signs in, or says why not.
func (c *Controller) LogIn() {
	var acct OneTap
	offered := func() bool {
		switch c.view.State {
		case ViewOneTap, ViewOneTapDenied, ViewOneTapExpired, ViewOneTapLimited:
		default:
			return false
		}
		if c.account == nil {
			return false
		}
		acct = *c.account
		return true
	}
	c.run(offered, func(p *phase) { c.oneTapLogin(p, acct) })
}

// SwitchAccount leaves the one-tap views for a new QR code (ending a
// request that waits), and keeps to QR codes until the next sign-in.
func (c *Controller) SwitchAccount() {
	var r *api.DesktopLoginResponse
	oneTap := func() bool {
		switch c.view.State {
		case ViewOneTap, ViewOneTapWaiting, ViewOneTapDenied, ViewOneTapExpired, ViewOneTapLimited:
		default:
			return false
		}
		r, c.qrOnly = c.request, true
		return true
	}
	c.run(oneTap, func(p *phase) {
		if r != nil {
			c.cancelRequest(p, r)
		}
		c.newTicket(p, "")
	})
}

// loggedOut shows what follows a log-out, an ended session or a start
// without one: the one-tap view with notice if this desktop's key is
// enrolled (and SwitchAccount has not asked for QR codes), else a new QR
// code with qrNotice. A server that cannot tell (an old one, a fault)
// gets the QR code.
func (c *Controller) loggedOut(p *phase, notice, qrNotice string) {
	qrOnly := false
	p.with(func(c *Controller) { qrOnly = c.qrOnly })
	if !qrOnly {
		p.set(View{State: ViewLoading, Message: notice})
		info, err := c.cfg.Client.DesktopKey(p.ctx)
		switch {
		case p.ctx.Err() != nil:
			return
		case err == nil:
			acct := OneTap{DisplayName: info.User.DisplayName, AvatarURL: info.User.AvatarURL}
			p.with(func(c *Controller) { c.account = &acct })
			p.set(View{State: ViewOneTap, OneTap: &acct, Message: notice})
			return
		case errors.Is(err, server.ErrNotFound), errors.Is(err, client.ErrNoKey):
		default:
			c.cfg.Log.Warn("one-tap login: the server could not say whether this computer is enrolled", "err", err)
		}
		p.with(func(c *Controller) { c.account = nil })
	}
	c.newTicket(p, qrNotice)
}

// oneTapLogin asks the phones of acct's account, shows the number and
// follows the request until it ends; once confirmed, redeems it and signs
// in.
func (c *Controller) oneTapLogin(p *phase, acct OneTap) {
	p.set(View{State: ViewLoading, OneTap: &acct, Message: "Asking your phone…"})
	r, err := c.cfg.Client.DesktopLogin(p.ctx, api.DesktopLoginRequest{Device: c.cfg.Device})
	var se *server.Error
	switch {
	case p.ctx.Err() != nil:
		return
	case err == nil:
	case errors.Is(err, server.ErrNotFound):
		c.forgotten(p, noticeUnknown)
		return
	case errors.Is(err, server.ErrRateLimited):
		p.set(View{State: ViewOneTapLimited, OneTap: &acct, Message: limitedNotice(err)})
		return
	case errors.As(err, &se) && !errors.Is(err, client.ErrUnavailable):
		// conflict (a request already waits: on another run of the app),
		// or a fault: say it, and leave the choice.
		c.cfg.Log.Warn("one-tap login refused", "err", err)
		p.set(View{State: ViewOneTap, OneTap: &acct, Message: server.ErrorMessage(se) + "."})
		return
	default:
		p.fail("ask your phone", err)
		return
	}
	if r.User.DisplayName != "" {
		acct.DisplayName, acct.AvatarURL = r.User.DisplayName, r.User.AvatarURL
	}
	p.with(func(c *Controller) { c.request, c.account = &r, &acct })
	waiting := acct
	waiting.Number = r.Number
	p.set(View{State: ViewOneTapWaiting, OneTap: &waiting})

	var final server.State
	err = c.cfg.Client.Watch(p.ctx, r.Ref, r.PollSecret, func(ev api.TicketEvent) {
		if ev.Type == api.EventState {
			final = ev.State
		}
	})
	p.with(func(c *Controller) { c.request = nil })
	expired := func() { p.set(View{State: ViewOneTapExpired, OneTap: &acct, Message: noticeNoAnswer}) }
	switch {
	case p.ctx.Err() != nil:
	case errors.Is(err, server.ErrExpired):
		expired()
	case err != nil:
		p.fail("follow the log-in request", err)
	case final == server.StateConfirmed:
		p.set(View{State: ViewConfirmed, Scanner: &Scanner{DisplayName: acct.DisplayName, AvatarURL: acct.AvatarURL}})
		c.redeem(p, r.Ref, r.PollSecret, expired)
	case final == server.StateDenied:
		c.denied(p, acct)
	case final == server.StateCancelled: // by another run of the app on this key
		p.set(View{State: ViewOneTap, OneTap: &acct})
	default:
		expired()
	}
}

// denied shows the phone's denial, and the QR code instead if the phone
// said "Not me": the server removes the enrolment before it tells the
// desktop of the denial, so one look tells the two apart.
func (c *Controller) denied(p *phase, acct OneTap) {
	if !p.set(View{State: ViewOneTapDenied, OneTap: &acct, Message: noticeDenied}) {
		return
	}
	if _, err := c.cfg.Client.DesktopKey(p.ctx); errors.Is(err, server.ErrNotFound) {
		c.forgotten(p, noticeForgotten)
	}
}

// forgotten shows a new QR code with notice: this desktop's key is no
// longer enrolled.
func (c *Controller) forgotten(p *phase, notice string) {
	c.cfg.Log.Info("one-tap login: this computer is no longer enrolled")
	p.with(func(c *Controller) { c.account = nil })
	c.newTicket(p, notice)
}

// cancelRequest ends one-tap request r on the server, if it can be reached
// within a few seconds.
func (c *Controller) cancelRequest(p *phase, r *api.DesktopLoginResponse) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if err := c.cfg.Client.Cancel(ctx, r.Ref, r.PollSecret); err != nil && p.ctx.Err() == nil {
		c.cfg.Log.Warn("cancel the one-tap request", "err", err)
	}
}

// limitedNotice says when a rate-limited one-tap request may be made again.
func limitedNotice(err error) string {
	var se *server.Error
	if !errors.As(err, &se) || se.RetryAfter <= 0 {
		return "Too many log-in requests from this computer: try again later, or scan the QR code."
	}
	d := se.RetryAfter
	when := fmt.Sprintf("%d s", int((d+time.Second-1)/time.Second))
	if d > time.Minute {
		when = fmt.Sprintf("%d min", int((d+time.Minute-1)/time.Minute))
	}
	return "Too many log-in requests from this computer: try again in " + when + ", or scan the QR code."
}
