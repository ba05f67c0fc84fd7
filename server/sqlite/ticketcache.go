package sqlite

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/qrlogin/qrlogin/server"
)

// ticketCacheSize bounds the tickets kept by ticketCache: about 700 bytes
// each, and enough for the logins in flight at 1,000 a second for four
// seconds.
const ticketCacheSize = 4096

// ticketCache keeps the last committed version of the tickets this process
// wrote last, so that a login's watch and its updates need not read and
// decode the row that its previous step wrote.
//
// It is a hint, never the authority: an update decides on a cached ticket
// only if its compare-and-swap on the row's version and app_flow (the one
// column written without a new version, by a trigger) then succeeds; on a
// mismatch, or on any error the updater returned, the update reads the row
// and decides again (updateTicket). A read (TicketByID) may return a
// version that the store has since replaced, as a read a moment earlier
// would have; but never one older than a version whose writer has
// returned, since every writer of tickets puts what it committed before it
// returns (put keeps the newest version). That holds because this process
// is the only writer of the file's tickets: one node on SQLite, whose
// command-line tools (apps, keys) write none. Tickets deleted by the purge
// are dropped with everything else (clear).
//
// An extension writes a new version of a ticket without reading it
// (extended): the version before it, if cached, is brought up to date;
// any other is replaced by a mark of the new version (a ticket with no
// State), which no read returns and which turns away the puts of older
// versions.
type ticketCache struct {
	mu     sync.Mutex
	byID   *simplelru.LRU[string, server.Ticket]
	byScan map[string]string // scan token hash → id, of the tickets in byID
}

func newTicketCache() *ticketCache {
	c := &ticketCache{byScan: map[string]string{}}
	// NewLRU fails only for a size ≤ 0.
	c.byID, _ = simplelru.NewLRU(ticketCacheSize, func(id string, t server.Ticket) {
		if h := string(t.ScanTokenHash); h != "" && c.byScan[h] == id {
			delete(c.byScan, h)
		}
	})
	return c
}

// get returns a copy of ticket id, if cached.
func (c *ticketCache) get(id string) (server.Ticket, bool) {
	c.mu.Lock()
	t, ok := c.byID.Get(id)
	c.mu.Unlock()
	if !ok || t.State == "" {
		return server.Ticket{}, false
	}
	return cloneTicket(t), true
}

// getByScanToken returns a copy of the ticket whose scan token hash is h,
// if cached.
func (c *ticketCache) getByScanToken(h []byte) (server.Ticket, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byScan[string(h)]
	if !ok {
		return server.Ticket{}, false
	}
	t, ok := c.byID.Get(id)
	if !ok || !bytes.Equal(t.ScanTokenHash, h) {
		return server.Ticket{}, false
	}
	return cloneTicket(t), true
}

// put records tickets as committed, each unless a newer version of it is
// cached already.
func (c *ticketCache) put(ts ...server.Ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ts {
		if old, ok := c.byID.Peek(t.ID); !ok || old.Version < t.Version {
			c.replace(cloneTicket(t))
		}
	}
}

// extended records that an extension wrote version of ticket id, with the
// deadline expires, at updated (see ticketCache).
func (c *ticketCache) extended(id string, version int64, expires, updated time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.byID.Peek(id)
	switch {
	case ok && old.Version >= version:
	case ok && old.Version == version-1 && old.State != "":
		old.Version, old.ExpiresAt, old.UpdatedAt = version, expires, updated
		c.byID.Add(id, old)
	default:
		c.replace(server.Ticket{ID: id, Version: version})
	}
}

// replace caches t, which the cache may keep as it is, in place of any
// version of it cached. It is called with mu held.
func (c *ticketCache) replace(t server.Ticket) {
	if old, ok := c.byID.Peek(t.ID); ok {
		if h := string(old.ScanTokenHash); h != "" && !bytes.Equal(old.ScanTokenHash, t.ScanTokenHash) && c.byScan[h] == t.ID {
			delete(c.byScan, h)
		}
	}
	c.byID.Add(t.ID, t)
	if len(t.ScanTokenHash) > 0 {
		c.byScan[string(t.ScanTokenHash)] = t.ID
	}
}

// remove drops ticket id.
func (c *ticketCache) remove(id string) {
	c.mu.Lock()
	c.byID.Remove(id) // the eviction callback drops its scan token
	c.mu.Unlock()
}

// clear drops every ticket.
func (c *ticketCache) clear() {
	c.mu.Lock()
	c.byID.Purge() // the eviction callback drops the scan tokens
	c.mu.Unlock()
}

// cloneTicket copies t's byte slices too, so that no caller shares them
// with the cache.
func cloneTicket(t server.Ticket) server.Ticket {
	t.PollSecretHash = slices.Clone(t.PollSecretHash)
	t.ScanTokenHash = slices.Clone(t.ScanTokenHash)
	return t
}
