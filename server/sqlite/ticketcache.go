package sqlite

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/qrlogin/qrlogin/server"
)

// ticketCacheSize bounds the tickets kept by ticketCache: about 900 bytes
// each (3.6 MiB in all), and enough for the logins in flight at 1,000 a
// second for four seconds.
const ticketCacheSize = 4096

// ticketCache keeps the last committed version of the tickets this process
// wrote last, so that a login's watch and its updates need not read and
// decode the row that its previous step wrote.
//
// Every write of tickets brings the cache up to date once it has
// committed, on the writer's side, in the order of the commits, before its
// caller is answered (inTxThen): a created or updated ticket is put, an
// extension patches the version before it, a request for the open
// platform removes its ticket (the trigger oauth_requests_mark_ticket may
// set its app_flow), a purge that deleted anything clears the cache. So a
// cached ticket is the row as the last commit left it, and a read
// (TicketByID) never returns a version older than one whose writer has
// returned. That holds because this process is the only writer of the
// file's tickets: one node on SQLite, whose command-line tools (apps, keys)
// write none.
//
// It is still a hint, never the authority: an update decides on a cached
// ticket only if its compare-and-swap on the row's version and app_flow
// then succeeds; on a mismatch, or on any error the updater returned, the
// update reads the row and decides again (updateTicket). Within a batch of
// the writer a later write finds the cache without the earlier ones', and
// reads the row.
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
	if !ok {
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

// put records tickets as committed (see ticketCache).
func (c *ticketCache) put(ts ...server.Ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ts {
		t = cloneTicket(t)
		t.CreatedAt, t.ExpiresAt, t.RotateUntil = asStored(t.CreatedAt), asStored(t.ExpiresAt), asStored(t.RotateUntil)
		t.ScannedAt, t.ConfirmedAt, t.UpdatedAt = asStored(t.ScannedAt), asStored(t.ConfirmedAt), asStored(t.UpdatedAt)
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
}

// extended records that an extension wrote version of ticket id, with the
// deadline expires, at updated: the version before it, if cached, is
// brought up to date (an extension changes nothing else).
func (c *ticketCache) extended(id string, version int64, expires, updated time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.byID.Peek(id)
	switch {
	case !ok:
	case old.Version == version-1:
		old.Version, old.ExpiresAt, old.UpdatedAt = version, expires, updated
		c.byID.Add(id, old)
	default: // never, with every write in commit order; but not a version to keep
		c.byID.Remove(id)
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

// asStored is t as the file gives it back: UTC, without a monotonic reading,
// to the nanosecond.
func asStored(t time.Time) time.Time { return fromNanos(nanos(t)) }
