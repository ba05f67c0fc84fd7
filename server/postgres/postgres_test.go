package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
	"github.com/qrlogin/qrlogin/server/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func mustOpen(t testing.TB, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store {
		return mustOpen(t, pgtest.Start(t))
	})
}

// Nodes that start at once on a new database all open it, and each
// migration runs once (without the migration lock, the losers fail on
// "relation already exists" or a duplicate key).
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	want, _ := fs.Glob(migrations, "migrations/*.sql")
	for round := range 3 {
		dsn := pgtest.Start(t)
		start := make(chan struct{})
		dbs := make([]*DB, 3)
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = Open(ctx, dsn)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: Open %d: %v", round, i, err)
			}
			defer dbs[i].Close()
		}
		var names []string
		rows, _ := dbs[0].pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || strings.Join(names, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: migrations recorded %v (%v), want each of %v once", round, names, err, want)
		}
		if err := dbs[2].CreateUser(ctx, server.User{ID: "u1", Username: "alice", CreatedAt: time.Now()}); err != nil {
			t.Fatalf("round %d: the schema is not usable: %v", round, err)
		}
	}
}

// Opening a database again runs no migration twice and keeps the data.
func TestReopenKeepsDataAndMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	db := mustOpen(t, dsn)
	if err := db.CreateUser(ctx, server.User{ID: "u1", Username: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, dsn)
	if _, err := db.UserByID(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) || n < 2 {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(files))
	}
}

// A wrong DSN fails Open with an error that does not show the password.
func TestOpenFailsWithoutPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := Open(ctx, "postgres://qr:s3cret-pw@127.0.0.1:1/qrlogin?connect_timeout=5")
	if err == nil {
		t.Fatal("Open succeeded with nothing listening")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if server.ErrorCode(err) != server.CodeInternal {
		t.Fatalf("code %s, want internal", server.ErrorCode(err))
	}
}

// Database errors reach the Store's callers as its codes, and a client
// never sees SQL: the table that maps them.
func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code server.Code
	}{
		{pgx.ErrNoRows, server.CodeNotFound},
		{fmt.Errorf("scan: %w", pgx.ErrNoRows), server.CodeNotFound},
		{&pgconn.PgError{Code: "23505", Message: `duplicate key value violates unique constraint "users_username_lower"`}, server.CodeConflict},
		{&pgconn.PgError{Code: "40001", Message: "could not serialize access due to concurrent update"}, server.CodeConflict},
		{&pgconn.PgError{Code: "40P01", Message: "deadlock detected"}, server.CodeConflict},
		{&pgconn.PgError{Code: "23503", Message: `insert or update on table "sessions" violates foreign key constraint`}, server.CodeInternal},
		{&pgconn.PgError{Code: "42P01", Message: `relation "tickets" does not exist`}, server.CodeInternal},
		{context.Canceled, server.CodeInternal},
	} {
		err := wrap(tc.err, "thing")
		if server.ErrorCode(err) != tc.code {
			t.Errorf("wrap(%v): code %s, want %s", tc.err, server.ErrorCode(err), tc.code)
		}
		msg := server.ErrorMessage(err)
		if strings.Contains(msg, "constraint") || strings.Contains(msg, "relation") || strings.Contains(msg, "serialize") {
			t.Errorf("wrap(%v): a client would see %q", tc.err, msg)
		}
	}
	mine := server.Errorf(server.CodeExpired, "mine")
	if wrap(mine, "thing") != mine {
		t.Error("wrap changed a *server.Error")
	}
	if wrap(nil, "thing") != nil {
		t.Error("wrap(nil) is not nil")
	}
}

// A lost race that PostgreSQL reports as a serialization failure (here: the
// database's default isolation is SERIALIZABLE, and a plain UPDATE, not
// UpdateTicket, races) surfaces as conflict, not internal.
func TestSerializationFailureIsConflict(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	db := mustOpen(t, dsn)
	if err := db.CreateUser(ctx, server.User{ID: "u1", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	// Two transactions read the same row, then both write it.
	tx1, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	tx1.Exec(ctx, `SELECT * FROM users WHERE id = 'u1'`)
	err = db.inTx(ctx, "user", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET display_name = 'b' WHERE id = 'u1'`)
		return wrap(err, "user")
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx1.Exec(ctx, `UPDATE users SET display_name = 'a' WHERE id = 'u1'`)
	if err = wrap(err, "user"); !errors.Is(err, server.ErrConflict) {
		t.Fatalf("lost serializable update: %v, want conflict", err)
	}
}
