package service

import (
	"context"
	"errors"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// Lookup finds by id what Resync checks: the tickets and sessions that this
// node's watchers follow, which its hubs know by id while server.Store finds
// them only by ref or token. The bus implements it (pgbus.Bus).
type Lookup interface {
	// TicketRefs returns the first ref of each ticket of ids that
	// exists, by id.
	TicketRefs(ctx context.Context, ids []string) (map[string]string, error)
	// LiveSessions returns which sessions of ids exist and are live at now
	// (server.Session.Live), by id.
	LiveSessions(ctx context.Context, ids []string, now time.Time) (map[string]bool, error)
}

// Resync limits: how many ids one Lookup call takes, how long one read
// may take, and how many times a ticket published to while it was being
// read is read again.
const (
	resyncBatch   = 1000
	resyncTimeout = 10 * time.Second
	resyncRounds  = 3
)

// Resync tells this node's watchers what they may have missed while the
// node did not hear the other nodes (the bus lost its LISTEN, and with it
// every notice sent meanwhile). Call it once the node listens again, so
// that whatever changes after its reads comes as a notice.
//
// Every watched ticket (a WebSocket or a long-poll on this node) is read
// again and its watchers are sent its state as it is now: the state event
// that Deliver or publishState would have sent (scanned with the masked
// user), or, for a pending ticket, its current QR as a rotated event. Every
// watched session that is no longer live (revoked, expired, or gone) is
// sent revoked.
//
// Resync does not know what each watcher was already told, so it re-sends
// states they may have: that is harmless. server/client's Watch, the
// desktop app (app/desktop) and the browser pages set their view from each
// state event, so a second scanned shows the same thing again; a rotated
// event with the QR already shown shows the same QR; a long-poll takes any
// event as a cue to read the store, and answers only a change. A final
// state reaches a socket at most once, since the socket closes after it,
// and so does revoked.
//
// What would harm is an older state sent after a newer one (the QR again
// after a scan, or a QR that was replaced). So a ticket's event is
// published only if nothing was published to its watchers between the
// moment Resync took the topic's version and its publication (Hub.PublishIf);
// otherwise the ticket is read and tried again, up to resyncRounds times.
//
// Resync gives up, and logs why, at the first read that fails (unless ctx
// ended): the bus then loses its connection too, most likely, and resyncs
// again once it is back.
func (s *Service) Resync(ctx context.Context, look Lookup) {
	if err := s.resyncTickets(ctx, look); err != nil && ctx.Err() == nil {
		s.log.Error("resync: tickets", "err", err)
	}
	if err := s.resyncSessions(ctx, look); err != nil && ctx.Err() == nil {
		s.log.Error("resync: sessions", "err", err)
	}
}

// resyncTickets sends the watchers of every ticket its state now.
func (s *Service) resyncTickets(ctx context.Context, look Lookup) error {
	ids := s.Tickets.Topics()
	for range resyncRounds {
		var again []string
		for len(ids) > 0 {
			n := min(len(ids), resyncBatch)
			more, err := s.resyncTicketBatch(ctx, look, ids[:n])
			if err != nil {
				return err
			}
			again = append(again, more...)
			ids = ids[n:]
		}
		if ids = again; len(ids) == 0 {
			return nil
		}
	}
	s.log.Warn("resync: tickets kept changing while being read; left to their own events", "tickets", len(ids))
	return nil
}

// resyncTicketBatch sends the watchers of each ticket of ids its state now,
// and returns the ids of those published to while Resync read them, to be
// read again.
func (s *Service) resyncTicketBatch(ctx context.Context, look Lookup, ids []string) (again []string, err error) {
	versions := make([]uint64, len(ids))
	for i, id := range ids {
		versions[i] = s.Tickets.Version(id)
	}
	rctx, cancel := context.WithTimeout(ctx, resyncTimeout)
	refs, err := look.TicketRefs(rctx, ids)
	cancel()
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		ref, ok := refs[id]
		if versions[i] == 0 || !ok {
			continue // no watcher left, or no such ticket any more
		}
		rctx, cancel := context.WithTimeout(ctx, resyncTimeout)
		ev, err := s.resyncEvent(rctx, ref)
		cancel()
		if errors.Is(err, server.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, ok := s.Tickets.PublishIf(id, versions[i], TicketMsg{Event: ev}); !ok && s.Tickets.Version(id) != 0 {
			again = append(again, id)
		}
	}
	return again, nil
}

// resyncEvent reads the ticket that ref names and returns what tells its
// watchers its state now: for a pending ticket its current QR (as rotated),
// for any other its state event.
func (s *Service) resyncEvent(ctx context.Context, ref string) (api.TicketEvent, error) {
	t, _, err := s.ticketByRef(ctx, ref)
	if err != nil {
		return api.TicketEvent{}, err
	}
	if t.State == server.StatePending {
		return s.currentQR(t, s.cfg.Now()), nil
	}
	return s.stateEvent(ctx, t)
}

// resyncSessions sends revoked to the watchers of every session that is no
// longer live.
func (s *Service) resyncSessions(ctx context.Context, look Lookup) error {
	ids := s.Sessions.Topics()
	for len(ids) > 0 {
		n := min(len(ids), resyncBatch)
		rctx, cancel := context.WithTimeout(ctx, resyncTimeout)
		live, err := look.LiveSessions(rctx, ids[:n], s.cfg.Now())
		cancel()
		if err != nil {
			return err
		}
		for _, id := range ids[:n] {
			if !live[id] {
				s.Sessions.Publish(id, api.SessionEvent{Type: api.EventRevoked})
			}
		}
		ids = ids[n:]
	}
	return nil
}
