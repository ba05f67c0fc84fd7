package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// Long-poll pacing: an answer that brings nothing new is not followed by
// another request sooner than minPoll after the last one (a guard against a
// server that answers at once), and a rate_limited answer is retried after
// its Retry-After, within [minPoll, maxBackoff].
//
// A long-poll that fails on the way (the connection breaks, or a balancer
// answers 502, 503 or 504 because the node behind it went away) is retried
// after a backoff that starts at firstRetry and doubles up to maxRetry, for
// as long as the failures last at most the client's outage limit in a row
// (outageLimit unless WithOutageLimit); any other node behind the balancer
// can answer, since every node serves every ticket.
const (
	minPoll     = time.Second
	maxBackoff  = 30 * time.Second
	firstRetry  = 250 * time.Millisecond
	maxRetry    = 4 * time.Second
	outageLimit = 30 * time.Second
)

// maxWait bounds one long-poll: the server holds it 25 s at most, so one
// that has not been answered in 40 s went to a peer that vanished without
// closing the connection, and is retried as a failure on the way.
const maxWait = 40 * time.Second

// watchEnds reports whether Watch stops after delivering a state event
// with state s: at confirmed (the desktop redeems next) and at every final
// state; never at a state the protocol does not name.
func watchEnds(s server.State) bool {
	return slices.Contains(server.States, s) && (s == server.StateConfirmed || s.Final())
}

// Watch follows the ticket that CreateTicket named ref and calls fn, on
// Watch's goroutine, for each event: {"type":"state"} at once with the
// current state and then on every change, and {"type":"rotated"} with the
// new ref, qr_payload and expires_at whenever the server replaces the QR.
//
// It listens on the WebSocket /api/v1/tickets/{ref}/events and, when the
// socket cannot be opened (or drops), goes on with the long-poll
// /api/v1/tickets/{ref}/wait on its own; WithLongPoll makes it long-poll
// only. Both give the same stream: a QR that changed between long-poll
// answers is delivered as a rotated event.
//
// Watch returns nil after delivering a state for which watchEnds is true; on
// confirmed, the caller redeems next. It returns ctx.Err() when ctx ends,
// the *server.Error of a refusal (a wrong poll secret: not_found or
// unauthorized; a forgotten ticket: expired), or the transport's error when
// the server cannot be reached: at once if it never was, else once it stays
// away longer than the outage limit (see WithOutageLimit). fn should return
// quickly: while it runs, Watch does not read.
func (c *Client) Watch(ctx context.Context, ref, pollSecret string, fn func(api.TicketEvent)) error {
	w := &watcher{c: c, ref: ref, secret: pollSecret, fn: fn, qr: ref, outage: c.outage}
	if !c.longPollOnly {
		conn, protocol, err := c.wsDial(ctx, call{path: ticketPath(ref, "events"), bearer: pollSecret})
		if err == nil {
			err = readEvents(ctx, conn, w.deliver)
			if !errors.Is(err, ErrClosed) {
				return err
			}
			// The socket dropped before a final state: go on by long-poll
			// from the state and QR last seen.
		} else if ctx.Err() != nil {
			return ctx.Err()
		} else if protocol {
			return err
		}
	}
	return w.longPoll(ctx)
}

// watcher is one Watch: what it was last told, so that long-poll answers
// become the same events as the WebSocket's.
type watcher struct {
	c      *Client
	ref    string
	secret string
	fn     func(api.TicketEvent)
	state  server.State  // last state delivered
	qr     string        // ref of the QR last delivered
	outage time.Duration // how long failures in a row are retried
}

// deliver hands ev to fn, records it, and reports whether Watch ends.
func (w *watcher) deliver(ev api.TicketEvent) bool {
	w.fn(ev)
	switch ev.Type {
	case api.EventState:
		w.state = ev.State
		return watchEnds(ev.State)
	case api.EventRotated:
		w.qr = ev.Ref
	}
	return false
}

// longPoll asks /wait again and again until a final state or an error.
func (w *watcher) longPoll(ctx context.Context) error {
	var failingSince time.Time // zero while the last long-poll got through
	retry := firstRetry
	for {
		start := time.Now()
		ans, err := w.wait(ctx)
		var se *server.Error
		if errors.As(err, &se) && se.Code == server.CodeRateLimited {
			if err := sleep(ctx, min(max(se.RetryAfter, minPoll), maxBackoff)); err != nil {
				return err
			}
			continue
		}
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && w.state != "" && transient(err) { // heard from before: a blip
			if failingSince.IsZero() {
				failingSince = time.Now() // a failure may come late in a long hold
			}
			if left := w.outage - time.Since(failingSince); left > 0 {
				if err := sleep(ctx, min(retry, left)); err != nil {
					return err
				}
				retry = min(2*retry, maxRetry)
				continue
			}
		}
		if err != nil {
			return err
		}
		failingSince, retry = time.Time{}, firstRetry
		news := false
		if ans.State != w.state {
			news = true
			if w.deliver(api.TicketEvent{Type: api.EventState, State: ans.State,
				MatchRequired: ans.MatchRequired, User: ans.User}) {
				return nil
			}
		}
		if ans.State == server.StatePending && ans.Ref != "" && ans.Ref != w.qr {
			news = true
			w.deliver(api.TicketEvent{Type: api.EventRotated, Ref: ans.Ref,
				QRPayload: ans.QRPayload, ExpiresAt: ans.ExpiresAt})
		}
		if !news {
			if err := sleep(ctx, minPoll-time.Since(start)); err != nil {
				return err
			}
		}
	}
}

// wait is one long-poll: it answers when the state differs from the last
// delivered or, while pending, the QR differs from the last shown.
func (w *watcher) wait(ctx context.Context) (api.TicketEvent, error) {
	path := ticketPath(w.ref, "wait")
	if w.state != "" {
		path += "?" + url.Values{"after": {string(w.state)}, "qr": {w.qr}}.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	var ans api.TicketEvent
	err := w.c.do(ctx, call{method: http.MethodGet, path: path, bearer: w.secret, out: &ans})
	return ans, err
}

// transient reports whether err is a failure on the way to the server, not
// the server's refusal: a transport error, or a gateway's 502, 503 or 504
// without the protocol's error body.
func transient(err error) bool {
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var se *server.Error
	return !errors.As(err, &se)
}

// sleep waits d, or less if ctx ends, when it returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
