package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"modernc.org/sqlite"
)

// openUncancelled opens the file at path as the writer pool is opened, and
// a second pool on it that never waits for a lock.
func openUncancelled(t *testing.T, path string) (w, other *sql.DB) {
	t.Helper()
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	c, err := sqlite.NewConnector(dsn + "&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	w = sql.OpenDB(uncancelled{c})
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	if other, err = sql.Open("sqlite", dsn+"&_pragma=busy_timeout(0)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return w, other
}

// A transaction of the writer's connections holds the write lock from its
// BEGIN (IMMEDIATE), before it writes anything; a COMMIT that fails (here
// on a deferred foreign key) leaves no transaction open and nothing of the
// failed one stored; and the prepared BEGIN, COMMIT and ROLLBACK serve
// transaction after transaction.
func TestUncancelledTransactions(t *testing.T) {
	ctx := context.Background()
	w, other := openUncancelled(t, filepath.Join(t.TempDir(), "q.db"))
	if _, err := w.Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
		if _, err := other.Exec(`INSERT INTO parent (id) VALUES (100)`); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("transaction %d: another connection wrote during it, before it wrote (%v): not IMMEDIATE", i, err)
		}
		if _, err := tx.Exec(`INSERT INTO child (id, parent) VALUES (?, 7)`, i); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Fatalf("transaction %d: commit of a dangling child: %v, want a foreign key error", i, err)
		}
		tx, err = w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("begin after a failed commit (%d): %v", i, err)
		}
		if _, err := tx.Exec(`INSERT INTO parent (id) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx, err = w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO parent (id) VALUES (?)`, 50+i); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	var children, parents int
	other.QueryRow(`SELECT (SELECT count(*) FROM child), (SELECT count(*) FROM parent)`).Scan(&children, &parents)
	if children != 0 || parents != 3 {
		t.Fatalf("%d children and %d parents stored, want 0 and 3", children, parents)
	}
}
