package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(60, 3) // one a second
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("ip"); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("ip")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth event: ok=%v wait=%v, want refused with wait in (0, 1s]", ok, wait)
	}
	if blocked, _ := l.Blocked("ip"); !blocked {
		t.Fatal("Blocked = false on an empty bucket")
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("no refill after a second")
	}
}

func TestBlockedTakesNothing(t *testing.T) {
	l := New(60, 1)
	for range 5 {
		if blocked, _ := l.Blocked("ip"); blocked {
			t.Fatal("Blocked consumed the bucket")
		}
	}
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("first event refused")
	}
}

func TestReserveCannotBeOverdrawnAndRefunds(t *testing.T) {
	l := New(1, 5) // refills too slowly to matter here
	var got []*Reservation
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if r, _ := l.Reserve(ctx, "ip"); r != nil {
				mu.Lock()
				got = append(got, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != 5 {
		t.Fatalf("%d of 50 concurrent reservations granted, want the burst of 5", len(got))
	}
	// Every event is held: another caller waits, here until its context
	// ends, and is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r, wait := l.Reserve(ctx, "ip"); r != nil || wait <= 0 {
		t.Fatalf("reservation on an empty bucket: %v, wait %v", r, wait)
	}
	got[0].Refund()
	r, _ := l.Reserve(context.Background(), "ip")
	if r == nil {
		t.Fatal("a refunded event was not given back")
	}
	for _, k := range append(got[1:], r) {
		k.Keep()
	}
	if ok, _ := l.Allow("ip"); ok {
		t.Fatal("Allow took an event from a bucket whose five were kept")
	}
}

// A caller finding every event held waits for one to be settled, rather
// than being refused while the bucket still has room.
func TestReserveWaitsForHeldEvents(t *testing.T) {
	l := New(1, 1)
	held, _ := l.Reserve(context.Background(), "ip")
	got := make(chan *Reservation)
	go func() {
		r, _ := l.Reserve(context.Background(), "ip")
		got <- r
	}()
	held.Refund()
	if r := <-got; r == nil {
		t.Fatal("a waiting Reserve was refused after the held event was refunded")
	}
}
