package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointerCopiesTheWAL writes fewer pages than SQLite's default
// checkpoint threshold (1,000), let alone the writer's (4,000), in just
// over checkpointEvery commits, and checks that they reach the database
// file all the same: only the checkpointer copies them.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	db := mustOpen(t, path)
	var pages int
	if err := db.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil || pages != 4000 {
		t.Fatalf("the writer checkpoints at %d pages (%v), want 4000", pages, err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	name := strings.Repeat("n", 200) // a page for every few users
	const commits = checkpointEvery + 1
	for i := range commits {
		if err := db.inTx(context.Background(), func(tx *sql.Tx) error {
			return insertUser(tx, fmt.Sprintf("%s%04d", name, i))
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("after %d commits the database file still has %d bytes: nothing was checkpointed", commits, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNextEvery(t *testing.T) {
	for _, c := range []struct{ every, grown, want int64 }{
		{100, 1000, 100},   // on target
		{100, 500, 150},    // half the pages: halfway to twice the commits
		{100, 4000, 62},    // four times the pages: halfway to a quarter
		{100, 0, 100},      // nothing seen: as before
		{100, 1, maxEvery}, // bounded above
		{minEvery, 1_000_000, minEvery},
	} {
		if got := nextEvery(c.every, c.grown); got != c.want {
			t.Errorf("nextEvery(%d, %d) = %d, want %d", c.every, c.grown, got, c.want)
		}
	}
}
