package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
)

// checkpointer copies the pages that the WAL holds into the database file
// (a PASSIVE checkpoint) on a reader connection, beside the writer, so that
// the writer seldom has to.
//
// SQLite checkpoints on the connection that commits, once the WAL holds
// wal_autocheckpoint pages (1,000 by default): the writer then copies them
// and syncs the WAL and the file before it answers its batch or begins
// the next, which stalls every write queued meanwhile (several
// milliseconds, a few times a second at 1,000 logins/s). Checkpointed
// here, the pages are copied while the writer goes on: a passive
// checkpoint never waits for the writer nor makes it wait; it syncs the
// WAL before it copies (the reader connections are synchronous=NORMAL
// too) and copies only committed pages, so a kill at any point loses
// nothing.
//
// The WAL starts over from its beginning when the writer begins a
// transaction after a checkpoint has copied all of it. A commit that lands
// while a checkpoint runs leaves pages to copy, and the WAL grows on to
// the next checkpoint; under steady load that is common, and then it is
// the writer's own checkpoint (at 4,000 pages: Open) that lets the WAL
// start over, having only the pages the last checkpoint here left to
// copy: still two syncs in a commit, but a quarter as often as SQLite's
// default and without most of the copying. Measured at 400 then 1,000
// logins/s, 20 s each: 37 checkpoints here, after 16 of which the WAL
// started over; it held at most 3,978 pages (a 17 MiB file). As before, a
// reader that keeps a snapshot open keeps the WAL from starting over.
//
// A checkpoint is due every so many commits, which follow the pages the
// last ones added (nextEvery): about every checkpointPages pages, as
// SQLite's own. More often copies a page that many commits rewrite (a
// ticket's, an index's) more often: a checkpoint every 100 commits, about
// 12 a second, cost the server 8 % more CPU per login at 400 logins/s.
type checkpointer struct {
	r       *sql.DB
	every   atomic.Int64  // commits between two checkpoints (nextEvery)
	commits int64         // since the last kick; committed's only, whose calls never overlap
	kick    chan struct{} // 1 buffered: a checkpoint is due
	ctx     context.Context
	stop    context.CancelFunc // ends ctx: the checkpoint running, and run
	done    chan struct{}
}

// checkpointPages is how many pages the WAL gains between two checkpoints,
// about: SQLite's default wal_autocheckpoint.
const checkpointPages = 1000

// checkpointEvery is the commits between the first two checkpoints, and
// minEvery and maxEvery bound those between any two.
const (
	checkpointEvery    = 100
	minEvery, maxEvery = 10, 2000
)

// startCheckpointer starts a checkpointer that runs on the pool r.
func startCheckpointer(r *sql.DB) *checkpointer {
	c := &checkpointer{r: r, kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.every.Store(checkpointEvery)
	c.ctx, c.stop = context.WithCancel(context.Background())
	go c.run()
	return c
}

// committed counts one commit of the writer, and asks for a checkpoint
// once c.every have passed since the last. It never blocks. Calls never
// overlap: the writer calls it after each batch, one batch runs at a time,
// and the writer's lock orders the goroutines that run them.
func (c *checkpointer) committed() {
	if c.commits++; c.commits >= c.every.Load() {
		c.commits = 0
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// nextEvery returns the commits to let pass before the next checkpoint,
// given the commits between the last two (every) and the pages the WAL
// gained meanwhile (grown): halfway to as many as gain checkpointPages at
// the rate seen, within [minEvery, maxEvery]. Without pages seen, every
// stays. Halfway, because grown is an estimate (the WAL may have started
// over in between) and the pages a commit adds vary with its batch.
func nextEvery(every, grown int64) int64 {
	if grown <= 0 {
		return every
	}
	return min(max((every+every*checkpointPages/grown)/2, minEvery), maxEvery)
}

// run checkpoints when kicked, until stopped. It logs a failure once, not
// at every checkpoint that fails the same way, and says when they work
// again.
func (c *checkpointer) run() {
	defer close(c.done)
	var failing string
	var last int64 // the WAL's pages at the last checkpoint
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		}
		// The pages in the WAL, counted from where it last started over
		// (-1 if the checkpoint could not run), and those copied.
		var busy, pages, copied int64
		err := c.r.QueryRowContext(c.ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &pages, &copied)
		switch {
		case c.ctx.Err() != nil:
			return
		case err != nil && err.Error() != failing:
			failing = err.Error()
			slog.Warn("sqlite: checkpoint failed; the writer checkpoints alone until one works", "err", err)
		case err == nil && failing != "":
			failing = ""
			slog.Info("sqlite: checkpoints work again")
		}
		if err != nil || pages < 0 {
			continue
		}
		grown := pages - last
		if pages < last { // the WAL started over since
			grown = pages
		}
		last = pages
		c.every.Store(nextEvery(c.every.Load(), grown))
	}
}

// close stops the checkpointer: it interrupts the checkpoint running, if
// one is (which leaves the WAL as it was: what was copied is copied again
// next time), and waits for it. It may be called more than once.
func (c *checkpointer) close() {
	c.stop()
	<-c.done
}
