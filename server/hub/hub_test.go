package hub

import "testing"

func TestPublishReachesOnlyTheTopic(t *testing.T) {
	h := New[int]()
	a, b := h.Subscribe("a", 4), h.Subscribe("b", 4)
	if n := h.Publish("a", 7); n != 1 {
		t.Fatalf("Publish reached %d subscribers, want 1", n)
	}
	if got := <-a.C; got != 7 {
		t.Fatalf("a got %d, want 7", got)
	}
	select {
	case m := <-b.C:
		t.Fatalf("b got %d from another topic", m)
	default:
	}
}

// A subscriber that stops reading must not stall the publisher or the
// others: it is dropped once its buffer is full.
func TestSlowReaderIsDropped(t *testing.T) {
	h := New[int]()
	slow, fast := h.Subscribe("t", 2), h.Subscribe("t", 100)
	for i := 0; i < 10; i++ {
		h.Publish("t", i)
	}
	if !slow.Dropped() {
		t.Fatal("slow reader was not dropped")
	}
	n := 0
	for range slow.C { // closed after its two buffered messages
		n++
	}
	if n != 2 {
		t.Fatalf("slow reader got %d messages before the drop, want 2", n)
	}
	if fast.Dropped() || len(fast.C) != 10 {
		t.Fatalf("fast reader dropped=%v with %d messages, want 10", fast.Dropped(), len(fast.C))
	}
	if h.Count("t") != 1 {
		t.Fatalf("Count = %d after drop, want 1", h.Count("t"))
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	h := New[string]()
	s := h.Subscribe("x", 1)
	s.Close()
	s.Close() // idempotent
	if _, ok := <-s.C; ok {
		t.Fatal("channel open after Close")
	}
	live := h.Subscribe("y", 1)
	h.Close()
	if _, ok := <-live.C; ok {
		t.Fatal("channel open after Hub.Close")
	}
	if late := h.Subscribe("z", 1); late.Dropped() {
		t.Fatal("a late subscription is closed, not dropped")
	} else if _, ok := <-late.C; ok {
		t.Fatal("subscription after Hub.Close is open")
	}
}

// BenchmarkFanOut10k publishes one message to 10,000 subscribers of a topic.
func BenchmarkFanOut10k(b *testing.B) {
	h := New[int]()
	subs := make([]*Sub[int], 10000)
	for i := range subs {
		subs[i] = h.Subscribe("topic", 1)
	}
	for i := 0; b.Loop(); i++ {
		if n := h.Publish("topic", i); n != len(subs) {
			b.Fatalf("reached %d of %d", n, len(subs))
		}
		b.StopTimer()
		for _, s := range subs {
			<-s.C
		}
		b.StartTimer()
	}
}
