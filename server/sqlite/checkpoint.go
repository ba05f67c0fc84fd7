package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
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
// here instead, the pages are copied while the writer goes on: a passive
// checkpoint never waits for the writer nor makes it wait, and copies
// only committed pages, so a kill at any point loses nothing. Once a
// checkpoint has copied the whole WAL, the writer's next transaction
// starts it again from its beginning, as after its own. Where this one
// falls behind, the writer's own checkpoint (at 4,000 pages: Open) still
// bounds the WAL.
type checkpointer struct {
	r       *sql.DB
	every   int64 // commits between two checkpoints
	commits atomic.Int64
	kick    chan struct{} // 1 buffered: a checkpoint is due
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{}
}

// checkpointEvery is how many of the writer's commits are let pass between
// two checkpoints. Measured at 400 and 1,000 logins/s (qrlogin-load), 100
// commits held 100 to 990 pages, and came about 12 times a second.
const checkpointEvery = 100

// startCheckpointer starts a checkpointer that runs on the pool r.
func startCheckpointer(r *sql.DB, every int64) *checkpointer {
	c := &checkpointer{r: r, every: every, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
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

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		if _, err := c.r.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			slog.Warn("sqlite: checkpoint", "err", err)
		}
	}
}

// close stops the checkpointer, once its checkpoint, if one runs, is done.
// It may be called more than once.
func (c *checkpointer) close() {
	c.stopped.Do(func() { close(c.stop) })
	<-c.done
}
