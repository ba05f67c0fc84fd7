package service

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// watchGrace is how long a ticket keeps rotating after its last watcher
// left: long enough to cover the gap between two long-polls, or a
// WebSocket's reconnect.
const watchGrace = 10 * time.Second

// maxRotationBatch is the most rotations that one store transaction makes.
const maxRotationBatch = 500

// rotationGather is how long a due rotation waits for others to share its
// transaction: desktops that arrive spread out have slots spread out, and
// without it most transactions would hold one or two rotations (at 5,000
// waiting desktops it cut idle CPU from 5.5 to 3.7 % of a core). A QR
// replaced 25 ms after its slot is no less fresh to the eye; the old ref
// stays valid until its expiry.
const rotationGather = 25 * time.Millisecond

// rotator replaces the QR of watched pending tickets at the slots
// created + k*RotateEvery, and expires them at RotateUntil. Tickets nobody
// watches are not rotated: they expire after one TicketTTL (by the sweep).
//
// One goroutine, the flusher (started by the first watch), waits for the
// earliest slot and then rotates every watched ticket due by then, up to
// maxRotationBatch, in one store transaction: an idle server rotates a
// ticket as soon as it is due, and the rotations that fall due while a
// batch is being written go together in the next.
//
// Where several nodes watch one ticket (long-polls that land on different
// nodes), each schedules it, and the first to reach a slot rotates it: the
// store skips a rotation when the ticket changed at or after the slot began.
type rotator struct {
	s       *Service
	mu      sync.Mutex
	w       map[string]*watch // by ticket id
	due     watchHeap         // the watches waiting for their slot, earliest first
	wake    chan struct{}     // the earliest slot moved earlier (1 buffered)
	ctx     context.Context   // cancelled by close
	cancel  context.CancelFunc
	running bool          // the flusher was started
	done    chan struct{} // closed when the flusher returns
	closed  bool
}

// watch is one watched ticket. While its rotation is being written it is
// in rotator.w but not in rotator.due.
type watch struct {
	id             string
	watchers       int
	left           time.Time // when the last watcher left
	created, until time.Time // the ticket's CreatedAt and RotateUntil
	slot           time.Time // the slot it waits for
}

func (r *rotator) init(s *Service) {
	r.s = s
	r.w = make(map[string]*watch)
	r.wake = make(chan struct{}, 1)
	r.done = make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
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
		w = &watch{id: t.ID, created: t.CreatedAt, until: t.RotateUntil}
		w.slot = r.nextSlot(w, r.s.cfg.Now())
		r.w[t.ID] = w
		r.schedule(w)
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

// schedule queues w for its slot, starting the flusher if it is not
// running and waking it if w is now the first due. r.mu must be held.
func (r *rotator) schedule(w *watch) {
	heap.Push(&r.due, w)
	if !r.running {
		r.running = true
		go r.run()
	}
	if r.due[0] == w {
		select {
		case r.wake <- struct{}{}:
		default:
		}
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

// run is the flusher: until close, it rotates the due watches, batch by
// batch, and sleeps until the next slot or a new earliest one.
func (r *rotator) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch, wait, ok := r.take()
		if !ok {
			return
		}
		if len(batch) > 0 {
			r.rotate(batch)
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-r.ctx.Done():
			timer.Stop()
			return
		case <-r.wake:
		case <-tick:
		}
		timer.Stop()
	}
}

// take removes from the queue the watches whose slot has come, up to
// maxRotationBatch, once the earliest of them is rotationGather late, and
// forgets those nobody watched for watchGrace. With none ready it returns
// how long to wait, or -1 if none is queued. It reports false once the
// rotator is closed.
func (r *rotator) take() (batch []*watch, wait time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, 0, false
	}
	now := r.s.cfg.Now()
	if len(r.due) > 0 && r.due[0].slot.After(now.Add(-rotationGather)) {
		return nil, r.due[0].slot.Add(rotationGather).Sub(now), true
	}
	for len(r.due) > 0 && len(batch) < maxRotationBatch && !r.due[0].slot.After(now) {
		w := heap.Pop(&r.due).(*watch)
		if w.watchers == 0 && now.Sub(w.left) > watchGrace {
			delete(r.w, w.id)
			continue
		}
		batch = append(batch, w)
	}
	switch {
	case len(batch) > 0:
		return batch, 0, true
	case len(r.due) == 0:
		return nil, -1, true
	}
	return nil, max(r.due[0].slot.Add(rotationGather).Sub(now), 0), true
}

// rotate gives each ticket of batch a new ref for its slot in one store
// transaction, unless the ticket changed since the slot began (another node
// rotated it); the ref lives TicketTTL but not past RotateUntil, and the old
// one is retired. It tells the watchers of those rotated, expires those past
// their deadline, and queues the next slot of those still pending. A batch
// that fails is logged and tried again at the next slot, and not within a
// second (or RotateEvery, if shorter).
func (r *rotator) rotate(batch []*watch) {
	s := r.s
	now := s.cfg.Now().UTC()
	rs := make([]server.Rotation, len(batch))
	for i, w := range batch {
		exp := now.Add(s.cfg.TicketTTL)
		if exp.After(w.until) {
			exp = w.until
		}
		rs[i] = server.Rotation{ID: w.id, Slot: w.slot, Ref: server.NewRef(), ExpiresAt: exp}
	}
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	res, err := s.store.RotateTickets(ctx, rs, now)
	if err != nil && r.ctx.Err() == nil {
		s.log.Error("rotate tickets", "tickets", len(rs), "err", err)
	}
	// With other nodes to tell, each of these waits for the bus: they run
	// side by side, so that the bus gets the batch's notices together
	// rather than one after another's round trip.
	var wg sync.WaitGroup
	for i, x := range res {
		var tell func()
		switch x.Outcome {
		case server.RotationDone:
			exp := x.Ticket.ExpiresAt
			ev := api.TicketEvent{Type: api.EventRotated, Ref: rs[i].Ref, QRPayload: api.Payload(s.cfg.BaseURL, rs[i].Ref), ExpiresAt: &exp}
			tell = func() { s.publishTicket(x.Ticket, ev, time.Time{}) }
		case server.RotationPastDeadline:
			tell = func() { s.expire(ctx, rs[i].ID) }
		default:
			continue
		}
		if s.bus != nil {
			wg.Go(tell)
		} else {
			tell()
		}
	}
	wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	next := s.cfg.Now()
	for i, w := range batch {
		pending := err != nil || res[i].Outcome == server.RotationDone || res[i].Outcome == server.RotationDoneAlready
		if !pending || r.closed {
			delete(r.w, w.id)
			continue
		}
		w.slot = r.nextSlot(w, next)
		if err != nil {
			// Not sooner than a moment from now: the next slot of a ticket
			// past its RotateUntil is behind us, and a store that is down
			// would be asked again and again.
			w.slot = later(w.slot, next.Add(min(s.cfg.RotateEvery, time.Second)))
		}
		heap.Push(&r.due, w)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// close stops the flusher, waiting for a batch in flight, and forgets every
// watch.
func (r *rotator) close() {
	r.mu.Lock()
	r.closed = true
	running := r.running
	r.mu.Unlock()
	r.cancel()
	if running {
		<-r.done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.w)
	r.due = nil
}

// watchHeap orders watches by slot, for container/heap.
type watchHeap []*watch

func (h watchHeap) Len() int           { return len(h) }
func (h watchHeap) Less(i, j int) bool { return h[i].slot.Before(h[j].slot) }
func (h watchHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *watchHeap) Push(x any)        { *h = append(*h, x.(*watch)) }
func (h *watchHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}
