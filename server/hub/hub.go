// Package hub fans events out to subscribers by topic, in process. A
// subscriber that does not keep up is dropped, never allowed to block the
// publisher or the others.
package hub

import "sync"

// Hub delivers messages of type T to the subscribers of a topic. The zero
// value is not usable; call New.
type Hub[T any] struct {
	mu     sync.Mutex
	topics map[string]map[*Sub[T]]struct{}
	closed bool
}

// Sub is one subscription. C yields the topic's messages in order; it is
// closed when the subscription ends: by Close, by Hub.Close, or because the
// subscriber fell more than its buffer behind (Dropped then reports true).
type Sub[T any] struct {
	C       <-chan T
	c       chan T
	h       *Hub[T]
	topic   string
	dropped bool // guarded by h.mu
	done    bool // guarded by h.mu
}

// New returns an empty hub.
func New[T any]() *Hub[T] {
	return &Hub[T]{topics: make(map[string]map[*Sub[T]]struct{})}
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
	if h.closed {
		s.done = true
		close(c)
		return s
	}
	subs := h.topics[topic]
	if subs == nil {
		subs = make(map[*Sub[T]]struct{})
		h.topics[topic] = subs
	}
	subs[s] = struct{}{}
	return s
}

// Publish hands msg to every subscriber of topic without blocking, and
// returns how many took it. A subscriber whose buffer is full is dropped.
func (h *Hub[T]) Publish(topic string, msg T) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.topics[topic] {
		select {
		case s.c <- msg:
			n++
		default:
			s.dropped = true
			h.removeLocked(s)
		}
	}
	return n
}

// Count returns the number of subscribers of topic.
func (h *Hub[T]) Count(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics[topic])
}

// Close ends every subscription; later ones start closed.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, subs := range h.topics {
		for s := range subs {
			h.removeLocked(s)
		}
	}
}

// removeLocked ends s. h.mu must be held.
func (h *Hub[T]) removeLocked(s *Sub[T]) {
	if s.done {
		return
	}
	s.done = true
	close(s.c)
	subs := h.topics[s.topic]
	delete(subs, s)
	if len(subs) == 0 {
		delete(h.topics, s.topic)
	}
}

// Close ends the subscription; C is closed. Safe to call more than once.
func (s *Sub[T]) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.removeLocked(s)
}

// Dropped reports whether the hub ended the subscription because the
// subscriber fell behind.
func (s *Sub[T]) Dropped() bool {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.dropped
}
