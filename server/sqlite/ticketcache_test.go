package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

var cacheT0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func cachedTicket(id string) server.Ticket {
	return server.Ticket{
		ID: id, Version: 1, State: server.StatePending, PollSecretHash: server.HashToken(id), Ref: "ref-" + id,
		Desktop:   server.Desktop{Name: "PC", OS: "linux", App: "a", IP: "127.0.0.1", UserAgent: "ua"},
		CreatedAt: cacheT0, ExpiresAt: cacheT0.Add(time.Hour), RotateUntil: cacheT0.Add(2 * time.Hour), MatchCode: "07", UpdatedAt: cacheT0,
	}
}

// behind writes to the file without the cache knowing: what the cache must
// never be trusted over.
func behind(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.exec(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}

// An update decides on the row as stored, whatever the cache holds: a
// cached ticket that a write behind its back made stale is read again,
// both when the compare-and-swap misses and when the updater, given the
// stale ticket, fails.
func TestTicketCacheNeverDecidesOnAStaleTicket(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.CreateTicket(ctx, cachedTicket("t1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.tickets.get("t1"); !ok {
		t.Fatal("a created ticket is not cached")
	}
	behind(t, db, `UPDATE tickets SET version = 2, state = 'scanned', user_id = 'u1' WHERE id = 't1'`)

	var seen []server.State
	got, err := db.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		seen = append(seen, tk.State)
		if tk.State != server.StateScanned {
			return nil, server.ErrConflict // what a confirm answers a pending ticket
		}
		tk.State = server.StateConfirmed
		return nil, nil
	})
	if err != nil || got.State != server.StateConfirmed || got.Version != 3 || got.UserID != "u1" {
		t.Fatalf("update of a stale cached ticket: %+v, %v", got, err)
	}
	if len(seen) != 2 || seen[0] != server.StatePending || seen[1] != server.StateScanned {
		t.Fatalf("the updater saw %v, want the cached pending then the stored scanned", seen)
	}

	// The swap itself: the updater accepts the stale ticket, the swap
	// misses, and the stored row decides.
	behind(t, db, `UPDATE tickets SET version = 4, state = 'redeemed' WHERE id = 't1'`)
	seen = nil
	_, err = db.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		seen = append(seen, tk.State)
		if tk.State == server.StateRedeemed {
			return nil, server.ErrExpired
		}
		tk.State = server.StateRedeemed
		return nil, nil
	})
	if !errors.Is(err, server.ErrExpired) || len(seen) != 2 || seen[1] != server.StateRedeemed {
		t.Fatalf("update after a write behind the cache: %v, the updater saw %v", err, seen)
	}
	var v int64
	db.r.QueryRow(`SELECT version FROM tickets WHERE id = 't1'`).Scan(&v)
	if v != 4 {
		t.Fatalf("stored version %d, want 4: the stale update was written", v)
	}
}

// app_flow is the one column written without a new version (by the trigger
// on oauth_requests): the swap compares it too, so a ticket cached as a
// desktop's own is not updated as one once a request marked it an app's.
func TestTicketCacheSwapComparesTheAppFlow(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.CreateTicket(ctx, cachedTicket("t1")); err != nil {
		t.Fatal(err)
	}
	behind(t, db, `UPDATE tickets SET app_flow = 'authorize' WHERE id = 't1'`)
	var seen []server.AppFlow
	got, err := db.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		seen = append(seen, tk.App)
		tk.State = server.StateScanned
		return nil, nil
	})
	if err != nil || got.App != server.AppAuthorize || len(seen) != 2 || seen[1] != server.AppAuthorize {
		t.Fatalf("update of a ticket marked behind the cache: %+v, %v; the updater saw %v", got, err, seen)
	}
}

// Every write of tickets leaves the cache with what it committed: reads by
// id see the update's, the extension's and the revocation's version, a
// confirm finds the ticket by its scan token, and the purge drops what it
// deleted.
func TestTicketCacheFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.CreateUser(ctx, server.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: cacheT0}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateDevice(ctx, server.Device{ID: "d1", UserID: "u1", ClientID: "c", TokenHash: server.HashToken("d1"), CreatedAt: cacheT0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"t1", "t2"} {
		tk := cachedTicket(id)
		tk.ExpiresAt = cacheT0.Add(time.Minute)
		if err := db.CreateTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	byID := func(id string) server.Ticket {
		t.Helper()
		tk, err := db.TicketByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}

	n, err := db.ExtendTickets(ctx, []string{"t1", "t2", "missing"}, cacheT0.Add(5*time.Minute), cacheT0)
	if err != nil || n != 2 {
		t.Fatalf("extend: %d, %v", n, err)
	}
	if tk := byID("t1"); tk.Version != 2 || !tk.ExpiresAt.Equal(cacheT0.Add(5*time.Minute)) {
		t.Fatalf("after the extension: version %d, expires %v", tk.Version, tk.ExpiresAt)
	}

	token := server.HashToken("scan")
	if _, err := db.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
		tk.State, tk.UserID, tk.DeviceID, tk.ScanTokenHash = server.StateScanned, "u1", "d1", token
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.tickets.getByScanToken(token); !ok {
		t.Fatal("the scanned ticket is not cached by its scan token")
	}
	got, err := db.UpdateTicketByScanToken(ctx, token, func(tk *server.Ticket) (*server.Session, error) {
		tk.State = server.StateConfirmed
		return nil, nil
	})
	if err != nil || got.Version != 4 || byID("t1").State != server.StateConfirmed {
		t.Fatalf("confirm by scan token: %+v, %v", got, err)
	}

	if _, _, err := db.RevokeDevice(ctx, "d1", cacheT0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if tk := byID("t1"); tk.State != server.StateCancelled || tk.Version != 5 {
		t.Fatalf("after the revocation: %s, version %d", tk.State, tk.Version)
	}

	behind(t, db, `UPDATE tickets SET expires_at = 1, updated_at = 1, created_at = 1 WHERE id = 't2'`)
	if n, err := db.DeleteTicketsBefore(ctx, cacheT0); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if _, err := db.TicketByID(ctx, "t2"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("a purged ticket read by id: %v, want not found", err)
	}
	if tk := byID("t1"); tk.State != server.StateCancelled {
		t.Fatalf("a ticket the purge kept: %s", tk.State)
	}
}

// Reads never go back past a write that has returned, however writes of
// one ticket race each other and purges that empty the cache: each write
// brings the cache up to date before its caller is answered, in the order
// of the commits.
func TestTicketCacheReadsNeverGoBack(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.CreateTicket(ctx, cachedTicket("t1")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	purged := make(chan struct{})
	go func() { // empties the cache again and again: a purge that deletes a ticket
		defer close(purged)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			old := cachedTicket(fmt.Sprint("old", i))
			old.CreatedAt, old.ExpiresAt, old.UpdatedAt, old.State = cacheT0.Add(-time.Hour), cacheT0.Add(-time.Hour), cacheT0.Add(-time.Hour), server.StateExpired
			if err := db.CreateTicket(ctx, old); err != nil {
				t.Error(err)
				return
			}
			if _, err := db.DeleteTicketsBefore(ctx, cacheT0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				got, err := db.UpdateTicket(ctx, "t1", func(tk *server.Ticket) (*server.Session, error) {
					tk.MatchFailures++
					return nil, nil
				})
				if errors.Is(err, server.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				now, err := db.TicketByID(ctx, "t1")
				if err != nil || now.Version < got.Version {
					t.Errorf("read version %d (%v) after a write of version %d returned", now.Version, err, got.Version)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-purged
	cached, _ := db.TicketByID(ctx, "t1")
	stored, err := scanTicket(db.row(ctx, qTicketByID, "t1"))
	if err != nil || cached.Version != stored.Version || cached.MatchFailures != stored.MatchFailures || int64(cached.MatchFailures) != cached.Version-1 {
		t.Fatalf("cached %d/%d, stored %d/%d (%v): versions and counts differ", cached.Version, cached.MatchFailures, stored.Version, stored.MatchFailures, err)
	}
}

// The cache finds a ticket by its scan token while it is the ticket's,
// keeps no slice a caller holds, and patches an extension of the version
// it holds only.
func TestTicketCacheIndexes(t *testing.T) {
	c := newTicketCache()
	v := func(n int64, token string) server.Ticket {
		tk := cachedTicket("t1")
		tk.Version = n
		if token != "" {
			tk.ScanTokenHash = server.HashToken(token)
		}
		return tk
	}
	c.put(v(3, "a"))
	c.put(v(4, "b"))
	if _, ok := c.getByScanToken(server.HashToken("a")); ok {
		t.Fatal("a replaced scan token still finds the ticket")
	}
	if tk, ok := c.getByScanToken(server.HashToken("b")); !ok || tk.Version != 4 {
		t.Fatalf("by the new scan token: %+v, %v", tk, ok)
	}
	tk, _ := c.get("t1")
	tk.ScanTokenHash[0] ^= 0xff // a caller's change stays the caller's
	if _, ok := c.getByScanToken(server.HashToken("b")); !ok {
		t.Fatal("a caller's change reached the cache")
	}

	c.extended("t1", 5, cacheT0.Add(time.Hour), cacheT0.Add(time.Minute))
	if tk, ok := c.get("t1"); !ok || tk.Version != 5 || !tk.ExpiresAt.Equal(cacheT0.Add(time.Hour)) || !tk.UpdatedAt.Equal(cacheT0.Add(time.Minute)) {
		t.Fatalf("after the extension of the version cached: %+v, %v", tk, ok)
	}
	c.extended("t1", 7, cacheT0, cacheT0) // not the version after the one cached
	if _, ok := c.get("t1"); ok {
		t.Fatal("a ticket two versions behind its extension is read")
	}
	if _, ok := c.getByScanToken(server.HashToken("b")); ok || len(c.byScan) != 0 {
		t.Fatal("a dropped ticket is still found by its scan token")
	}
	c.extended("t2", 2, cacheT0, cacheT0)
	if _, ok := c.get("t2"); ok {
		t.Fatal("an extension cached a ticket it does not hold")
	}

	for i := range ticketCacheSize + 10 {
		tk := v(1, fmt.Sprint("token", i))
		tk.ID = fmt.Sprint("id", i)
		c.put(tk)
	}
	if c.byID.Len() != ticketCacheSize || len(c.byScan) != ticketCacheSize {
		t.Fatalf("%d tickets and %d scan tokens cached, want %d of each", c.byID.Len(), len(c.byScan), ticketCacheSize)
	}
}
