// Package pgbus carries the service's events between the nodes of a
// cluster through PostgreSQL's LISTEN/NOTIFY, so that a scan that lands on
// one node reaches the desktop whose socket is open on another.
//
// Notices are sent in groups: every notice that callers hand to Notify
// while the previous group is on its way goes out in the next one, in one
// round trip and as few NOTIFY payloads as fit in PostgreSQL's 8000 bytes.
// An idle bus adds no delay; a busy one sends fewer, larger notifications,
// which is what keeps the listening side of every node cheap.
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

	"qrlogin/server"
	"qrlogin/server/service"
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
}

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
		reqs: make(chan request, maxGroup), stopped: make(chan struct{})}
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
// reconnects after a failure (a notice sent while it was down is lost;
// watchers that reconnect or long-poll still see the state, which lives in
// the database). ready, if not nil, is closed once the first LISTEN is in
// place.
func (b *Bus) Run(ctx context.Context, deliver func(context.Context, service.Notice), ready chan<- struct{}) {
	sent := make(chan struct{})
	go func() { defer close(sent); b.send(ctx) }()
	defer func() { <-sent; close(b.stopped) }()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listen(ctx, deliver, &ready)
		if ctx.Err() != nil {
			return
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

func (b *Bus) listen(ctx context.Context, deliver func(context.Context, service.Notice), ready *chan<- struct{}) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Conn().Close(context.Background()) // a half-listening connection must not go back to the pool
		return err
	}
	if *ready != nil {
		close(*ready)
		*ready = nil
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				conn.Conn().Close(context.Background())
			} else {
				// Leave the pool a clean connection.
				cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				conn.Exec(cctx, "UNLISTEN *")
				cancel()
			}
			return err
		}
		if strings.HasPrefix(n.Payload, b.own) {
			continue
		}
		var e envelope
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			b.log.Error("pgbus: malformed notification", "err", err)
			continue
		}
		for _, sn := range e.Ns {
			deliver(ctx, sn)
		}
	}
}
