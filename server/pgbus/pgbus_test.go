package pgbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"qrlogin/server/internal/pgtest"
	"qrlogin/server/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// node is one bus on the test database and what it was delivered.
type node struct {
	bus  *Bus
	stop func()

	mu  sync.Mutex
	got []service.Notice
}

func (n *node) received() []service.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]service.Notice(nil), n.got...)
}

func startNode(t *testing.T, dsn string) *node {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{bus: New(pool, slog.New(slog.DiscardHandler))}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		n.bus.Run(ctx, func(_ context.Context, sn service.Notice) {
			n.mu.Lock()
			n.got = append(n.got, sn)
			n.mu.Unlock()
		}, ready)
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no LISTEN within 10 s")
	}
	var once sync.Once
	n.stop = func() { once.Do(func() { cancel(); <-done; pool.Close() }) }
	t.Cleanup(n.stop)
	return n
}

// waitFor waits until n has received want notices.
func waitFor(t *testing.T, n *node, want int) []service.Notice {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := n.received()
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Notices reach the other node, each once and in the order of each
// sender's calls, however many senders share a group; a node does not
// hear itself.
func TestNoticesReachOtherNodesInOrder(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := startNode(t, dsn), startNode(t, dsn)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := service.Notice{Kind: service.NoticeState, ID: fmt.Sprintf("s%d", s), State: fmt.Sprint(i)}
				if err := a.bus.Notify(context.Background(), n); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := waitFor(t, b, senders*each)
	if len(got) != senders*each {
		t.Fatalf("b received %d notices, want %d", len(got), senders*each)
	}
	next := map[string]int{}
	for _, n := range got {
		if n.State != fmt.Sprint(next[n.ID]) {
			t.Fatalf("from %s: notice %s after %d: out of order", n.ID, n.State, next[n.ID])
		}
		next[n.ID]++
	}
	time.Sleep(100 * time.Millisecond)
	if own := a.received(); len(own) != 0 {
		t.Errorf("a heard %d of its own notices", len(own))
	}
}

// A group larger than one NOTIFY payload is split, and arrives whole and
// in order; a notice too large for any payload is refused alone, not
// truncated, and the others of its group still go.
func TestLargeGroupsAreSplit(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := startNode(t, dsn), startNode(t, dsn)
	big := strings.Repeat("x", 3000)
	var group []request
	for i := range 10 {
		group = append(group, request{n: service.Notice{Kind: service.NoticeRevoked, ID: fmt.Sprintf("%d-%s", i, big)}})
		if i == 4 {
			group = append(group, request{n: service.Notice{Kind: service.NoticeRevoked, ID: strings.Repeat("y", maxPayload)}})
		}
	}
	payloads, errs := a.bus.pack(group)
	for i, err := range errs {
		if (err != nil) != (i == 5) {
			t.Errorf("notice %d: error %v", i, err)
		}
	}
	if len(payloads) != 5 {
		t.Errorf("%d payloads for 10 notices of 3 kB, want 5", len(payloads))
	}
	for _, p := range payloads {
		if len(p) > maxPayload {
			t.Errorf("payload of %d bytes, over %d", len(p), maxPayload)
		}
	}
	if err := a.bus.flush(context.Background(), payloads); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, b, 10)
	if len(got) != 10 {
		t.Fatalf("b received %d notices, want 10", len(got))
	}
	for i, n := range got {
		if !strings.HasPrefix(n.ID, fmt.Sprintf("%d-", i)) {
			t.Fatalf("notice %d is %.8s…: out of order", i, n.ID)
		}
	}
	if err := a.bus.Notify(context.Background(), group[5].n); err == nil {
		t.Error("Notify sent a notice larger than a payload")
	}
}

// Notify on a bus that stopped fails at once.
func TestNotifyAfterStop(t *testing.T) {
	a := startNode(t, pgtest.Start(t))
	a.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.bus.Notify(ctx, service.Notice{Kind: service.NoticeRevoked, ID: "x"}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Notify after stop = %v, want ErrStopped", err)
	}
}
