package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
	"github.com/qrlogin/qrlogin/server/service"
)

// Close codes beyond RFC 6455's.
const (
	closeUnauthorized websocket.StatusCode = 4401 // bad or missing credential
	closeTooMany      websocket.StatusCode = 4429 // over a cap of open sockets
)

// originAllowed reports whether a browser request from r's Origin may
// proceed: no Origin (not a browser), or the origin of the base URL, of an
// alias, or one of the allowed origins (with * wildcards). The request's
// own Host plays no part: under DNS rebinding it is the attacker's name.
func (h *Handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	o := normalOrigin(u)
	for _, pattern := range h.origins {
		if pattern == o {
			return true
		}
		if strings.Contains(pattern, "*") {
			if ok, _ := path.Match(pattern, o); ok {
				return true
			}
		}
	}
	return false
}

// normalOrigin is u's origin as browsers send it: scheme and host in lower
// case, without the scheme's default port.
func normalOrigin(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	return strings.ToLower(u.Scheme) + "://" + host
}

// accept (behind upgradeChecked, which checked the upgrade and its
// Origin) checks the address's cap of open sockets and, if the
// request has a bearer, credentials (via check, against the guessing
// budget) and the credential's cap of open sockets (which slot names)
// before upgrading; without a bearer it upgrades and reads
// {"type":"auth"} within AuthTimeout, then checks the same. Once the
// subject is known it calls subscribe, before the upgrade is answered where
// it can be, so that no event published after the client's dial returns is
// missed. It returns the connection, the subject, a func that gives the
// socket's slots back (call it when the socket ends), and false if it
// already answered; then it has given the slots back but undone nothing
// that subscribe did: the caller's deferred clean-up must.
func accept[T any](h *Handler, w http.ResponseWriter, r *http.Request, check func(ctx context.Context, m api.AuthMessage) (T, error), slot func(T) (kind, id string), subscribe func(T)) (*websocket.Conn, T, func(), bool) {
	var zero T
	releaseAddr, err := h.limits.addressSocket(clientIP(r))
	if err != nil {
		h.writeError(w, r, err)
		return nil, zero, nil, false
	}
	releaseCred := func() {}
	release := func() { releaseCred(); releaseAddr() }
	// authenticate checks m's credential and takes its socket slot.
	authenticate := func(ctx context.Context, m api.AuthMessage) (T, error) {
		var subject T
		err := h.checked(r, "", func() (err error) {
			subject, err = check(ctx, m)
			return err
		})
		if err != nil {
			return zero, err
		}
		kind, id := slot(subject)
		if releaseCred, err = h.limits.credentialSocket(kind, id); err != nil {
			releaseCred = func() {}
			return zero, err
		}
		return subject, nil
	}
	var subject T
	tok, _ := sessionToken(r) // Bearer, or DPoP for a bound session's socket
	dev := r.Header.Get(api.HeaderDeviceID)
	if tok == "" && strings.HasPrefix(r.URL.Path, cookiePath+"/") {
		tok, dev = h.phoneCredential(r) // the phone web app's cookies
	}
	if tok != "" {
		subject, err = authenticate(r.Context(), api.AuthMessage{Type: api.EventAuth, PollSecret: tok, Token: tok, DeviceID: dev})
		if err != nil {
			release()
			h.writeError(w, r, err)
			return nil, zero, nil, false
		}
		subscribe(subject)
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // Origin checked above
	if err != nil {
		release()
		return nil, zero, nil, false
	}
	c.SetReadLimit(4 << 10)
	if tok != "" {
		return c, subject, release, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.AuthTimeout)
	defer cancel()
	var m api.AuthMessage
	if err := wsjson.Read(ctx, c, &m); err != nil || m.Type != api.EventAuth {
		release()
		c.Close(closeUnauthorized, "send {\"type\":\"auth\"} first")
		return nil, zero, nil, false
	}
	subject, err = authenticate(ctx, m)
	if err != nil {
		release()
		code := closeUnauthorized
		if server.ErrorCode(err) == server.CodeRateLimited {
			code = closeTooMany
		}
		c.Close(code, server.ErrorMessage(err))
		return nil, zero, nil, false
	}
	subscribe(subject)
	return c, subject, release, true
}

// pump writes each message of sub to c, as to returns it, until to says the
// message was the last, the subscription ends, the peer goes away or stops
// answering pings. It closes c with a code that says why.
func pump[T any](h *Handler, ctx context.Context, c *websocket.Conn, sub <-chan T, dropped func() bool, to func(T) (v any, last bool)) {
	ctx = discardReads(ctx, c)
	ping := time.NewTicker(h.cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, h.cfg.PingEvery/2)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				c.Close(websocket.StatusGoingAway, "no pong")
				return
			}
		case m, ok := <-sub:
			if !ok {
				if dropped() {
					c.Close(websocket.StatusTryAgainLater, "fell behind; reconnect")
				} else {
					c.Close(websocket.StatusGoingAway, "server shutting down")
				}
				return
			}
			v, last := to(m)
			if err := writeMsg(ctx, c, v); err != nil {
				return
			}
			if last {
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}
}

// discardReads reads the client's messages (an extra auth message, say)
// and drops them, which also answers pings and notices a close; the
// returned context ends when the connection does. (coder/websocket's
// CloseRead would close the socket on any data message instead.)
func discardReads(ctx context.Context, c *websocket.Conn) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	return ctx
}

// writeMsg writes v as one JSON text message within 10 s.
func writeMsg(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// final reports whether a ticket event ends the watch.
func final(ev api.TicketEvent) bool {
	return ev.Type == api.EventState && server.State(ev.State).Final()
}

// ticketEvents serves GET /api/v1/tickets/{ref}/events.
func (h *Handler) ticketEvents(w http.ResponseWriter, r *http.Request) {
	h.sockets.Add(1)
	defer h.sockets.Done()
	ref := r.PathValue("ref")
	var sub *hub.Sub[service.TicketMsg]
	release := func() {}
	defer func() {
		release()
		if sub != nil {
			sub.Close()
		}
	}()
	c, t, done, ok := accept(h, w, r, func(ctx context.Context, m api.AuthMessage) (server.Ticket, error) {
		return h.svc.AuthTicket(ctx, ref, m.PollSecret)
	}, func(t server.Ticket) (string, string) { return "ticket", t.ID }, func(t server.Ticket) {
		sub = h.svc.Tickets.Subscribe(t.ID, 16)
		release = h.svc.Watch(t)
	})
	if !ok {
		return
	}
	defer done()
	defer h.metrics.SocketOpened("ticket_ws")()

	ctx := r.Context()
	ev, _, err := h.svc.Current(ctx, t)
	if err != nil {
		h.log.Error("ticket events: current state", "err", err)
		c.Close(websocket.StatusInternalError, "internal error")
		return
	}
	ev.Ref, ev.QRPayload, ev.ExpiresAt = "", "", nil // the state message names no QR
	if err := writeMsg(ctx, c, ev); err != nil {
		return
	}
	if final(ev) {
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	pump(h, ctx, c, sub.C, sub.Dropped, func(m service.TicketMsg) (any, bool) {
		h.metrics.Pushed(m.Event.State, m.At)
		return m.Event, final(m.Event)
	})
}

// sessionEvents serves GET /api/v1/session/events: {"type":"revoked"} when
// the session ends, then close.
func (h *Handler) sessionEvents(w http.ResponseWriter, r *http.Request) {
	h.sockets.Add(1)
	defer h.sockets.Done()
	var token string
	var sub *hub.Sub[api.SessionEvent]
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	c, _, done, ok := accept(h, w, r, func(ctx context.Context, m api.AuthMessage) (server.Session, error) {
		token = m.Token
		s, err := h.svc.AuthSession(ctx, m.Token)
		if err != nil {
			return s, err
		}
		return s, h.bound(r, s, m.Token, m.DPoP, true)
	}, func(s server.Session) (string, string) { return "session", s.ID }, func(s server.Session) { sub = h.svc.Sessions.Subscribe(s.ID, 4) })
	if !ok {
		return
	}
	defer done()
	defer h.metrics.SocketOpened("session_ws")()
	// The session may have been revoked between the check and the
	// subscription: look again now that no event can be missed.
	// Only a session that is no longer valid is told "revoked": a database
	// that does not answer closes the socket with 1011, and the desktop
	// reconnects rather than signing out.
	if _, err := h.svc.AuthSession(r.Context(), token); err != nil {
		if server.ErrorCode(err) != server.CodeUnauthorized {
			h.log.Error("session events: checking the session", "err", err)
			c.Close(websocket.StatusInternalError, "internal error")
			return
		}
		writeMsg(r.Context(), c, api.SessionEvent{Type: api.EventRevoked})
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	pump(h, r.Context(), c, sub.C, sub.Dropped, func(ev api.SessionEvent) (any, bool) {
		return ev, ev.Type == api.EventRevoked
	})
}

// mobileEvents serves GET /api/v1/mobile/events, the phone's own channel.
func (h *Handler) mobileEvents(w http.ResponseWriter, r *http.Request) {
	h.sockets.Add(1)
	defer h.sockets.Done()
	var sub *hub.Sub[service.UserMsg]
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	c, d, done, ok := accept(h, w, r, func(ctx context.Context, m api.AuthMessage) (server.Device, error) {
		return h.svc.AuthDevice(ctx, m.Token, m.DeviceID)
	}, func(d server.Device) (string, string) { return "phone", d.ID }, func(d server.Device) { sub = h.svc.Users.Subscribe(d.UserID, 64) })
	if !ok {
		return
	}
	defer done()
	defer h.metrics.SocketOpened("mobile_ws")()
	msgs := make(chan api.MobileEvent, 64)
	go func() { // filter out the device's own events
		defer close(msgs)
		for m := range sub.C {
			if m.Except != d.ID {
				select {
				case msgs <- m.Event:
				default:
				}
			}
		}
	}()
	pump(h, r.Context(), c, msgs, sub.Dropped, func(ev api.MobileEvent) (any, bool) { return ev, false })
}

// wait serves the long-poll GET /api/v1/tickets/{ref}/wait?after=&qr=.
func (h *Handler) wait(w http.ResponseWriter, r *http.Request, t server.Ticket) {
	q := r.URL.Query()
	after, qr := server.State(q.Get("after")), q.Get("qr")
	if after != "" && !slices.Contains(server.States, after) {
		h.writeError(w, r, server.Errorf(server.CodeInvalid, "after must be a ticket state"))
		return
	}
	if qr != "" && !api.ValidRef(qr) {
		h.writeError(w, r, server.Errorf(server.CodeInvalid, "qr must be a ref"))
		return
	}
	releaseAddr, err := h.limits.addressSocket(clientIP(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer releaseAddr()
	releaseTicket, err := h.limits.credentialSocket("ticket", t.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer releaseTicket()
	defer h.metrics.SocketOpened("long_poll")()
	sub := h.svc.Tickets.Subscribe(t.ID, 16)
	defer sub.Close()
	release := h.svc.Watch(t)
	defer release()

	hold := time.NewTimer(h.cfg.LongPollHold)
	defer hold.Stop()
	answer := false // answer even if unchanged: held long enough, or no more events
	for {
		ev, cur, err := h.svc.Current(r.Context(), t)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		t = cur
		changed := after == "" || ev.State != after || (ev.State == server.StatePending && qr != "" && ev.Ref != qr)
		if changed || answer {
			writeJSON(w, http.StatusOK, ev)
			return
		}
		select {
		case <-r.Context().Done():
			return // the client left
		case <-hold.C:
			answer = true
		case _, ok := <-sub.C:
			answer = !ok // shutting down or fell behind: answer now
		}
	}
}
