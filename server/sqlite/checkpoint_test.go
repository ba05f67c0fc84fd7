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

// TestCheckpointerCopiesTheWAL writes well under the writer's own
// checkpoint threshold, in many commits, and checks that the pages reach
// the database file all the same: only the checkpointer copies them.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	db := mustOpen(t, path)
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	name := strings.Repeat("n", 1000) // a page for every few users
	for i := range 3 * checkpointEvery {
		if err := db.inTx(context.Background(), func(tx *sql.Tx) error {
			return insertUser(tx, fmt.Sprintf("%s%04d", name, i))
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("after %d commits the database file still has %d bytes: nothing was checkpointed", 3*checkpointEvery, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
