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

// A func subscription gets every message of its topic, in order, from the
// publisher's goroutine: it is counted as a subscriber like a channel one.
func TestSubscribeFuncDeliversInOrder(t *testing.T) {
	h := New[int]()
	var got []int
	s := h.SubscribeFunc("t", func(m *Message[int]) bool {
		got = append(got, m.Value)
		return true
	}, func(bool) { t.Error("end called while subscribed") })
	ch := h.Subscribe("t", 1001)
	for i := range 1000 {
		if n := h.Publish("t", i); n != 2 {
			t.Fatalf("Publish reached %d subscribers, want 2", n)
		}
	}
	h.Publish("other", -1)
	if len(got) != 1000 {
		t.Fatalf("got %d messages, want 1000", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d is %d: out of order", i, v)
		}
	}
	if len(ch.C) != 1000 || h.Count("t") != 2 {
		t.Fatalf("channel subscriber has %d messages and Count = %d; want 1000 and 2", len(ch.C), h.Count("t"))
	}
	s.Close()
	s.Close()
	h.Publish("t", 1000)
	if len(got) != 1000 || h.Count("t") != 1 {
		t.Fatalf("after Close: %d messages, Count %d; want 1000 and 1", len(got), h.Count("t"))
	}
}

// A func subscriber whose deliver returns false is dropped as a full
// channel is: end says so, once, Dropped reports it, it gets nothing more,
// and the others still get theirs.
func TestSubscribeFuncDropped(t *testing.T) {
	h := New[int]()
	var took, ends int
	var endDropped bool
	slow := h.SubscribeFunc("t", func(m *Message[int]) bool {
		if took == 3 {
			return false
		}
		took++
		return true
	}, func(dropped bool) { ends++; endDropped = dropped })
	var fast []int
	h.SubscribeFunc("t", func(m *Message[int]) bool { fast = append(fast, m.Value); return true }, nil)
	for i := range 10 {
		h.Publish("t", i)
	}
	if took != 3 || ends != 1 || !endDropped || !slow.Dropped() {
		t.Fatalf("slow took %d, end called %d times (dropped=%v), Dropped=%v; want 3, 1, true, true", took, ends, endDropped, slow.Dropped())
	}
	if len(fast) != 10 || h.Count("t") != 1 {
		t.Fatalf("fast got %d messages, Count = %d; want 10 and 1", len(fast), h.Count("t"))
	}
	slow.Close() // after a drop: nothing more happens
	if ends != 1 {
		t.Fatalf("end called %d times", ends)
	}
}

// Hub.Close ends func subscriptions with end(false), and one made on a
// closed hub ends before SubscribeFunc returns; the subscriber's own Close
// does not call end.
func TestSubscribeFuncEnd(t *testing.T) {
	h := New[string]()
	var ended []string
	end := func(name string) func(bool) {
		return func(dropped bool) {
			if dropped {
				t.Errorf("%s: end(true) without a drop", name)
			}
			ended = append(ended, name)
		}
	}
	deliver := func(*Message[string]) bool { return true }
	own := h.SubscribeFunc("a", deliver, end("own"))
	live := h.SubscribeFunc("b", deliver, end("live"))
	own.Close()
	h.Close()
	h.Close()
	if !slices.Equal(ended, []string{"live"}) || live.Dropped() {
		t.Fatalf("ended %v (live dropped %v), want [live] not dropped", ended, live.Dropped())
	}
	late := h.SubscribeFunc("c", func(*Message[string]) bool { t.Error("delivered on a closed hub"); return true }, end("late"))
	if !slices.Equal(ended, []string{"live", "late"}) || late.Dropped() || h.Count("c") != 0 {
		t.Fatalf("ended %v (late dropped %v, Count %d), want [live late], not dropped, 0", ended, late.Dropped(), h.Count("c"))
	}
	h.Publish("c", "x")
	late.Close()
}

// Derive computes a value once per publication and key, however many func
// subscribers ask for it.
func TestDeriveOncePerPublication(t *testing.T) {
	h := New[int]()
	type double struct{}
	type str struct{}
	calls := map[string]int{}
	var got []string
	for range 3 {
		h.SubscribeFunc("t", func(m *Message[int]) bool {
			d := Derive(m, double{}, func(v int) int { calls["double"]++; return 2 * v })
			s := Derive(m, str{}, func(v int) string { calls["str"]++; return string(rune('a' + v)) })
			got = append(got, s+":"+string(rune('0'+d)))
			return true
		}, nil)
	}
	h.Subscribe("t", 4) // a channel subscriber derives nothing
	h.Publish("t", 1)
	h.Publish("t", 2)
	if calls["double"] != 2 || calls["str"] != 2 {
		t.Fatalf("calls = %v, want one of each per publication", calls)
	}
	want := []string{"b:2", "b:2", "b:2", "c:4", "c:4", "c:4"}
	if !slices.Equal(got, want) {
		t.Fatalf("subscribers got %v, want %v", got, want)
	}
}

// Versions are those of the topic whatever its subscribers are: a topic
// with only a func subscriber has one, and PublishIf reaches it.
func TestPublishIfReachesFuncSubscribers(t *testing.T) {
	h := New[int]()
	var got []int
	s := h.SubscribeFunc("t", func(m *Message[int]) bool { got = append(got, m.Value); return true }, nil)
	v := h.Version("t")
	if v == 0 {
		t.Fatal("a topic with a func subscriber has version 0")
	}
	if n, ok := h.PublishIf("t", v, 1); !ok || n != 1 {
		t.Fatalf("PublishIf = %d, %v; want 1, true", n, ok)
	}
	if _, ok := h.PublishIf("t", v, 2); ok {
		t.Fatal("PublishIf published on a replaced version")
	}
	s.Close()
	if h.Version("t") != 0 || !slices.Equal(got, []int{1}) {
		t.Fatalf("Version %d after the last subscriber left, got %v; want 0 and [1]", h.Version("t"), got)
	}
}

// BenchmarkFanOutFunc10k publishes one message to 10,000 func subscribers
// of a topic that share one derived value.
func BenchmarkFanOutFunc10k(b *testing.B) {
	h := New[int]()
	type key struct{}
	for range 10000 {
		h.SubscribeFunc("topic", func(m *Message[int]) bool {
			return Derive(m, key{}, func(v int) int { return v + 1 }) > 0
		}, nil)
	}
	for i := 0; b.Loop(); i++ {
		if n := h.Publish("topic", i); n != 10000 {
			b.Fatalf("reached %d of 10000", n)
		}
	}
}
