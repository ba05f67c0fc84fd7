package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"qrlogin/server"
	"qrlogin/server/api"
)

// watchGrace is how long a ticket keeps rotating after its last watcher
// left: long enough to cover the gap between two long-polls, or a
// WebSocket's reconnect.
const watchGrace = 10 * time.Second

// rotator replaces the QR of watched pending tickets at the slots
// created + k*RotateEvery, and expires them at RotateUntil. Tickets nobody
// watches are not rotated: they expire after one TicketTTL (by the sweep).
// Where several nodes watch one ticket (long-polls that land on different
// nodes), each runs a timer, and the first to reach a slot rotates it: a
// rotation is skipped when the ticket changed at or after the slot began.
type rotator struct {
	s      *Service
	mu     sync.Mutex
	w      map[string]*watch // by ticket id
	closed bool
}

type watch struct {
	watchers       int
	left           time.Time // when the last watcher left
	created, until time.Time // the ticket's CreatedAt and RotateUntil
	slot           time.Time // the slot the timer is set for
	timer          *time.Timer
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
		w = &watch{created: t.CreatedAt, until: t.RotateUntil}
		id := t.ID
		w.slot = r.nextSlot(w, r.s.cfg.Now())
		w.timer = time.AfterFunc(max(w.slot.Sub(r.s.cfg.Now()), 0), func() { r.fire(id) })
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

// nextSlot returns the first slot after now: the next multiple of
// RotateEvery since creation, or RotateUntil, whichever comes first.
func (r *rotator) nextSlot(w *watch, now time.Time) time.Time {
	every := r.s.cfg.RotateEvery
	at := w.created.Add((now.Sub(w.created)/every + 1) * every)
	if at.After(w.until) {
		at = w.until
	}
	return at
}

// fire rotates (or expires) ticket id at its slot and schedules the next
// while the ticket is pending and watched.
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
	slot := w.slot
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pending, err := r.s.rotate(ctx, id, slot)

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || !pending || r.closed {
		delete(r.w, id)
		return
	}
	now := r.s.cfg.Now()
	w.slot = r.nextSlot(w, now)
	w.timer.Reset(max(w.slot.Sub(now), 0))
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

// errRotated is returned by a rotation's updater that finds the slot's
// rotation done already (by another node).
var errRotated = errors.New("rotated already")

// rotate gives pending ticket id a new ref for the slot that began at slot,
// unless the ticket changed since (another node rotated it); the ref lives
// TicketTTL but not past RotateUntil, and the old one is retired. Past its
// deadline the ticket expires instead. It reports whether the ticket is
// still pending.
func (s *Service) rotate(ctx context.Context, id string, slot time.Time) (pending bool, err error) {
	ref := server.NewRef()
	t, err := s.update(ctx, id, func(t *server.Ticket, now time.Time) (*server.Session, error) {
		if t.State != server.StatePending {
			return nil, gone(*t, "rotate")
		}
		if !t.UpdatedAt.Before(slot) {
			return nil, errRotated
		}
		t.CurrentRef = ref
		t.ExpiresAt = now.Add(s.cfg.TicketTTL)
		if t.ExpiresAt.After(t.RotateUntil) {
			t.ExpiresAt = t.RotateUntil
		}
		return nil, nil
	})
	if errors.Is(err, errRotated) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	exp := t.ExpiresAt
	s.publishTicket(t, api.TicketEvent{
		Type: api.EventRotated, Ref: ref, QRPayload: api.Payload(s.cfg.BaseURL, ref), ExpiresAt: &exp,
	}, time.Time{})
	return true, nil
}
