package hub

import (
	"slices"
	"testing"
)

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
	for i := range 10 {
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

// Topics lists exactly the topics that have subscribers: one that lost its
// last subscriber, by Close or by a drop, is gone.
func TestTopicsListsSubscribedTopics(t *testing.T) {
	h := New[int]()
	if got := h.Topics(); len(got) != 0 {
		t.Fatalf("Topics of an empty hub = %v", got)
	}
	a1, a2 := h.Subscribe("a", 1), h.Subscribe("a", 1)
	h.Subscribe("b", 1)
	slow := h.Subscribe("c", 1)
	h.Publish("c", 1)
	h.Publish("c", 2) // drops slow, c's only subscriber
	if !slow.Dropped() {
		t.Fatal("slow was not dropped")
	}
	got := h.Topics()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Topics = %v, want [a b]", got)
	}
	a1.Close()
	if got := h.Topics(); len(got) != 2 {
		t.Fatalf("Topics = %v after one of a's two subscribers left, want a and b", got)
	}
	a2.Close()
	if got := h.Topics(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("Topics = %v after a's subscribers left, want [b]", got)
	}
	h.Close()
	if got := h.Topics(); len(got) != 0 {
		t.Fatalf("Topics after Close = %v", got)
	}
}

// PublishIf publishes only while nothing was published to the topic since
// Version was taken; a topic whose subscribers all left, even if it has new
// ones, has a new version; a topic without subscribers has version 0.
func TestPublishIfOnlyOnAnUnchangedVersion(t *testing.T) {
	h := New[int]()
	if v := h.Version("t"); v != 0 {
		t.Fatalf("Version of a topic without subscribers = %d, want 0", v)
	}
	if _, ok := h.PublishIf("t", 0, 1); ok {
		t.Fatal("PublishIf published to a topic without subscribers")
	}
	s := h.Subscribe("t", 8)
	other := h.Subscribe("u", 8)
	v := h.Version("t")
	if v == 0 {
		t.Fatal("a subscribed topic has version 0")
	}
	h.Publish("u", 9) // another topic's message changes nothing here
	if n, ok := h.PublishIf("t", v, 1); !ok || n != 1 {
		t.Fatalf("PublishIf on an unchanged version = %d, %v; want 1, true", n, ok)
	}
	if _, ok := h.PublishIf("t", v, 2); ok {
		t.Fatal("PublishIf published on the version its own message replaced")
	}
	v = h.Version("t")
	h.Publish("t", 3)
	if _, ok := h.PublishIf("t", v, 4); ok {
		t.Fatal("PublishIf published after another message")
	}
	if got := []int{<-s.C, <-s.C}; !slices.Equal(got, []int{1, 3}) || len(s.C) != 0 {
		t.Fatalf("subscriber got %v (and %d more), want [1 3]", got, len(s.C))
	}
	v = h.Version("t")
	s.Close()
	if h.Version("t") != 0 {
		t.Fatal("a topic without subscribers left has a version")
	}
	again := h.Subscribe("t", 8)
	if h.Version("t") == v {
		t.Fatal("a topic subscribed to again got back its old version")
	}
	if _, ok := h.PublishIf("t", v, 5); ok || len(again.C) != 0 {
		t.Fatal("PublishIf published on the version of the topic's earlier life")
	}
	if len(other.C) != 1 {
		t.Fatalf("u got %d messages, want 1", len(other.C))
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
