package desktop

import (
	"errors"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// start signs in with the saved session of this server, if any, and
// otherwise shows the one-tap view or a new QR code (see loggedOut).
func (c *Controller) start(p *phase) {
	saved, err := c.cfg.Vault.Load()
	switch {
	case err == nil && saved.Server == c.serverID():
		c.restore(p, saved)
		return
	case err == nil:
		c.cfg.Log.Info("the saved session is for another server; showing a QR code")
	case !errors.Is(err, ErrNoSession):
		c.cfg.Log.Warn("the saved session could not be read", "err", err)
	}
	c.loggedOut(p, "", "")
}

// serverID names the server for Saved.Server.
func (c *Controller) serverID() string {
	if c.cfg.Server.Mode == ModeEmbedded {
		return ModeEmbedded
	}
	return c.cfg.Server.URL
}

// restore asks the server whether the saved session still stands: if so,
// signs in with it; if the server refuses it, forgets it and shows the
// one-tap view or a QR code.
func (c *Controller) restore(p *phase, saved Saved) {
	p.set(View{State: ViewLoading, Message: "Signing in as " + saved.User.DisplayName + "…"})
	user, err := c.cfg.Client.Me(p.ctx, saved.Token)
	switch {
	case err == nil:
		saved.User.DisplayName, saved.User.AvatarURL = user.DisplayName, user.AvatarURL
		c.signedIn(p, saved)
	case errors.Is(err, server.ErrUnauthorized):
		c.cfg.Log.Info("the saved session has ended")
		c.forget()
		c.loggedOut(p, sessionEnded, sessionEnded+": scan to log in again.")
	default:
		p.fail("check the saved session", err)
	}
}

// newTicket asks for a ticket, shows its QR code and follows it until it
// ends; once confirmed, redeems it and signs in. notice is shown with the
// QR code.
func (c *Controller) newTicket(p *phase, notice string) {
	p.set(View{State: ViewLoading, Message: notice})
	t, err := c.cfg.Client.CreateTicket(p.ctx, c.cfg.Device)
	if err != nil {
		p.fail("make a QR code", err)
		return
	}
	p.with(func(c *Controller) { c.ticket = &t })
	qr := &QR{Ref: t.Ref, Payload: t.QRPayload, ImageURL: c.cfg.Client.QRImageURL(t.Ref, 0), ExpiresAt: t.ExpiresAt}
	p.set(View{State: ViewPending, QR: qr, Message: notice})

	var final server.State
	err = c.cfg.Client.Watch(p.ctx, t.Ref, t.PollSecret, func(ev api.TicketEvent) {
		switch ev.Type {
		case api.EventRotated:
			qr = &QR{Ref: ev.Ref, Payload: ev.QRPayload, ImageURL: c.cfg.Client.QRImageURL(ev.Ref, 0)}
			if ev.ExpiresAt != nil {
				qr.ExpiresAt = *ev.ExpiresAt
			}
			p.update(func(v *View) { v.QR = qr })
		case api.EventState:
			final = ev.State
			p.update(func(v *View) { c.ticketView(v, ev, t.MatchCode, qr) })
		}
	})
	switch {
	case p.ctx.Err() != nil:
		return
	case errors.Is(err, server.ErrExpired):
		p.update(func(v *View) { v.State, v.Scanner = ViewExpired, nil })
		return
	case err != nil:
		p.fail("follow the QR code", err)
		return
	case final == server.StateConfirmed:
		c.redeem(p, t.Ref, t.PollSecret, func() { p.update(func(v *View) { v.State = ViewExpired }) })
	}
}

// ticketView shows the ticket state of ev on v.
func (c *Controller) ticketView(v *View, ev api.TicketEvent, matchCode string, qr *QR) {
	scanner := v.Scanner
	v.QR, v.Scanner = qr, nil
	if ev.State != server.StatePending {
		v.Message = ""
	}
	switch ev.State {
	case server.StatePending:
		v.State = ViewPending
	case server.StateScanned:
		v.State = ViewScanned
		s := &Scanner{}
		if ev.User != nil {
			s.DisplayName, s.AvatarURL = ev.User.DisplayName, ev.User.AvatarURL
		}
		if ev.MatchRequired != nil && *ev.MatchRequired {
			s.MatchCode = matchCode
		}
		v.Scanner = s
	case server.StateConfirmed:
		v.State, v.Scanner = ViewConfirmed, scanner // who is logging in
	case server.StateDenied:
		v.State = ViewDenied
	case server.StateCancelled:
		v.State = ViewCancelled
	default: // expired, and redeemed, which only this desktop can do
		v.State = ViewExpired
	}
}

// redeem trades the confirmed ticket ref (a QR code's or a one-tap
// request's) for the session, keeps it and signs in; expired shows that
// the ticket ran out first.
func (c *Controller) redeem(p *phase, ref, pollSecret string, expired func()) {
	r, err := c.cfg.Client.Redeem(p.ctx, ref, pollSecret)
	switch {
	case p.ctx.Err() != nil:
		return
	case errors.Is(err, server.ErrExpired):
		expired()
		return
	case err != nil:
		p.fail("log you in", err)
		return
	}
	saved := Saved{
		Server: c.serverID(), Token: r.SessionToken, User: r.User, Device: c.cfg.Device,
		SignedInAt: c.cfg.Now().UTC(), ExpiresAt: r.ExpiresAt,
	}
	if err := c.cfg.Vault.Save(saved); err != nil {
		c.cfg.Log.Warn("the session could not be kept: the next start shows a QR code", "err", err)
	}
	c.signedIn(p, saved)
}
