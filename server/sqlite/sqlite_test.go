package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/storetest"
)

func mustOpen(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	})
}

// Opening a database again runs no migration twice and keeps the data.
func TestReopenKeepsDataAndMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "qrlogin.db")
	db := mustOpen(t, path)
	if err := db.CreateUser(context.Background(), server.User{ID: "u1", Username: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, path)
	if _, err := db.UserByID(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	if n != len(files) || n < 2 {
		t.Fatalf("%d migrations recorded, want %d", n, len(files))
	}
	var mode string
	db.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal_mode %s, want wal", mode)
	}
}

// CheckWrites probes at most once every 5 s of the caller's clock, however
// many ask, also at once; a failed probe is reported until the next one; a
// probe cut short by its context is not kept.
func TestCheckWritesProbesSeldom(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	probes := func() int {
		t.Helper()
		var n int
		if err := db.r.QueryRow(`SELECT probes FROM heartbeat`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	check := func(at time.Duration, wantErr bool) {
		t.Helper()
		if err := db.CheckWrites(ctx, now.Add(at)); (err != nil) != wantErr {
			t.Fatalf("CheckWrites at +%v: %v, want an error %v", at, err, wantErr)
		}
	}
	for i := range 20 {
		check(time.Duration(i)*200*time.Millisecond, false)
	}
	if n := probes(); n != 1 {
		t.Fatalf("%d probes in 4 s, want 1", n)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { db.CheckWrites(ctx, now.Add(5*time.Second)) })
	}
	wg.Wait()
	if n := probes(); n != 2 {
		t.Fatalf("%d probes after a flood at +5 s, want 2", n)
	}

	// The writer connection refuses writes (as a read-only file would).
	if _, err := db.w.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	check(10*time.Second, true)
	if _, err := db.w.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	check(11*time.Second, true) // until the next probe
	check(15*time.Second, false)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.CheckWrites(cancelled, now.Add(time.Minute)); err == nil {
		t.Fatal("a probe without time to run succeeded")
	}
	before := probes()
	check(time.Minute, false)
	if n := probes(); n != before+1 {
		t.Fatalf("the cut-short probe was kept: %d probes, want %d", n, before+1)
	}
}

// The purge of old tickets finds them through an index that ticket
// updates leave alone (migration 012), not by reading the whole table.
func TestPurgeUsesTheCreatedIndex(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	plan := queryPlan(t, db, qDeleteOldTickets, 0)
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH tickets USING INDEX tickets_created") {
		t.Fatalf("the purge's plan is %q, want a search of tickets_created", plan)
	}
}

// The extension of watched tickets finds each by its id: a search of the
// primary key for every id of the list, not a scan of the tickets.
func TestExtendSearchesTicketsByID(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	plan := queryPlan(t, db, qExtendTickets, 0, 0, `["a","b"]`)
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH tickets USING INDEX sqlite_autoindex_tickets_1 (id=?)") {
		t.Fatalf("the extension's plan is %q, want a search of the primary key", plan)
	}
}

// queryPlan returns the details of EXPLAIN QUERY PLAN of q, in order.
func queryPlan(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}
