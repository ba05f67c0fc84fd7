// Package pgbus carries the service's events between the nodes of a
// cluster through PostgreSQL's LISTEN/NOTIFY, so that a scan that lands on
// one node reaches the desktop whose socket is open on another.
//
// Notices are sent in groups: every notice that callers hand to Notify
// while the previous group is on its way goes out in the next one, in one
// round trip and as few NOTIFY payloads as fit in PostgreSQL's 8000 bytes.
// An idle bus adds no delay; a busy one sends fewer, larger notifications,
// which is what keeps the listening side of every node cheap.
//
// A notice sent while a node is not listening is lost to it. A node whose
// LISTEN connection failed, or went quiet and did not answer a ping, LISTENs
// again on a new one and then calls a resync hook (service.Resync, which
// reads what changed meanwhile; the bus offers the reads by id it needs).
package pgbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/service"
)

// Channel is the NOTIFY channel.
const Channel = "qrlogin_events"

// maxPayload bounds one NOTIFY payload, below PostgreSQL's 8000 bytes.
const maxPayload = 7900

// maxGroup bounds how many notices one round trip carries.
const maxGroup = 512

// envelope is one NOTIFY payload, {"n":NODE,"ms":[NOTICE,...]}: the
// sending node, so that a node skips its own, and its notices in the order
// they were handed to Notify. The node comes first: a node recognizes its
// own payloads by their prefix, without decoding them. Bus.pack writes it.
type envelope struct {
	Node string           `json:"n"`
	Ns   []service.Notice `json:"ms"`
}

// ErrStopped is returned by Notify when the bus is not running.
var ErrStopped = errors.New("pgbus: the bus is not running")

// Bus is a service.Bus on PostgreSQL. Notify works while Run runs.
type Bus struct {
	pool    *pgxpool.Pool
	node    string
	log     *slog.Logger
	own     string // the prefix of this node's payloads
	reqs    chan request
	stopped chan struct{} // closed when Run returns

	// idle is how long the listening connection may go without a
	// notification before Run checks it with a round trip, and timeout
	// how long that check, acquiring a connection and LISTEN, or sending
	// a group of notices may take before the connection is given up:
	// listenIdle and roundTripTimeout (tests shorten them).
	idle, timeout time.Duration
}

// A connection that dies without a word (a peer gone, a network path
// dropped, no RST) would leave the bus deaf until TCP gave up, many
// minutes later. Run asks the listening connection for a round trip
// whenever it has been quiet for listenIdle, and gives it up when that, or
// any other round trip of the bus, takes longer than roundTripTimeout: a
// dead connection is noticed within listenIdle + roundTripTimeout.
const (
	listenIdle       = 5 * time.Second
	roundTripTimeout = 5 * time.Second
)

// request is one notice waiting to be sent, and where its sender hears
// how it went.
type request struct {
	n    service.Notice
	done chan error
}

// New returns a bus on pool for this node (a random id names it).
func New(pool *pgxpool.Pool, log *slog.Logger) *Bus {
	node := server.NewRef() // a ref needs no JSON escaping
	return &Bus{pool: pool, node: node, log: log, own: `{"n":"` + node + `",`,
		reqs: make(chan request, maxGroup), stopped: make(chan struct{}),
		idle: listenIdle, timeout: roundTripTimeout}
}

// Notify implements service.Bus: it returns once n is in PostgreSQL's
// notification queue (or failed to get there), so that the notices of one
// caller, and of callers that wait for each other's answers, reach the
// other nodes in the order they were sent. If ctx ends first, Notify
// returns ctx's error, and n may still be sent.
func (b *Bus) Notify(ctx context.Context, n service.Notice) error {
	r := request{n: n, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-b.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-b.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run sends this node's notices and hands every other node's to deliver
// until ctx ends; call it once. It holds one connection that LISTENs, and
// reconnects after a failure, or when the connection stops answering (see
// listenIdle). ready, if not nil, is closed once the first LISTEN is in
// place.
//
// A notice sent while the bus was not listening is lost. So after each
// LISTEN but the first, Run calls resync (if not nil), which should tell
// this node's watchers what changed meanwhile by reading the database (the
// LISTEN is in place by then: whatever the read misses comes as a notice).
// Run delivers the notices that arrive after the new LISTEN once resync
// returns.
func (b *Bus) Run(ctx context.Context, deliver func(context.Context, service.Notice), resync func(context.Context), ready chan<- struct{}) {
	sent := make(chan struct{})
	go func() { defer close(sent); b.send(ctx) }()
	defer func() { <-sent; close(b.stopped) }()
	first, listened := true, false
	onListen := func() {
		listened = true
		switch {
		case first:
			first = false
			if ready != nil {
				close(ready)
			}
		case resync != nil:
			resync(ctx)
		}
	}
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for ctx.Err() == nil {
		listened = false
		err := b.listen(ctx, deliver, onListen)
		if ctx.Err() != nil {
			return
		}
		if listened { // it worked for a while: try again soon
			backoff = firstBackoff
		}
		b.log.Error("pgbus: listening failed; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// send takes the notices queued at each moment as one group and sends it,
// until ctx ends.
func (b *Bus) send(ctx context.Context) {
	for {
		var group []request
		select {
		case r := <-b.reqs:
			group = append(group, r)
		case <-ctx.Done():
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-b.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		payloads, errs := b.pack(group)
		err := b.flush(ctx, payloads)
		for i, r := range group {
			if errs[i] != nil {
				r.done <- errs[i]
			} else {
				r.done <- err
			}
		}
	}
}

// flush sends payloads in order, in one round trip and one transaction:
// all of them are queued, or none.
func (b *Bus) flush(ctx context.Context, payloads []string) error {
	if len(payloads) == 0 {
		return nil
	}
	// A connection that died without a word must not hold the next
	// groups back for good.
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	// One statement is one transaction: its NOTIFYs are queued together,
	// in the array's order.
	_, err := b.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, Channel, payloads)
	if err != nil {
		return fmt.Errorf("pgbus: notify: %w", err)
	}
	return nil
}

// pack encodes the notices of group, in order, as envelopes of at most
// maxPayload bytes each. A notice that cannot be sent (too large for any
// payload) is left out, with its error at its index in errs; the others
// go.
func (b *Bus) pack(group []request) (payloads []string, errs []error) {
	errs = make([]error, len(group))
	var cur strings.Builder
	emit := func() {
		if cur.Len() > 0 {
			cur.WriteString("]}")
			payloads = append(payloads, cur.String())
			cur.Reset()
		}
	}
	for i, r := range group {
		m, err := json.Marshal(r.n)
		if err != nil {
			errs[i] = fmt.Errorf("pgbus: encoding a %q notice: %w", r.n.Kind, err)
			continue
		}
		if len(b.own)+len(`"ms":[]}`)+len(m) > maxPayload {
			errs[i] = fmt.Errorf("pgbus: a %q notice of %d bytes does not fit in a NOTIFY", r.n.Kind, len(m))
			continue
		}
		if cur.Len() > 0 && cur.Len()+1+len(m)+len("]}") > maxPayload {
			emit()
		}
		if cur.Len() == 0 {
			cur.WriteString(b.own) // {"n":"<node>",
			cur.WriteString(`"ms":[`)
		} else {
			cur.WriteByte(',')
		}
		cur.Write(m)
	}
	emit()
	return payloads, errs
}

// listen acquires a connection, LISTENs on it, calls onListen, and hands
// the notices of other nodes to deliver until the connection fails, stops
// answering, or ctx ends. It returns why.
func (b *Bus) listen(ctx context.Context, deliver func(context.Context, service.Notice), onListen func()) error {
	lctx, cancel := context.WithTimeout(ctx, b.timeout)
	conn, err := b.pool.Acquire(lctx)
	if err != nil {
		cancel()
		return err
	}
	defer conn.Release()
	_, err = conn.Exec(lctx, "LISTEN "+Channel)
	cancel()
	if err != nil {
		conn.Conn().Close(context.Background()) // a half-listening connection must not go back to the pool
		return err
	}
	onListen()
	for {
		wctx, cancel := context.WithTimeout(ctx, b.idle)
		n, err := conn.Conn().WaitForNotification(wctx)
		quiet := wctx.Err() == context.DeadlineExceeded
		cancel()
		if n != nil {
			b.handle(ctx, n.Payload, deliver)
		}
		if err != nil && ctx.Err() == nil && quiet {
			// Nothing came for a while: is anyone still there?
			pctx, cancel := context.WithTimeout(ctx, b.timeout)
			err = conn.Conn().Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("pgbus: the listening connection did not answer a ping: %w", err)
			}
		}
		if err == nil {
			continue
		}
		if ctx.Err() == nil {
			conn.Conn().Close(context.Background())
		} else {
			// Leave the pool a clean connection.
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn.Exec(cctx, "UNLISTEN *")
			cancel()
		}
		return err
	}
}

// handle hands the notices of payload to deliver, unless this node sent
// them.
func (b *Bus) handle(ctx context.Context, payload string, deliver func(context.Context, service.Notice)) {
	if strings.HasPrefix(payload, b.own) {
		return
	}
	var e envelope
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		b.log.Error("pgbus: malformed notification", "err", err)
		return
	}
	for _, sn := range e.Ns {
		deliver(ctx, sn)
	}
}
