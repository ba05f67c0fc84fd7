// Package pgbus carries the service's events between the nodes of a
// cluster through PostgreSQL's LISTEN/NOTIFY, so that a scan that lands on
// one node reaches the desktop whose socket is open on another.
package pgbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"qrlogin/server"
	"qrlogin/server/service"
)

// Channel is the NOTIFY channel.
const Channel = "qrlogin_events"

// envelope is a notice with the sending node, so that a node skips its own.
type envelope struct {
	Node string         `json:"n"`
	N    service.Notice `json:"m"`
}

// Bus is a service.Bus on PostgreSQL.
type Bus struct {
	pool *pgxpool.Pool
	node string
	log  *slog.Logger
}

// New returns a bus on pool for this node (a random id names it).
func New(pool *pgxpool.Pool, log *slog.Logger) *Bus {
	return &Bus{pool: pool, node: server.NewRef(), log: log}
}

// Notify implements service.Bus with pg_notify. Payloads are a few hundred
// bytes, far below NOTIFY's 8000.
func (b *Bus) Notify(ctx context.Context, n service.Notice) error {
	p, err := json.Marshal(envelope{Node: b.node, N: n})
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, string(p)); err != nil {
		return fmt.Errorf("pgbus: notify: %w", err)
	}
	return nil
}

// Listen hands every other node's notice to deliver until ctx ends. It holds
// one connection that LISTENs, and reconnects after a failure (a notice sent
// while it was down is lost; watchers that reconnect or long-poll still see
// the state, which lives in the database). ready, if not nil, is closed once
// the first LISTEN is in place.
func (b *Bus) Listen(ctx context.Context, deliver func(context.Context, service.Notice), ready chan<- struct{}) {
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
		var e envelope
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			b.log.Error("pgbus: malformed notice", "err", err)
			continue
		}
		if e.Node == b.node {
			continue
		}
		deliver(ctx, e.N)
	}
}
