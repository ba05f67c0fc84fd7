package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

const (
	testRef    = "ref0000000000000000000000"
	testSecret = "secret"
)

// fakeTicket serves one ticket's events and wait endpoints from scripts.
type fakeTicket struct {
	// socket is what /events does: "ws" (send wsEvents, then close if
	// drop, else wait for the client), "plain" (refuse with a non-protocol
	// 400), "protocol" (refuse with a protocol 404).
	socket   string
	wsEvents []api.TicketEvent
	drop     bool

	mu      sync.Mutex
	answers []string // long-poll answers, in order; then it holds
	queries []string // the query of each long-poll
	sockets int      // WebSocket handshakes seen
}

func (f *fakeTicket) start(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/tickets/"+testRef+"/events", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.sockets++
		f.mu.Unlock()
		switch f.socket {
		case "plain":
			http.Error(w, "websockets are blocked here", http.StatusBadRequest)
			return
		case "protocol":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such ticket"}}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testSecret {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such ticket"}}`)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, ev := range f.wsEvents {
			if wsjson.Write(r.Context(), c, ev) != nil {
				return
			}
		}
		if f.drop {
			return
		}
		c.Read(r.Context()) // until the client closes
	})
	mux.HandleFunc("/api/v1/tickets/"+testRef+"/wait", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testSecret {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such ticket"}}`)
			return
		}
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		if len(f.answers) == 0 {
			f.mu.Unlock()
			<-r.Context().Done()
			return
		}
		ans := f.answers[0]
		f.answers = f.answers[1:]
		f.mu.Unlock()
		switch ans {
		case "502": // a balancer whose node went away
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		case "late-cut": // the node dies while it answers a long-poll it held
			time.Sleep(400 * time.Millisecond)
			conn, bw, err := http.NewResponseController(w).Hijack()
			if err == nil {
				// Half an answer: net/http does not retry it by itself.
				bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
				bw.Flush()
				conn.Close()
			}
			return
		case "reset": // the connection breaks mid-request
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if ans == "429" {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"rate_limited","message":"slow down"}}`)
			return
		}
		io.WriteString(w, ans)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// watch runs Watch against f and returns the events it delivered.
func (f *fakeTicket) watch(t *testing.T, opts ...Option) ([]api.TicketEvent, error) {
	t.Helper()
	srv := f.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []api.TicketEvent
	err := New(srv.URL, opts...).Watch(ctx, testRef, testSecret, func(ev api.TicketEvent) { got = append(got, ev) })
	return got, err
}

var (
	expires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	masked  = &api.MaskedUser{DisplayName: "A***e", AvatarURL: "/a.png"}
	scanned = api.TicketEvent{Type: "state", State: "scanned", MatchRequired: new(false), User: masked}
	rotated = api.TicketEvent{Type: "rotated", Ref: "ref1111111111111111111111",
		QRPayload: "http://x/q/ref1111111111111111111111", ExpiresAt: &expires}
	// The long-poll answers of the same story.
	pendingAns  = `{"type":"state","state":"pending","ref":"` + testRef + `","qr_payload":"http://x/q/` + testRef + `","expires_at":"2030-01-02T03:04:05Z"}`
	rotatedAns  = `{"type":"state","state":"pending","ref":"ref1111111111111111111111","qr_payload":"http://x/q/ref1111111111111111111111","expires_at":"2030-01-02T03:04:05Z"}`
	scannedAns  = `{"type":"state","state":"scanned","match_required":false,"user":{"display_name":"A***e","avatar_url":"/a.png"}}`
	confirmAns  = `{"type":"state","state":"confirmed"}`
	storyEvents = []api.TicketEvent{
		{Type: "state", State: "pending"}, rotated, scanned, {Type: "state", State: "confirmed"},
	}
)

func TestWatchWebSocket(t *testing.T) {
	f := &fakeTicket{socket: "ws", wsEvents: storyEvents}
	got, err := f.watch(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, storyEvents) {
		t.Errorf("events = %+v\nwant %+v", got, storyEvents)
	}
	if len(f.queries) != 0 {
		t.Errorf("Watch long-polled %d times beside a working socket", len(f.queries))
	}
}

// The long-poll gives the same stream as the socket, rotation included.
func TestWatchLongPollSameStream(t *testing.T) {
	f := &fakeTicket{socket: "ws", answers: []string{pendingAns, rotatedAns, scannedAns, confirmAns}}
	got, err := f.watch(t, WithLongPoll())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, storyEvents) {
		t.Errorf("events = %+v\nwant %+v", got, storyEvents)
	}
	if f.sockets != 0 {
		t.Errorf("WithLongPoll opened %d sockets", f.sockets)
	}
	wantQ := []string{"", "after=pending&qr=" + testRef, "after=pending&qr=ref1111111111111111111111", "after=scanned&qr=ref1111111111111111111111"}
	if !reflect.DeepEqual(f.queries, wantQ) {
		t.Errorf("queries = %q\nwant %q", f.queries, wantQ)
	}
}

func TestWatchFallsBackWhenSocketBlocked(t *testing.T) {
	f := &fakeTicket{socket: "plain", answers: []string{pendingAns, scannedAns, `{"type":"state","state":"denied"}`}}
	got, err := f.watch(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.TicketEvent{{Type: "state", State: "pending"}, scanned, {Type: "state", State: "denied"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v\nwant %+v", got, want)
	}
	if f.sockets != 1 {
		t.Errorf("sockets tried = %d, want 1", f.sockets)
	}
}

func TestWatchProtocolRefusalDoesNotFallBack(t *testing.T) {
	f := &fakeTicket{socket: "protocol", answers: []string{pendingAns}}
	got, err := f.watch(t)
	if !errors.Is(err, server.ErrNotFound) || len(got) != 0 || len(f.queries) != 0 {
		t.Fatalf("Watch = %v after %d events and %d long-polls, want not_found at once", err, len(got), len(f.queries))
	}
}

func TestWatchWrongSecretLongPoll(t *testing.T) {
	srv := (&fakeTicket{}).start(t)
	err := New(srv.URL, WithLongPoll()).Watch(context.Background(), testRef, "wrong", func(api.TicketEvent) {
		t.Error("an event reached a watcher with a wrong secret")
	})
	if !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("Watch = %v, want not_found", err)
	}
}

// A socket that drops mid-way is continued by long-poll from where it was.
func TestWatchSocketDropContinuesByLongPoll(t *testing.T) {
	f := &fakeTicket{socket: "ws", drop: true, wsEvents: []api.TicketEvent{{Type: "state", State: "pending"}, rotated},
		answers: []string{rotatedAns, scannedAns, `{"type":"state","state":"expired"}`}}
	got, err := f.watch(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.TicketEvent{{Type: "state", State: "pending"}, rotated, scanned, {Type: "state", State: "expired"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v\nwant %+v", got, want)
	}
	if len(f.queries) == 0 || f.queries[0] != "after=pending&qr=ref1111111111111111111111" {
		t.Errorf("first long-poll after the drop = %q, want it to start from the last state and QR", f.queries)
	}
}

func TestWatchLongPollRetriesRateLimit(t *testing.T) {
	f := &fakeTicket{answers: []string{"429", confirmAns}}
	got, err := f.watch(t, WithLongPoll())
	if err != nil || len(got) != 1 || got[0].State != server.StateConfirmed {
		t.Fatalf("Watch = %+v, %v; want confirmed after a retry", got, err)
	}
}

// A node that dies behind a balancer shows as a broken connection or a 502;
// the long-poll carries on through the next node.
func TestWatchLongPollRidesOutAGateway(t *testing.T) {
	f := &fakeTicket{answers: []string{pendingAns, "502", "reset", "502", confirmAns}}
	got, err := f.watch(t, WithLongPoll())
	want := []api.TicketEvent{{Type: "state", State: "pending"}, {Type: "state", State: "confirmed"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Watch = %+v, %v; want pending then confirmed", got, err)
	}
	if len(f.queries) != 5 {
		t.Errorf("long-polls = %d, want 5", len(f.queries))
	}
}

// An outage longer than the watcher's budget ends Watch with the error.
func TestWatchLongPollGivesUpAfterOutage(t *testing.T) {
	f := &fakeTicket{answers: []string{"502", "502", "502", "502", "502", "502", confirmAns}}
	srv := f.start(t)
	w := &watcher{c: New(srv.URL), ref: testRef, secret: testSecret, qr: testRef, state: server.StatePending, outage: 300 * time.Millisecond,
		fn: func(ev api.TicketEvent) { t.Errorf("event %+v during an outage", ev) }}
	err := w.longPoll(context.Background())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, server.ErrInternal) {
		t.Fatalf("longPoll = %v, want ErrUnavailable wrapping internal", err)
	}
}

// The outage budget runs from the failure, not from the request: a node
// that dies late in a long hold still leaves the whole budget for retries.
func TestWatchOutageCountsFromTheFailure(t *testing.T) {
	f := &fakeTicket{answers: []string{pendingAns, "late-cut", confirmAns}}
	srv := f.start(t)
	var got []api.TicketEvent
	err := New(srv.URL, WithLongPoll(), WithOutageLimit(300*time.Millisecond)).Watch(context.Background(), testRef, testSecret,
		func(ev api.TicketEvent) { got = append(got, ev) })
	if err != nil || len(got) != 2 || got[1].State != server.StateConfirmed {
		t.Fatalf("Watch = %+v, %v; want pending then confirmed after one retry", got, err)
	}
}

// A server never heard from is not waited for.
func TestWatchNeverReachedIsNotRetried(t *testing.T) {
	f := &fakeTicket{answers: []string{"502", confirmAns}}
	got, err := f.watch(t, WithLongPoll())
	if !errors.Is(err, ErrUnavailable) || len(got) != 0 || len(f.queries) != 1 {
		t.Fatalf("Watch = %+v, %v after %d long-polls; want ErrUnavailable after one", got, err, len(f.queries))
	}
}

// A protocol refusal is final even when its status is a gateway's.
func TestProtocolBodyOn503IsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":"internal","message":"database unreachable"}}`)
	}))
	defer srv.Close()
	err := New(srv.URL, WithLongPoll()).Watch(context.Background(), testRef, testSecret, func(api.TicketEvent) {})
	if errors.Is(err, ErrUnavailable) || !errors.Is(err, server.ErrInternal) {
		t.Fatalf("Watch = %v, want the server's internal error at once", err)
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithLongPoll()}} {
		f := &fakeTicket{socket: "ws", wsEvents: storyEvents[:1], answers: []string{pendingAns}}
		srv := f.start(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- New(srv.URL, opts...).Watch(ctx, testRef, testSecret, func(api.TicketEvent) { cancel() })
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Watch = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Watch did not end with its context")
		}
	}
}

// Watch ends at confirmed, which the desktop redeems next, and at every
// state that no move leaves.
func TestWatchEnds(t *testing.T) {
	for state, want := range map[server.State]bool{server.StatePending: false, server.StateScanned: false, server.StateConfirmed: true,
		server.StateDenied: true, server.StateExpired: true, server.StateCancelled: true, server.StateRedeemed: true,
		"": false, "unknown": false} {
		if watchEnds(state) != want {
			t.Errorf("watchEnds(%q) = %v", state, !want)
		}
	}
}

func TestWatchSession(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc(api.PathSessionEvents, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"unauthorized","message":"the session has ended"}}`)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte("not json"))
		wsjson.Write(r.Context(), c, map[string]string{"type": "future_event"})
		wsjson.Write(r.Context(), c, api.SessionEvent{Type: api.EventRevoked})
		c.Read(r.Context())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL)
	var got []string
	if err := c.WatchSession(context.Background(), "good", func(ev api.SessionEvent) { got = append(got, ev.Type) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"future_event", "revoked"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	err := c.WatchSession(context.Background(), "bad", func(api.SessionEvent) {})
	var se *server.Error
	if !errors.As(err, &se) || se.Code != server.CodeUnauthorized || se.Message != "the session has ended" {
		t.Errorf("WatchSession with an ended session = %v, want unauthorized from the body", err)
	}
}

func TestMobileEventsClosed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc(api.PathMobileEvents, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(api.HeaderDeviceID) != "dev" {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ev, _ := json.Marshal(api.MobileEvent{Type: api.EventSessionCreated, Session: &api.Session{ID: "s1"}})
		c.Write(r.Context(), websocket.MessageText, ev)
		c.Close(websocket.StatusGoingAway, "bye")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var got []api.MobileEvent
	err := New(srv.URL).Mobile("tok", "dev").Events(context.Background(), func(ev api.MobileEvent) { got = append(got, ev) })
	if !errors.Is(err, ErrClosed) || len(got) != 1 || got[0].Session.ID != "s1" {
		t.Fatalf("Events = %+v, %v; want one event then ErrClosed", got, err)
	}
	err = New(srv.URL).Mobile("tok", "other").Events(context.Background(), func(api.MobileEvent) {})
	if !errors.Is(err, server.ErrUnauthorized) {
		t.Fatalf("Events with another device id = %v, want unauthorized", err)
	}
}
