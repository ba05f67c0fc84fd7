package desktop

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// maxReconnect bounds the wait between attempts to reopen the session
// channel.
const maxReconnect = time.Minute

// signedIn shows the session and listens on its channel until the phone
// revokes it (or logs out), when it forgets the session and shows a new QR
// code: the person logged this computer out on purpose, so it offers no
// one-tap Log in. A session that ended otherwise (expiry) shows the
// one-tap view if the key is enrolled (loggedOut). A channel that drops is
// opened again, with a growing wait, for as long as the server does not
// refuse the session.
func (c *Controller) signedIn(p *phase, s Saved) {
	p.with(func(c *Controller) { c.session, c.qrOnly = &s, false })
	p.set(View{State: ViewSignedIn, Session: c.sessionView(s)})
	wait := c.cfg.Reconnect
	for {
		err := c.cfg.Client.WatchSession(p.ctx, s.Token, func(api.SessionEvent) {})
		switch {
		case p.ctx.Err() != nil:
			return
		case err == nil:
			c.cfg.Log.Info("the session was ended from the phone")
			c.forget()
			c.newTicket(p, "You were logged out from your phone.")
			return
		case errors.Is(err, server.ErrUnauthorized):
			c.cfg.Log.Info("the session has ended")
			c.forget()
			c.loggedOut(p, sessionEnded, sessionEnded+": scan to log in again.")
			return
		}
		c.cfg.Log.Warn("the session channel dropped; reconnecting", "err", err, "in", wait)
		p.update(func(v *View) { v.Message = "Connection to the server lost: reconnecting…" })
		if !p.sleep(wait) {
			return
		}
		wait = min(2*wait, maxReconnect)
		if _, err := c.cfg.Client.Me(p.ctx, s.Token); err == nil {
			wait = c.cfg.Reconnect
			p.update(func(v *View) { v.Message = "" })
		}
	}
}

// sessionView is what the window shows of session s.
func (c *Controller) sessionView(s Saved) *Session {
	dev := s.Device.Name
	if s.Device.OS != "" {
		dev += " (" + s.Device.OS + ")"
	}
	return &Session{
		DisplayName: s.User.DisplayName, AvatarURL: s.User.AvatarURL,
		SignedInAt: s.SignedInAt, ExpiresAt: s.ExpiresAt,
		Device: strings.TrimSpace(dev), App: s.Device.App, LocalIP: localIP(c.cfg.Server.URL),
	}
}

// localIP returns the address of this computer on its route to the server
// at base, or "" if unknown. It sends nothing: a UDP socket only picks a
// route when it connects.
func localIP(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.Dial("udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return ""
	}
	defer conn.Close()
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}
