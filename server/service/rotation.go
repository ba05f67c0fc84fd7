package service

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// watchGrace is how long a ticket's rotations are still pushed after its
// last watcher left: long enough to cover the gap between two long-polls,
// or a WebSocket's reconnect.
const watchGrace = 10 * time.Second

// rotator pushes the new QR of each watched pending ticket at the start of
// each of its rotations, CreatedAt + k*RotateEvery before RotateUntil. A
// rotation writes nothing: its ref is sealed (refs.go), and which one is
// current follows from the time alone, so rotating is an event for this
// node's watchers. Every node that holds a watcher of a ticket pushes its
// rotations itself (they are the same refs).
//
// A pending ticket lives TicketTTL, as the protocol says, unless watched:
// while it is, the rotator extends its deadline by TicketTTL (up to
// RotateUntil) once the deadline is within 1.25 RotateEvery (the quarter
// is a margin for a slow write), so every TicketTTL - 1.25 RotateEvery
// (35 s by default), in one store transaction for all the tickets due.
// A watched ticket is also marked as watched for every node by such a
// write (its Version moves past 1): from then on only its current ref
// scans (Service.scans); before, its first one does, for its whole
// TicketTTL. The mark matters only once the first ref is no longer
// current, so it is written a quarter RotateEvery before the second
// rotation begins (at once if that is past), not at the first watch: a
// login done within that time, as most are, writes nothing for its
// watch. A rotation due when its ticket's mark is due too is pushed once
// the mark is written. A ticket nobody watches any more expires at most
// TicketTTL after its last extension, by the sweep.
//
// One goroutine, the pusher (started by the first watch), waits for the
// earliest rotation or extension due, rounded up to a multiple of
// pushQuantum, and makes every one due by then. A ticket is forgotten once
// it leaves pending (ended) or nobody has watched it for watchGrace.
type rotator struct {
	s       *Service
	mu      sync.Mutex
	w       map[string]*watch // by ticket id
	due     watchHeap         // the watches waiting for their rotation, earliest first
	wake    chan struct{}     // the earliest rotation moved earlier (1 buffered)
	stop    chan struct{}     // closed by close
	running bool              // the pusher was started
	done    chan struct{}     // closed when the pusher returns
	closed  bool
	// extending: an extension's write is in flight (extend, on a goroutine
	// of its own, so that a slow store does not hold the pushes up); the
	// extensions due meanwhile wait in queued, and go next.
	extending bool
	queued    []*watch
	extends   sync.WaitGroup // the extend running, for close
}

// pushQuantum is how late the pusher may be, so that the rotations (and
// extensions) due within the same pushQuantum of the clock are made in one
// wake-up, not one each: it wakes only at multiples of it. Never earlier: a
// ref pushed before its slot would not scan yet.
const pushQuantum = 50 * time.Millisecond

// watch is one watched ticket, in rotator.w and rotator.due until it is
// forgotten.
type watch struct {
	t        server.Ticket // as the first watcher read it
	watchers int
	left     time.Time // when the last watcher left
	n        int       // the rotation it waits for
	slot     time.Time // when rotation n begins
	deadline time.Time // the ticket's ExpiresAt, as stored
	mark     bool      // not yet marked as watched: extend it before its first ref is replaced
	retry    time.Time // the earliest to try a failed extension again
	ext      time.Time // when its extension is due; zero for none
	at       time.Time // when it is next due: min(slot, ext), its key in due
	index    int       // in rotator.due
}

func (r *rotator) init(s *Service) {
	r.s = s
	r.w = make(map[string]*watch)
	r.wake = make(chan struct{}, 1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
}

// Watch records a watcher of t and, if t is pending and rotates, schedules
// its next rotation's push. The caller must call the returned release
// once, when it stops watching.
func (s *Service) Watch(t server.Ticket) (release func()) {
	r := &s.rot
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w[t.ID]
	if w == nil && !r.closed && t.State == server.StatePending && s.rotates(t) {
		w = &watch{t: t, n: s.rotation(t, s.cfg.Now()) + 1, deadline: t.ExpiresAt, mark: t.Version == 1}
		if !r.setSlot(w) {
			return func() {}
		}
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

// setSlot sets when w's rotation n begins, and when w is next due; it
// reports false if w has nothing left to do: no rotation begins before the
// ticket's RotateUntil, its deadline is RotateUntil already, and it is
// marked as watched.
func (r *rotator) setSlot(w *watch) bool {
	w.slot = w.t.CreatedAt.Add(time.Duration(w.n) * w.t.RotateEvery)
	rotating := w.n < maxRotations && w.slot.Before(w.t.RotateUntil)
	w.at, w.ext = w.slot, time.Time{}
	if !w.mark && !w.deadline.Before(w.t.RotateUntil) {
		return rotating
	}
	ext := w.deadline.Add(-w.t.RotateEvery - w.t.RotateEvery/4)
	if mark := w.t.CreatedAt.Add(w.t.RotateEvery - w.t.RotateEvery/4); w.mark && mark.Before(ext) {
		ext = mark // the quarter is a margin for a slow write, as above
	}
	if w.ext = later(ext, w.retry); !rotating || w.ext.Before(w.at) {
		w.at = w.ext
	}
	return true
}

// markFirst reports whether w's mark is due at now: its rotation waits
// for it, so that the first ref is refused once another is shown (the
// pusher was late, or the watch began after the first rotation). A mark
// that failed is not due until its retry: the rotation goes on meanwhile.
func (w *watch) markFirst(now time.Time) bool {
	return w.mark && !w.ext.IsZero() && !w.ext.After(now)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ended forgets ticket id, which has left pending: no more of its
// rotations are pushed.
func (r *rotator) ended(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.w[id]; w != nil {
		delete(r.w, id)
		if w.index >= 0 && w.index < len(r.due) && r.due[w.index] == w {
			heap.Remove(&r.due, w.index)
		}
	}
}

// schedule queues w for its slot, starting the pusher if it is not
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

// run is the pusher: until close, it pushes the rotations due and sleeps
// until the next or a new earliest one.
func (r *rotator) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, extend, ok := r.push()
		if !ok {
			return
		}
		if len(extend) > 0 {
			r.extends.Add(1)
			go r.extend(extend)
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-tick:
		}
		timer.Stop()
	}
}

// push tells the watchers of every ticket whose rotation has begun its new
// QR, queues each one's next rotation, and forgets those past their last
// or nobody watched for watchGrace. It returns the watches whose lease is
// due to be extended (taken out of the queue until extend), how long to
// wait for the next (until its time rounded up to a multiple of
// pushQuantum; -1 if none is queued), and false once the rotator is
// closed.
func (r *rotator) push() (wait time.Duration, extend []*watch, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, nil, false
	}
	now := r.s.cfg.Now()
	for len(r.due) > 0 && !r.due[0].at.After(now) {
		w := r.due[0]
		if w.watchers == 0 && now.Sub(w.left) > watchGrace {
			heap.Pop(&r.due)
			delete(r.w, w.t.ID)
			continue
		}
		if !w.slot.After(now) && !w.markFirst(now) {
			// The rotation current now: a pusher held up skips those it missed.
			w.n = max(w.n, r.s.rotation(w.t, now))
			r.s.Tickets.Publish(w.t.ID, TicketMsg{Event: r.s.currentQR(w.t, now)})
			w.n++
		}
		if !r.setSlot(w) {
			heap.Pop(&r.due)
			delete(r.w, w.t.ID)
			continue
		}
		if w.at.After(now) {
			heap.Fix(&r.due, 0)
			continue
		}
		heap.Pop(&r.due) // its extension is due
		if r.extending { // after the one in flight
			r.queued = append(r.queued, w)
			continue
		}
		extend = append(extend, w)
		if len(extend) == maxExtendBatch {
			break
		}
	}
	if len(extend) > 0 {
		r.extending = true
	}
	if len(r.due) == 0 {
		return -1, extend, true
	}
	return quantumAfter(r.due[0].at).Sub(now), extend, true
}

// quantumAfter returns the first multiple of pushQuantum (since the zero
// time) that is not before t.
func quantumAfter(t time.Time) time.Time {
	q := t.Truncate(pushQuantum)
	if q.Before(t) {
		q = q.Add(pushQuantum)
	}
	return q
}

// maxExtendBatch is the most tickets one extension transaction holds.
const maxExtendBatch = 500

// extend moves the deadline of the tickets of ws, in one store
// transaction, to TicketTTL from now (not past their RotateUntil), and
// queues them again. A failed write is logged and tried again a second
// later (the deadline has RotateEvery and a quarter to spare). A ticket
// to mark as watched is marked even where its deadline cannot move
// (server.Store's ExtendTickets).
func (r *rotator) extend(ws []*watch) {
	defer r.extends.Done()
	s := r.s
	now := s.cfg.Now().UTC()
	until := now.Add(s.cfg.TicketTTL)
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.t.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := s.store.ExtendTickets(ctx, ids, until, now)
	cancel()
	if err != nil {
		s.log.Error("extend watched tickets", "tickets", len(ids), "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range ws {
		if r.closed || r.w[w.t.ID] != w { // ended meanwhile
			continue
		}
		if err != nil {
			w.retry = now.Add(time.Second)
		} else {
			// Those not extended (no longer pending, or expired) are
			// ended by their own events or by the sweep.
			moved := until
			if moved.After(w.t.RotateUntil) {
				moved = w.t.RotateUntil
			}
			w.deadline, w.mark = later(w.deadline, moved), false
		}
		if r.setSlot(w) {
			heap.Push(&r.due, w)
		} else {
			delete(r.w, w.t.ID)
		}
	}
	if n := min(len(r.queued), maxExtendBatch); n > 0 && !r.closed {
		next := slices.Clone(r.queued[:n])
		r.queued = slices.Delete(r.queued, 0, n)
		r.extends.Add(1)
		go r.extend(next)
	} else {
		r.extending, r.queued = false, nil
	}
	select { // the pusher waits for what was queued before these
	case r.wake <- struct{}{}:
	default:
	}
}

// close stops the pusher and forgets every watch.
func (r *rotator) close() {
	r.mu.Lock()
	r.closed = true
	running := r.running
	r.mu.Unlock()
	close(r.stop)
	if running {
		<-r.done
	}
	r.extends.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.w)
	r.due = nil
}

// watchHeap orders watches by when they are due, for container/heap; each watch knows
// its index, so that ended can remove it.
type watchHeap []*watch

func (h watchHeap) Len() int           { return len(h) }
func (h watchHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h watchHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *watchHeap) Push(x any) {
	w := x.(*watch)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *watchHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
