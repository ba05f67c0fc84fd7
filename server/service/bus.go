package service

import (
	"context"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// Bus carries events to the other nodes of a cluster that share one
// database, so that each pushes to the sockets it holds. A single node has
// none. A node that stopped hearing the others for a while (its bus lost
// its connection) catches up with Resync.
type Bus interface {
	// Notify sends n to every other node. It is called after the change it
	// tells of was committed.
	Notify(ctx context.Context, n Notice) error
}

// Notice kinds. A ticket's rotations need none: each node that holds a
// watcher pushes them (rotation.go).
const (
	NoticeState   = "t" // a ticket entered State
	NoticeRevoked = "s" // session ID ended
	NoticeUser    = "u" // an event for account ID's phones
)

// Notice is a small message between nodes: what changed, not the data. A
// receiving node reads what it needs from the store.
type Notice struct {
	Kind  string       `json:"k"`
	ID    string       `json:"id"`           // ticket, session or user id
	State server.State `json:"st,omitempty"` // NoticeState
	// NoticeState of scanned: the account that scanned and whether the
	// approval needs the match code, what the scanned event shows (a
	// notice from a node of before they were sent has neither: the
	// ticket is then read).
	User   string           `json:"u,omitempty"`
	Match  bool             `json:"m,omitempty"`
	Event  *api.MobileEvent `json:"ev,omitempty"` // NoticeUser
	Except string           `json:"x,omitempty"`  // NoticeUser: the device not to tell
}

// notify sends n on the bus, if any; a failure is logged, not returned: the
// change is committed, and long-polls and reconnects still see it.
func (s *Service) notify(n Notice) {
	if s.bus == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.bus.Notify(ctx, n); err != nil {
		s.log.Error("notify other nodes", "kind", n.Kind, "err", err)
	}
}

// publishTicket hands state event ev to t's local watchers and tells the
// other nodes.
func (s *Service) publishTicket(t server.Ticket, ev api.TicketEvent, at time.Time) {
	s.stateChanged(t.ID, ev, at)
	n := Notice{Kind: NoticeState, ID: t.ID, State: ev.State}
	if ev.State == server.StateScanned {
		n.User, n.Match = t.UserID, t.MatchRequired
	}
	s.notify(n)
}

// stateChanged hands state event ev of ticket id to its local watchers;
// a ticket that left pending is no longer rotated.
func (s *Service) stateChanged(id string, ev api.TicketEvent, at time.Time) {
	if ev.State != server.StatePending {
		s.rot.ended(id)
	}
	s.Tickets.Publish(id, TicketMsg{Event: ev, At: at})
}

// publishRevoked tells session id's desktop, here and on other nodes.
func (s *Service) publishRevoked(id string) {
	s.Sessions.Publish(id, api.SessionEvent{Type: api.EventRevoked})
	s.notify(Notice{Kind: NoticeRevoked, ID: id})
}

// publishUser tells account userID's phones (but except), here and on
// other nodes.
func (s *Service) publishUser(userID string, ev api.MobileEvent, except string) {
	s.Users.Publish(userID, UserMsg{Event: ev, Except: except})
	s.notify(Notice{Kind: NoticeUser, ID: userID, Event: &ev, Except: except})
}

// Deliver publishes a notice from another node to this node's watchers.
// What it would read from the store to build the event (the account of a
// scan, kept in memory after the first read), it reads only when this node
// has a watcher of the ticket: every node hears every notice, and most
// hold no socket of it.
func (s *Service) Deliver(ctx context.Context, n Notice) {
	switch n.Kind {
	case NoticeState:
		ev := api.TicketEvent{Type: api.EventState, State: n.State}
		if n.State == server.StateScanned {
			if s.Tickets.Count(n.ID) == 0 {
				return // a watcher that comes later reads the state itself
			}
			t := server.Ticket{UserID: n.User, MatchRequired: n.Match}
			if t.UserID == "" {
				var err error
				if t, err = s.store.TicketByID(ctx, n.ID); err != nil {
					s.log.Error("deliver: ticket", "err", err)
					return
				}
			}
			u, err := s.profile(ctx, t.UserID)
			if err != nil {
				s.log.Error("deliver: user", "err", err)
				return
			}
			scannedEvent(&ev, t, u)
		}
		s.stateChanged(n.ID, ev, time.Time{})
	case NoticeRevoked:
		s.Sessions.Publish(n.ID, api.SessionEvent{Type: api.EventRevoked})
	case NoticeUser:
		if n.Event != nil {
			s.Users.Publish(n.ID, UserMsg{Event: *n.Event, Except: n.Except})
		}
	}
}
