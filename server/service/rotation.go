package service

import (
	"context"
	"sync"
	"time"

	"qrlogin/server"
	"qrlogin/server/api"
)

// watchGrace is how long a ticket keeps rotating after its last watcher
// left: long enough to cover the gap between two long-polls, or a
// WebSocket's reconnect.
const watchGrace = 10 * time.Second

// rotator replaces the QR of watched pending tickets every RotateEvery, at
// fixed multiples of it from the ticket's creation, and expires them at
// RotateUntil. Tickets nobody watches are not rotated: they expire after one
// TicketTTL (by the sweep).
type rotator struct {
	s      *Service
	mu     sync.Mutex
	w      map[string]*watch // by ticket id
	closed bool
}

type watch struct {
	watchers int
	left     time.Time // when the last watcher left
	timer    *time.Timer
}

func (r *rotator) init(s *Service) {
	r.s = s
	r.w = make(map[string]*watch)
}

// Watch records a watcher of t and, if t is pending and not rotating yet,
// schedules its rotation. The caller must call the returned release once,
// when it stops watching.
func (s *Service) Watch(t server.Ticket) (release func()) {
	r := &s.rot
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w[t.ID]
	if w == nil && !r.closed && t.State == server.StatePending {
		w = &watch{}
		id := t.ID
		w.timer = time.AfterFunc(r.next(t, r.s.cfg.Now()), func() { r.fire(id) })
		r.w[id] = w
	}
	if w == nil {
		return func() {}
	}
	w.watchers++
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			w.watchers--
			w.left = r.s.cfg.Now()
		})
	}
}

// next returns how long from now until t's next rotation: the next multiple
// of RotateEvery since creation, or RotateUntil, whichever comes first.
func (r *rotator) next(t server.Ticket, now time.Time) time.Duration {
	every := r.s.cfg.RotateEvery
	k := now.Sub(t.CreatedAt)/every + 1
	at := t.CreatedAt.Add(k * every)
	if at.After(t.RotateUntil) {
		at = t.RotateUntil
	}
	return max(at.Sub(now), 0)
}

// fire rotates (or expires) ticket id and schedules the next rotation while
// it is pending and watched.
func (r *rotator) fire(id string) {
	r.mu.Lock()
	w := r.w[id]
	if w == nil || r.closed {
		r.mu.Unlock()
		return
	}
	if w.watchers == 0 && r.s.cfg.Now().Sub(w.left) > watchGrace {
		delete(r.w, id)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := r.s.rotate(ctx, id)

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || t.State != server.StatePending || r.closed {
		delete(r.w, id)
		return
	}
	w.timer.Reset(r.next(t, r.s.cfg.Now()))
}

// close stops every rotation timer.
func (r *rotator) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, w := range r.w {
		w.timer.Stop()
		delete(r.w, id)
	}
}

// rotate gives pending ticket id a new ref that lives TicketTTL (not past
// RotateUntil), retiring the old one, and tells the watcher. Past its
// deadline the ticket expires instead.
func (s *Service) rotate(ctx context.Context, id string) (server.Ticket, error) {
	ref := server.NewRef()
	t, err := s.update(ctx, id, func(t *server.Ticket, now time.Time) (*server.Session, error) {
		if t.State != server.StatePending {
			return nil, gone(*t, "rotate")
		}
		t.CurrentRef = ref
		t.ExpiresAt = now.Add(s.cfg.TicketTTL)
		if t.ExpiresAt.After(t.RotateUntil) {
			t.ExpiresAt = t.RotateUntil
		}
		return nil, nil
	})
	if err != nil {
		return t, err
	}
	exp := t.ExpiresAt
	s.Tickets.Publish(t.ID, TicketMsg{Event: api.TicketEvent{
		Type: api.EventRotated, Ref: ref, QRPayload: api.Payload(s.cfg.BaseURL, ref), ExpiresAt: &exp,
	}})
	return t, nil
}
