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
// missed. The socket's slots are given back when s ends (or, if accept
// fails, before it returns). It returns the connection and the subject, or
// false if it already answered or closed the connection.
func accept[T any](h *Handler, s *wsSocket, w http.ResponseWriter, r *http.Request, check func(ctx context.Context, m api.AuthMessage) (T, error), slot func(T) (kind, id string), subscribe func(T)) (*websocket.Conn, T, bool) {
	var zero T
	releaseAddr, err := h.limits.addressSocket(clientIP(r))
	if err != nil {
		h.writeError(w, r, err)
		return nil, zero, false
	}
	releaseCred := func() {}
	release := func() { releaseCred(); releaseAddr() }
	s.atEnd(release)
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
			return nil, zero, false
		}
		subscribe(subject)
	}
	// Origin checked above; small buffers (wsResponseWriter) for a socket
	// that mostly waits.
	c, err := websocket.Accept(wsResponseWriter{w}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		release()
		return nil, zero, false
	}
	c.SetReadLimit(4 << 10)
	s.dropsDead = dropsDead(w)
	if tok != "" {
		return c, subject, true
	}
	deadline := time.Now().Add(h.cfg.AuthTimeout)
	// The read's context is not the request's: the connection keeps the
	// context of its last read, and a waiting socket should not keep the
	// request's.
	rctx, cancelRead := context.WithDeadline(context.Background(), deadline)
	defer cancelRead()
	var m api.AuthMessage
	if err := wsjson.Read(rctx, c, &m); err != nil || m.Type != api.EventAuth {
		release()
		c.Close(closeUnauthorized, "send {\"type\":\"auth\"} first")
		return nil, zero, false
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	subject, err = authenticate(ctx, m)
	if err != nil {
		release()
		switch server.ErrorCode(err) {
		case server.CodeRateLimited:
			c.Close(closeTooMany, server.ErrorMessage(err))
		case server.CodeInternal: // the database, say: the client retries
			h.log.Error("websocket auth", "err", err)
			c.Close(websocket.StatusInternalError, "internal error")
		default:
			c.Close(closeUnauthorized, server.ErrorMessage(err))
		}
		return nil, zero, false
	}
	subscribe(subject)
	return c, subject, true
}

// wsEncoding names how a handler encodes the messages of a hub for a kind
// of socket: the key under which the sockets of a topic share the encoding
// of a message (hub.Derive).
type wsEncoding struct {
	h    *Handler
	kind string
}

// subscribe subscribes s to topic of hb. Each message that keep (if not
// nil) keeps is queued for s as encode turns it into a message to write,
// which it does once per publication for all the sockets of kind (nil: not
// sent). The subscription ends with the socket.
func subscribe[T any](s *wsSocket, hb *hub.Hub[T], topic, kind string, keep func(T) bool, encode func(T) *wsMsg) {
	key := wsEncoding{s.h, kind}
	sub := hb.SubscribeFunc(topic, func(m *hub.Message[T]) bool {
		if keep != nil && !keep(m.Value) {
			return true
		}
		msg := hub.Derive(m, key, encode)
		return msg == nil || s.push(msg)
	}, s.ended)
	s.atEnd(sub.Close)
}

// encode encodes v as a message to write to sockets (last: the socket
// closes after it; wrote: called after each write). It logs and returns nil
// if v cannot be encoded.
func (h *Handler) encode(v any, last bool, wrote func()) *wsMsg {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("encoding an event", "err", err)
		return nil
	}
	return &wsMsg{b: b, last: last, wrote: wrote}
}

// writeMsg writes v as one JSON text message within wsWriteTimeout. Its
// context is not the request's: the connection keeps the context of its
// last write, and a waiting socket should not keep the request's.
func writeMsg(c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// final reports whether a ticket event ends the watch.
func final(ev api.TicketEvent) bool {
	return ev.Type == api.EventState && server.State(ev.State).Final()
}

// ticketEvents serves GET /api/v1/tickets/{ref}/events.
func (h *Handler) ticketEvents(w http.ResponseWriter, r *http.Request) {
	s := h.newSocket(16)
	defer s.leave()
	ref := r.PathValue("ref")
	var ev api.TicketEvent // the state when subscribed (Follow)
	c, _, ok := accept(h, s, w, r, func(ctx context.Context, m api.AuthMessage) (t server.Ticket, err error) {
		t, ev, err = h.svc.Follow(ctx, ref, m.PollSecret, func(id string) {
			subscribe(s, h.svc.Tickets, id, "ticket_ws", nil, func(m service.TicketMsg) *wsMsg {
				var wrote func()
				if state, at := m.Event.State, m.At; !at.IsZero() {
					wrote = func() { h.metrics.Pushed(state, at) }
				}
				return h.encode(m.Event, final(m.Event), wrote)
			})
		})
		return t, err
	}, func(t server.Ticket) (string, string) { return "ticket", t.ID }, func(t server.Ticket) {
		s.atEnd(h.svc.Watch(t))
	})
	if !ok {
		return
	}
	s.atEnd(h.metrics.SocketOpened("ticket_ws"))
	ev.Ref, ev.QRPayload, ev.ExpiresAt = "", "", nil // the state message names no QR
	if err := writeMsg(c, ev); err != nil {
		c.CloseNow()
		return
	}
	if final(ev) {
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	s.run(c)
}

// sessionEvents serves GET /api/v1/session/events: {"type":"revoked"} when
// the session ends, then close.
func (h *Handler) sessionEvents(w http.ResponseWriter, r *http.Request) {
	s := h.newSocket(4)
	defer s.leave()
	var token string
	c, _, ok := accept(h, s, w, r, func(ctx context.Context, m api.AuthMessage) (server.Session, error) {
		token = m.Token
		ss, err := h.svc.AuthSession(ctx, m.Token)
		if err != nil {
			return ss, err
		}
		return ss, h.bound(r, ss, m.Token, m.DPoP, true)
	}, func(ss server.Session) (string, string) { return "session", ss.ID }, func(ss server.Session) {
		subscribe(s, h.svc.Sessions, ss.ID, "session_ws", nil, func(ev api.SessionEvent) *wsMsg {
			return h.encode(ev, ev.Type == api.EventRevoked, nil)
		})
	})
	if !ok {
		return
	}
	s.atEnd(h.metrics.SocketOpened("session_ws"))
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
		writeMsg(c, api.SessionEvent{Type: api.EventRevoked})
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	s.run(c)
}

// mobileEvents serves GET /api/v1/mobile/events, the phone's own channel:
// the events of its account but those it caused itself.
func (h *Handler) mobileEvents(w http.ResponseWriter, r *http.Request) {
	s := h.newSocket(64)
	defer s.leave()
	c, _, ok := accept(h, s, w, r, func(ctx context.Context, m api.AuthMessage) (server.Device, error) {
		return h.svc.AuthDevice(ctx, m.Token, m.DeviceID)
	}, func(d server.Device) (string, string) { return "phone", d.ID }, func(d server.Device) {
		subscribe(s, h.svc.Users, d.UserID, "mobile_ws",
			func(m service.UserMsg) bool { return m.Except != d.ID },
			func(m service.UserMsg) *wsMsg { return h.encode(m.Event, false, nil) })
	})
	if !ok {
		return
	}
	s.atEnd(h.metrics.SocketOpened("mobile_ws"))
	s.run(c)
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
