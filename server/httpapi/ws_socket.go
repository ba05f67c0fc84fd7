package httpapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsWriteTimeout bounds the write of one message.
const wsWriteTimeout = 10 * time.Second

// wsSocket is an open WebSocket that events are pushed to. While it waits
// it costs one goroutine, its reader (read), and a timer for pings (which
// each write puts off where TCP drops dead peers: Config.PingEvery): events
// are queued by the publisher (push, under the hub's lock, never blocking)
// and written by a goroutine started for them (write), which ends when the
// queue is empty. At most max events wait; one more drops the socket.
//
// The handler makes it (newSocket) before it subscribes, so that what is
// published meanwhile is queued, writes the first message itself, and
// hands the socket over with run; the socket's clean-ups (atEnd) run once,
// when it ends, in whichever goroutine ends it.
type wsSocket struct {
	h        *Handler
	c        *websocket.Conn // set by run
	max      int
	cleanups []func()
	running  bool // run was called; the handler's goroutine only
	// dropsDead: TCP fails the connection if the peer dies (timedWriter),
	// so a write puts the next ping off. Set before run.
	dropsDead bool

	mu      sync.Mutex
	queue   []*wsMsg
	writing bool                 // a writer runs, or run was not called yet: push only queues
	end     websocket.StatusCode // if not 0, close with it once the queue is written
	why     string               // end's reason
	closed  bool                 // closing or closed: nothing more is queued or written
	ping    *time.Timer
}

// wsMsg is a message to write: encoded once, and shared by the sockets of
// a topic it is published to.
type wsMsg struct {
	b     []byte
	last  bool   // the socket closes with 1000 once it is written
	wrote func() // if not nil, called after each write of the message
}

// newSocket returns a socket that queues up to max events until it runs,
// and counts it for Drain until it ends.
func (h *Handler) newSocket(max int) *wsSocket {
	h.sockets.Add(1)
	return &wsSocket{h: h, max: max, writing: true}
}

// atEnd adds f to what runs when the socket ends; the last added runs
// first. Only the handler's goroutine calls it, before run.
func (s *wsSocket) atEnd(f func()) { s.cleanups = append(s.cleanups, f) }

// push queues m, and starts a writer if none runs. It reports false if
// the queue is full: the hub then drops the subscription, and ended closes
// the socket once the queue is written.
func (s *wsSocket) push(m *wsMsg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	if len(s.queue) >= s.max {
		return false
	}
	s.queue = append(s.queue, m)
	s.startWriterLocked()
	return true
}

// ended is the hub's end of the subscription: the socket closes once its
// queue is written, with 1013 if it fell behind, else (the hub closed, at
// shutdown) with 1001.
func (s *wsSocket) ended(dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.end, s.why = websocket.StatusGoingAway, "server shutting down"
	if dropped {
		s.end, s.why = websocket.StatusTryAgainLater, "fell behind; reconnect"
	}
	s.startWriterLocked()
}

// startWriterLocked starts a writer unless one runs (or the socket does not
// run yet). s.mu must be held.
func (s *wsSocket) startWriterLocked() {
	if !s.writing {
		s.writing = true
		go s.write()
	}
}

// run hands the socket, open on c, over to its own goroutines: the reader,
// the pings, and a writer for what was queued. The handler's goroutine
// returns then, and net/http lets go of the connection: its state, its
// 4 KiB buffers and the goroutine's stack, grown while handling the
// request, which a reader running in it would keep as long as the socket.
func (s *wsSocket) run(c *websocket.Conn) {
	s.c = c
	s.running = true
	s.mu.Lock()
	s.writing = false
	if len(s.queue) > 0 || s.end != 0 {
		s.startWriterLocked()
	}
	s.ping = time.AfterFunc(s.h.cfg.PingEvery, s.pingPeer)
	s.mu.Unlock()
	go s.read()
}

// leave ends the socket unless run handed it over; the handler defers it.
func (s *wsSocket) leave() {
	if !s.running {
		s.finish()
	}
}

// read reads the client's messages (an extra auth message, say) and drops
// them, which also answers the client's pings, takes the pongs of ours and
// notices a close; then it ends the socket. (coder/websocket's CloseRead
// would close the socket on any data message instead.)
func (s *wsSocket) read() {
	defer s.finish()
	for {
		if _, _, err := s.c.Read(context.Background()); err != nil {
			s.c.CloseNow()
			return
		}
	}
}

// write writes the queue out, one message at a time and each within
// wsWriteTimeout, until it is empty; then it closes the socket if it is to
// end. A message that is the last closes it with 1000 once written.
func (s *wsSocket) write() {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		if len(s.queue) == 0 {
			if s.end == 0 {
				s.writing = false
				s.mu.Unlock()
				return
			}
			s.closed = true
			code, why := s.end, s.why
			s.mu.Unlock()
			s.c.Close(code, why)
			return
		}
		m := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if len(s.queue) == 0 {
			s.queue = nil // an idle socket keeps no array
		}
		if m.last {
			s.closed = true
		}
		s.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
		err := s.c.Write(ctx, websocket.MessageText, m.b)
		cancel()
		if err != nil {
			s.close()
			s.c.CloseNow()
			return
		}
		if m.wrote != nil {
			m.wrote()
		}
		if m.last {
			s.c.Close(websocket.StatusNormalClosure, "")
			return
		}
		s.putOffPing()
	}
}

// putOffPing, after a write, sets the next ping PingEvery from now if TCP
// drops the socket's dead peer (dropsDead): what was just written is
// acknowledged within PingEvery/2, or the connection fails.
func (s *wsSocket) putOffPing() {
	if s.dropsDead {
		s.rearmPing()
	}
}

// rearmPing sets the next ping PingEvery from now, unless the socket is
// closed.
func (s *wsSocket) rearmPing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.ping.Reset(s.h.cfg.PingEvery)
	}
}

// pingPeer pings the client, in the timer's goroutine, and closes the
// socket with 1001 if no pong comes within PingEvery/2; else it sets the
// timer for the next ping.
func (s *wsSocket) pingPeer() {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.PingEvery/2)
	err := s.c.Ping(ctx)
	cancel()
	if err != nil {
		s.close()
		s.c.Close(websocket.StatusGoingAway, "no pong")
		return
	}
	s.rearmPing()
}

// close marks the socket closed: nothing more is queued or written, and no
// more pings are sent.
func (s *wsSocket) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.queue = nil
	if s.ping != nil {
		s.ping.Stop()
	}
}

// finish ends the socket: it runs the clean-ups and tells Drain.
func (s *wsSocket) finish() {
	s.close()
	for _, f := range slices.Backward(s.cleanups) {
		f()
	}
	s.h.sockets.Done()
}
