// Package hub fans events out to subscribers by topic, in process. A
// subscriber that does not keep up is dropped, never allowed to block the
// publisher or the others.
//
// A subscription either fills a channel (Subscribe) or has a func called
// for each message (SubscribeFunc), which lets a subscriber that writes to
// a socket need no goroutine of its own while it waits.
//
// A topic exists while it has subscribers. Each has a version, which
// changes whenever the topic gets a message, so that a caller that read a
// state to publish can tell whether someone published to the topic while
// it was reading (Version, PublishIf).
package hub

import "sync"

// Hub delivers messages of type T to the subscribers of a topic. The zero
// value is not usable; call New.
type Hub[T any] struct {
	mu     sync.Mutex
	topics map[string]*topicState[T]
	seq    uint64 // the last version handed out, in any topic
	closed bool
}

// topicState is a topic's subscribers and version: a number from Hub.seq, new
// when the topic is created and on each message, so that no two states of
// any topic share one.
type topicState[T any] struct {
	subs    map[*Sub[T]]struct{}
	version uint64
}

// Sub is one subscription. Of one made by Subscribe, C yields the topic's
// messages in order; it is closed when the subscription ends: by Close, by
// Hub.Close, or because the subscriber fell more than its buffer behind
// (Dropped then reports true). One made by SubscribeFunc has no C.
type Sub[T any] struct {
	C       <-chan T
	c       chan T                 // Subscribe's
	deliver func(*Message[T]) bool // SubscribeFunc's
	end     func(dropped bool)     // SubscribeFunc's
	h       *Hub[T]
	topic   string
	dropped bool // guarded by h.mu
	done    bool // guarded by h.mu
}

// Message is a published message as SubscribeFunc's subscribers get it:
// one per publication, shared by the topic's subscribers, with what they
// derived from it (Derive).
type Message[T any] struct {
	Value   T
	derived []derived
}

// derived is a value that a subscriber derived from a Message, by key.
type derived struct{ key, value any }

// Derive returns f(m.Value), calling f only the first time it is asked for
// key during m's publication: the subscribers of a topic that turn a
// message into the same thing (its encoding, say) share one result. Keys
// compare as map keys do; the fs given with one key must compute the same
// thing, of the same type V.
func Derive[T, V any](m *Message[T], key any, f func(T) V) V {
	for _, d := range m.derived {
		if d.key == key {
			return d.value.(V)
		}
	}
	v := f(m.Value)
	m.derived = append(m.derived, derived{key, v})
	return v
}

// New returns an empty hub.
func New[T any]() *Hub[T] {
	return &Hub[T]{topics: make(map[string]*topicState[T])}
}

// Subscribe starts a subscription to topic with room for buf undelivered
// messages (at least 1). On a closed hub the subscription starts closed.
func (h *Hub[T]) Subscribe(topic string, buf int) *Sub[T] {
	if buf < 1 {
		buf = 1
	}
	c := make(chan T, buf)
	s := &Sub[T]{C: c, c: c, h: h, topic: topic}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(s)
	return s
}

// SubscribeFunc starts a subscription to topic that calls deliver with
// each message published to it, in order, from the publisher's goroutine
// and with the hub's lock held: deliver must not block, nor call the hub
// or its subscriptions. If deliver returns false the subscriber is dropped,
// as Subscribe's is when its buffer is full. end is called, under the lock
// too, when the hub ends the subscription: with true when it was dropped,
// with false by Hub.Close (on a closed hub, before SubscribeFunc returns);
// not when Close ends it.
func (h *Hub[T]) SubscribeFunc(topic string, deliver func(*Message[T]) bool, end func(dropped bool)) *Sub[T] {
	s := &Sub[T]{deliver: deliver, end: end, h: h, topic: topic}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(s)
	return s
}

// addLocked adds s to its topic, or ends it if the hub is closed. h.mu
// must be held.
func (h *Hub[T]) addLocked(s *Sub[T]) {
	if h.closed {
		h.endLocked(s, false)
		return
	}
	tp := h.topics[s.topic]
	if tp == nil {
		h.seq++
		tp = &topicState[T]{subs: make(map[*Sub[T]]struct{}), version: h.seq}
		h.topics[s.topic] = tp
	}
	tp.subs[s] = struct{}{}
}

// Publish hands msg to every subscriber of topic without blocking, and
// returns how many took it. A subscriber whose buffer is full, or whose
// deliver returns false, is dropped. A topic with subscribers gets a new
// version.
func (h *Hub[T]) Publish(topic string, msg T) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.publishLocked(topic, msg)
}

// PublishIf publishes msg to topic as Publish does, but only if the topic's
// version is still version (which Version returned): not if anything was
// published to it since, nor if it lost its subscribers. It reports whether
// it published, and to how many subscribers.
func (h *Hub[T]) PublishIf(topic string, version uint64, msg T) (n int, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tp := h.topics[topic]; tp == nil || tp.version != version {
		return 0, false
	}
	return h.publishLocked(topic, msg), true
}

// publishLocked is Publish with h.mu held.
func (h *Hub[T]) publishLocked(topic string, msg T) int {
	tp := h.topics[topic]
	if tp == nil {
		return 0
	}
	h.seq++
	tp.version = h.seq
	n := 0
	var m *Message[T] // made for the first of SubscribeFunc's subscribers
	for s := range tp.subs {
		if s.deliver != nil {
			if m == nil {
				m = &Message[T]{Value: msg}
			}
			if s.deliver(m) {
				n++
				continue
			}
		} else {
			select {
			case s.c <- msg:
				n++
				continue
			default:
			}
		}
		h.endLocked(s, true)
	}
	return n
}

// Count returns the number of subscribers of topic.
func (h *Hub[T]) Count(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tp := h.topics[topic]; tp != nil {
		return len(tp.subs)
	}
	return 0
}

// Topics returns the topics that have subscribers, in no particular order.
// Subscriptions may come and go as soon as it returns.
func (h *Hub[T]) Topics() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.topics))
	for t := range h.topics {
		out = append(out, t)
	}
	return out
}

// Version returns topic's version, or 0 if it has no subscribers. The
// version changes whenever a message is published to the topic, and a
// topic that loses its subscribers and gains new ones never gets back a
// version it had: a caller that takes the version, reads some state and
// then publishes it with PublishIf publishes only if nothing was published
// to the topic in between.
func (h *Hub[T]) Version(topic string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tp := h.topics[topic]; tp != nil {
		return tp.version
	}
	return 0
}

// Close ends every subscription; later ones start closed.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, tp := range h.topics {
		for s := range tp.subs {
			h.endLocked(s, false)
		}
	}
}

// endLocked ends s for the hub, dropped or not, and tells its subscriber.
// h.mu must be held.
func (h *Hub[T]) endLocked(s *Sub[T], dropped bool) {
	s.dropped = dropped
	h.removeLocked(s)
	if s.end != nil {
		s.end(dropped)
	}
}

// removeLocked ends s: closes its channel, if any, and takes it out of its
// topic, if it was in one. h.mu must be held.
func (h *Hub[T]) removeLocked(s *Sub[T]) {
	if s.done {
		return
	}
	s.done = true
	if s.c != nil {
		close(s.c)
	}
	tp := h.topics[s.topic]
	if tp == nil {
		return // ended as it started, on a closed hub
	}
	delete(tp.subs, s)
	if len(tp.subs) == 0 {
		delete(h.topics, s.topic)
	}
}

// Close ends the subscription; C, if any, is closed. Safe to call more
// than once. It must not be called from SubscribeFunc's deliver or end.
func (s *Sub[T]) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.removeLocked(s)
}

// Dropped reports whether the hub ended the subscription because the
// subscriber fell behind (its buffer was full, or its deliver returned
// false).
func (s *Sub[T]) Dropped() bool {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.dropped
}
