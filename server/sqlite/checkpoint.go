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
// the next checkpoint; the writer's own checkpoint (at 4,000 pages: Open)
// is left for when that keeps happening, and then copies only what the
// last checkpoint here left. Measured at 1,000 and 400 logins/s
// (qrlogin-load, 273 checkpoints), the WAL started over after about one
// checkpoint in two and never held more than 1,001 pages. As before, a
// reader that keeps a snapshot open keeps the WAL from starting over.
type checkpointer struct {
	r       *sql.DB
	every   int64 // commits between two checkpoints
	commits atomic.Int64
	kick    chan struct{} // 1 buffered: a checkpoint is due
	ctx     context.Context
	stop    context.CancelFunc // ends ctx: the checkpoint running, and run
	done    chan struct{}
}

// checkpointEvery is how many of the writer's commits are let pass between
// two checkpoints: about 12 checkpoints a second at 1,000 and 400 logins/s
// (qrlogin-load).
const checkpointEvery = 100

// startCheckpointer starts a checkpointer that runs on the pool r.
func startCheckpointer(r *sql.DB, every int64) *checkpointer {
	c := &checkpointer{r: r, every: every, kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.stop = context.WithCancel(context.Background())
	go c.run()
	return c
}

// committed counts one commit of the writer, and asks for a checkpoint
// every c.every commits. It never blocks.
func (c *checkpointer) committed() {
	if c.commits.Add(1)%c.every == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// run checkpoints when kicked, until stopped. It logs a failure once, not
// at every checkpoint that fails the same way, and says when they work
// again.
func (c *checkpointer) run() {
	defer close(c.done)
	var failing string
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		}
		_, err := c.r.ExecContext(c.ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
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
	}
}

// close stops the checkpointer: it interrupts the checkpoint running, if
// one is (which leaves the WAL as it was: what was copied is copied again
// next time), and waits for it. It may be called more than once.
func (c *checkpointer) close() {
	c.stop()
	<-c.done
}
