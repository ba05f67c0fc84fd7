package pgbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/internal/tcpfault"
	"github.com/qrlogin/qrlogin/server/postgres"
	"github.com/qrlogin/qrlogin/server/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// node is one bus on the test database and what it was delivered.
type node struct {
	bus  *Bus
	stop func()

	mu      sync.Mutex
	got     []service.Notice
	resyncs int
}

func (n *node) received() []service.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]service.Notice(nil), n.got...)
}

// resynced returns how many times Run called the resync hook.
func (n *node) resynced() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resyncs
}

func startNode(t *testing.T, dsn string) *node { return startNodeWith(t, dsn, nil) }

// startNodeWith starts a bus on dsn, after configure (if not nil) has set
// it up, and waits for its first LISTEN.
func startNodeWith(t *testing.T, dsn string, configure func(*Bus)) *node {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{bus: New(pool, slog.New(slog.DiscardHandler))}
	if configure != nil {
		configure(n.bus)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		n.bus.Run(ctx, func(_ context.Context, sn service.Notice) {
			n.mu.Lock()
			n.got = append(n.got, sn)
			n.mu.Unlock()
		}, func(context.Context) {
			n.mu.Lock()
			n.resyncs++
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
		wg.Go(func() {
			for i := range each {
				n := service.Notice{Kind: service.NoticeState, ID: fmt.Sprintf("s%d", s), State: server.State(fmt.Sprint(i))}
				if err := a.bus.Notify(context.Background(), n); err != nil {
					errs <- err
				}
			}
		})
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
		if string(n.State) != fmt.Sprint(next[n.ID]) {
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

// throughProxy returns dsn's database reached through a tcpfault proxy.
func throughProxy(t *testing.T, dsn string) (string, *tcpfault.Proxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := tcpfault.Start(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// waitResynced waits until n's resync hook ran want times.
func waitResynced(t *testing.T, n *node, want int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); n.resynced() < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("resync ran %d times within 15 s, want %d", n.resynced(), want)
		}
	}
}

// sendAndHear sends a notice about id from a and waits until b hears it:
// it shows that b listens.
func sendAndHear(t *testing.T, a, b *node, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.bus.Notify(ctx, service.Notice{Kind: service.NoticeRevoked, ID: id}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, n := range b.received() {
			if n.ID == id {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("notice %s not heard within 10 s", id)
		}
	}
}

// A bus whose connections are cut LISTENs again once the database is back,
// calls the resync hook then (and not after its first LISTEN), and hears
// the other nodes again.
func TestResyncAfterReconnect(t *testing.T) {
	dsn := pgtest.Start(t)
	viaProxy, proxy := throughProxy(t, dsn)
	a, b := startNodeWith(t, viaProxy, nil), startNode(t, dsn)
	sendAndHear(t, b, a, "before")
	if n := a.resynced(); n != 0 {
		t.Fatalf("resync ran %d times after the first LISTEN, want 0", n)
	}
	proxy.Cut()
	time.Sleep(time.Second) // a few reconnects fail
	proxy.Restore()
	waitResynced(t, a, 1)
	sendAndHear(t, b, a, "after")
	if n := a.resynced(); n != 1 {
		t.Fatalf("resync ran %d times after one reconnect, want 1", n)
	}
}

// A listening connection that goes silent, without a reset (a peer or a
// path that vanished), is given up once it does not answer a ping: the bus
// LISTENs on a new one, resyncs, and hears the other nodes again.
func TestSilentConnectionIsReplaced(t *testing.T) {
	dsn := pgtest.Start(t)
	viaProxy, proxy := throughProxy(t, dsn)
	a := startNodeWith(t, viaProxy, func(b *Bus) { b.idle, b.timeout = 200*time.Millisecond, time.Second })
	b := startNode(t, dsn)
	sendAndHear(t, b, a, "before")
	proxy.Freeze()
	waitResynced(t, a, 1)
	sendAndHear(t, b, a, "after")
	// End the frozen connection, which pgx, having given it up, drains for
	// up to 15 s (and the pool's Close waits for that).
	proxy.Close()
}

// TicketRefs and LiveSessions find tickets and sessions by id, and leave
// out those that do not exist (and, for sessions, those revoked or
// expired).
func TestLookup(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	db, err := postgres.Open(ctx, dsn) // migrates
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := startNode(t, dsn)
	now := time.Now().UTC()
	u := server.User{ID: server.NewRef(), Username: "alice", DisplayName: "Alice", PasswordHash: "x", CreatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	newTicket := func() server.Ticket {
		tk := server.Ticket{ID: server.NewRef(), Version: 1, State: server.StatePending, PollSecretHash: server.HashToken(server.NewSecret()),
			Ref: server.NewRef(), CreatedAt: now, ExpiresAt: now.Add(time.Minute), RotateUntil: now.Add(time.Hour), MatchCode: "00", UpdatedAt: now}
		if err := db.CreateTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	// newSession stores a session that expires at exp, through a ticket's
	// redeem.
	newSession := func(exp time.Time) server.Session {
		tk := newTicket()
		sess := server.Session{ID: server.NewRef(), UserID: u.ID, DeviceID: "phone", TokenHash: server.HashToken(server.NewSecret()),
			CreatedAt: now, LastSeenAt: now, ExpiresAt: exp}
		if _, err := db.UpdateTicket(ctx, tk.ID, func(t *server.Ticket) (*server.Session, error) {
			t.State, t.UserID, t.DeviceID, t.SessionID = server.StateRedeemed, u.ID, "phone", sess.ID
			return &sess, nil
		}); err != nil {
			t.Fatal(err)
		}
		return sess
	}

	t1, t2 := newTicket(), newTicket()
	refs, err := a.bus.TicketRefs(ctx, []string{t1.ID, t2.ID, "nosuchticket"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{t1.ID: t1.Ref, t2.ID: t2.Ref}; !maps.Equal(refs, want) {
		t.Errorf("TicketRefs = %v, want %v", refs, want)
	}

	live, revoked, expired := newSession(now.Add(time.Hour)), newSession(now.Add(time.Hour)), newSession(now.Add(-time.Second))
	if _, err := db.RevokeSession(ctx, u.ID, revoked.ID, now); err != nil {
		t.Fatal(err)
	}
	got, err := a.bus.LiveSessions(ctx, []string{live.ID, revoked.ID, expired.ID, "nosuchsession"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{live.ID: true}; !maps.Equal(got, want) {
		t.Errorf("LiveSessions = %v, want %v", got, want)
	}
}
