package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// event is a ticket event as a desktop received it, and when.
type event struct {
	api.TicketEvent
	at time.Time
}

// stepError is a failure of one step of a flow; its kind is errKind(step,
// err).
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }
func (e *stepError) kind() string  { return errKind(e.step, e.err) }

// kindError is a failure that is its own kind ("push_timeout").
type kindError string

func (k kindError) Error() string { return string(k) }

// kindOf names any error of a flow for errors_by_kind.
func kindOf(step string, err error) string {
	var ke kindError
	if errors.As(err, &ke) {
		return string(ke)
	}
	var se *stepError
	if errors.As(err, &se) {
		return se.kind()
	}
	return errKind(step, err)
}

// createBody is every desktop's request for a ticket, encoded once.
var createBody = func() json.RawMessage {
	b, err := json.Marshal(api.CreateTicketRequest{Device: api.DesktopDevice{Name: "Load PC", OS: "linux", App: "qrlogin-load"}})
	if err != nil {
		panic(err)
	}
	return b
}()

// ticket is what the tool uses of a created ticket (api.CreateTicketResponse):
// decoding no more spares parsing the rest, its expiry time.
type ticket struct {
	Ref        string `json:"ref"`
	PollSecret string `json:"poll_secret"`
	QRPayload  string `json:"qr_payload"`
	MatchCode  string `json:"match_code"`
}

// createTicket asks for a ticket as a desktop from ep.
func (l *loader) createTicket(ctx context.Context, ep *endpoint) (ticket, error) {
	var t ticket
	err := call(ctx, l.cfg.RequestTimeout, ep.hc, http.MethodPost, l.nodes.base()+api.PathTickets, creds{}, createBody, &t)
	if err != nil {
		return t, &stepError{"create", err}
	}
	return t, nil
}

// watch follows ticket t as its desktop does, over a WebSocket or by
// long-poll, and calls fn with each event (the state at once, then each
// change, and rotated events) until fn returns true, ctx ends (it returns
// ctx.Err()) or the channel fails (a *stepError: ws_dial, ws_closed,
// longpoll).
// With several nodes, the WebSocket goes to node (-1: one at random), and
// each long-poll to a node at random.
func (l *loader) watch(ctx context.Context, ep *endpoint, t ticket, longPoll bool, node int, fn func(event) bool) error {
	if longPoll {
		return l.watchLongPoll(ctx, ep, t, fn)
	}
	if node < 0 {
		node = l.nodes.pick()
	}
	return l.watchWS(ctx, ep, t, node, fn)
}

func (l *loader) watchWS(ctx context.Context, ep *endpoint, t ticket, node int, fn func(event) bool) error {
	dctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
	conn, err := dialWS(dctx, ep.hc, l.nodes.wsBases[node]+api.PathTickets+"/"+t.Ref+"/events", creds{bearer: t.PollSecret})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &stepError{"ws_dial", err}
	}
	l.openWS.Add(1)
	defer l.openWS.Add(-1)
	defer conn.CloseNow()
	// ctx's end closes the socket, which ends a Read; reading with a
	// context that never ends spares coder/websocket a context.AfterFunc
	// for each frame.
	stop := context.AfterFunc(ctx, func() { conn.CloseNow() })
	defer stop()
	conn.SetReadLimit(64 << 10)
	for {
		typ, b, err := conn.Read(context.Background())
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &stepError{"ws_closed", errClosed(err)}
		}
		var ev wsEvent
		if typ != websocket.MessageText || json.Unmarshal(b, &ev) != nil {
			return &stepError{"ws_message", errors.New("not a JSON text message")}
		}
		if fn(event{api.TicketEvent{Type: ev.Type, State: ev.State, Ref: ev.Ref, QRPayload: ev.QRPayload}, at}) {
			conn.Close(websocket.StatusNormalClosure, "")
			return nil
		}
	}
}

// wsEvent is what the tool uses of a WebSocket's api.TicketEvent (not the
// user of a confirmed ticket, nor a rotated QR's expiry).
type wsEvent struct {
	Type      string       `json:"type"`
	State     server.State `json:"state"`
	Ref       string       `json:"ref"`
	QRPayload string       `json:"qr_payload"`
}

// errClosed keeps the close status of a WebSocket's end in its error.
func errClosed(err error) error {
	if s := websocket.CloseStatus(err); s != -1 {
		return &httpError{status: int(s)} // "ws_closed:1013" and the like
	}
	return err
}

func (l *loader) watchLongPoll(ctx context.Context, ep *endpoint, t ticket, fn func(event) bool) error {
	state, qr := "", t.Ref
	for {
		u := l.nodes.base() + api.PathTickets + "/" + t.Ref + "/wait"
		if state != "" {
			u += "?" + url.Values{"after": {state}, "qr": {qr}}.Encode()
		}
		start := time.Now()
		var ans api.TicketEvent
		l.openLP.Add(1)
		err := call(ctx, l.cfg.LongPollTimeout, ep.hc, http.MethodGet, u, creds{bearer: t.PollSecret}, nil, &ans)
		l.openLP.Add(-1)
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &stepError{"longpoll", err}
		}
		news := false
		if string(ans.State) != state {
			state, news = string(ans.State), true
			if fn(event{api.TicketEvent{Type: api.EventState, State: ans.State, MatchRequired: ans.MatchRequired, User: ans.User}, at}) {
				return nil
			}
		}
		if ans.State == server.StatePending && ans.Ref != "" && ans.Ref != qr {
			qr, news = ans.Ref, true
			if fn(event{api.TicketEvent{Type: api.EventRotated, Ref: ans.Ref, QRPayload: ans.QRPayload, ExpiresAt: ans.ExpiresAt}, at}) {
				return nil
			}
		}
		// A server that answers at once with nothing new must not be
		// hammered: as the Go client does, wait out a second.
		if !news && time.Since(start) < 500*time.Millisecond {
			if sleep(ctx, time.Second) != nil {
				return ctx.Err()
			}
		}
	}
}

// waitingDesktop keeps one desktop waiting on a pending ticket until ctx
// ends: it follows rotations and, when the ticket expires (after the
// server's rotate-max), asks for a new one.
func (l *loader) waitingDesktop(ctx context.Context, i int) {
	ep := l.eps[i%len(l.eps)]
	lp := longPollSlot(i, l.cfg.LongPoll)
	failures := 0
	for ctx.Err() == nil {
		t, err := l.createTicket(ctx, ep)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.errs.Add(kindOf("create", err))
			failures++
			sleep(ctx, backoff(failures))
			continue
		}
		counted := false
		err = l.watch(ctx, ep, t, lp, -1, func(ev event) bool {
			switch {
			case ev.Type == api.EventRotated:
				l.rotations.Add(1)
				return false
			case ev.Type != api.EventState:
				l.errs.Add("waiting:unexpected_" + ev.Type)
				return true
			case ev.State == server.StatePending:
				if !counted {
					counted = true
					l.waiting.Add(1)
					if lp {
						l.waitingLP.Add(1)
					}
				}
				return false
			case ev.State == server.StateExpired:
				l.renewals.Add(1)
				return true
			}
			l.errs.Add("waiting:unexpected_" + string(ev.State))
			return true
		})
		if counted {
			l.waiting.Add(-1)
			if lp {
				l.waitingLP.Add(-1)
			}
			failures = 0
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.errs.Add(kindOf("watch", err))
			failures++
			sleep(ctx, backoff(failures))
		}
	}
}

// backoff is the pause after the n-th failure in a row: 100 ms doubling up
// to 5 s.
func backoff(n int) time.Duration {
	return min(100*time.Millisecond<<min(n-1, 6), 5*time.Second)
}

// longPollSlot reports whether desktop i of a run long-polls, so that of
// the first n desktops round(n*share) do, evenly spread.
func longPollSlot(i int, share float64) bool {
	return int(float64(i+1)*share) > int(float64(i)*share)
}

// sleep waits d, or less if ctx ends; it returns ctx.Err() then.
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
