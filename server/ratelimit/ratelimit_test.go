package ratelimit

import (
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(60, 3) // one a second
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
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
	for i := 0; i < 5; i++ {
		if blocked, _ := l.Blocked("ip"); blocked {
			t.Fatal("Blocked consumed the bucket")
		}
	}
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("first event refused")
	}
}
