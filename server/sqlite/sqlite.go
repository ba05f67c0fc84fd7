// Package sqlite is the server's Store on SQLite (modernc.org/sqlite, no cgo).
//
// It keeps two pools on one file: a single writer connection whose
// transactions begin IMMEDIATE, so writes queue in Go instead of failing with
// SQLITE_BUSY, and a few reader connections that WAL lets run beside it.
// Every write runs on one goroutine, which commits the writes that queued
// meanwhile together (group commit: see writer.go).
//
// The file and its -wal and -shm hold password hashes and the ID-token
// signing key, so only their owner may read them: Open creates the file
// 0600 (SQLite gives -wal and -shm the file's mode) and the folder, where it
// creates it, 0700; and it takes group and other permissions away from
// any of the three that it finds with them, saying so in the log at Warn
// (slog.Default), since a wider mode leaves the secrets to other local users.
// Open also refuses a file that fails SQLite's quick_check.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/writeprobe"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a server.Store on one SQLite file.
type DB struct {
	// w is the writer pool: one connection, uncancelled, for every write
	// transaction. Once Open has migrated, only wr uses it, but to prepare
	// statements (wp), which waits for the transaction that holds it.
	w     *sql.DB
	wr    *writer
	ck    *checkpointer
	r     *sql.DB // readers
	wp    *prepared
	rp    *prepared
	probe writeprobe.Probe
	// tickets keeps the tickets written last (ticketCache), devices the
	// live devices read (deviceCache).
	tickets *ticketCache
	devices *deviceCache
}

var _ server.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path, with its folder, and
// runs the migrations it has not run yet.
func Open(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	// WAL lets readers run beside the writer; a crashed process loses
	// nothing it committed. synchronous=NORMAL in WAL keeps every commit
	// across a process kill (the data is in the OS's cache); only a power
	// loss or OS crash can undo the last commits before a checkpoint, which
	// we trade for a write path several times faster.
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Readers may still meet a lock briefly (checkpoints): wait, don't fail.
	q.Add("_pragma", "busy_timeout(10000)")
	// mmap_size and cache_size keep SQLite's defaults: at 400 logins/s
	// (qrlogin-load, 2 cores) a 256 MiB mmap_size cost the server 27 to 33 %
	// more CPU (every connection maps the growing file anew, and faults its
	// pages in again), and a 64 MiB cache saved nothing measurable.
	// The checkpointer (checkpoint.go) checkpoints about every 1,000 pages,
	// beside the writer; the writer's own checkpoint, at 4,000 pages, copies
	// what is left then, and under steady load is what lets the WAL start
	// over.
	q.Add("_pragma", "wal_autocheckpoint(4000)")
	// ticket_refs cascade with their tickets; sessions need their user.
	q.Add("_pragma", "foreign_keys(1)")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"
	wc, err := sqlite.NewConnector(dsn + q.Encode() + "&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w := sql.OpenDB(uncancelled{wc})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{w: w, tickets: newTicketCache(), devices: newDeviceCache()}
	if err := db.quickCheck(ctx, path); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("%w (database %s)", err, path)
	}
	db.r, err = sql.Open("sqlite", dsn+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.r.SetMaxOpenConns(4)
	db.r.SetMaxIdleConns(4)
	db.wp, db.rp = newPrepared(db.w), newPrepared(db.r)
	// Statements run inside write transactions are prepared now: a
	// transaction holds the writer's only connection, so it cannot prepare.
	for _, q := range txStatements {
		if _, err := db.wp.stmt(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	db.ck = startCheckpointer(db.r)
	if db.wr, err = startWriter(ctx, db.w, db.ck.committed); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	return db, nil
}

// txStatements are the statements of the hot write transactions (a login's
// four, and the extension of watched tickets).
var txStatements = []string{qInsertTicket, qInsertRef, qTicketByID, qTicketByScanToken, qUpdateTicket, qUpdateTicketSameToken, qInsertSession, qExtendTickets}

// Close lets the writes asked for before it finish, stops the writer and
// closes both pools. Writes asked for later fail.
func (db *DB) Close() error {
	if db.wr != nil {
		db.wr.close()
	}
	if db.ck != nil {
		db.ck.close()
	}
	if db.wp != nil {
		db.wp.close()
		db.rp.close()
	}
	var rerr error
	if db.r != nil {
		rerr = db.r.Close()
	}
	return errors.Join(rerr, db.w.Close())
}

// Ping runs a query on the file.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	return db.r.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// CheckWrites implements server.Store: the probe is a write like any other,
// and so commits to the WAL like any other.
func (db *DB) CheckWrites(ctx context.Context, now time.Time) error {
	return db.probe.Check(ctx, now, func(ctx context.Context) error {
		if _, err := db.exec(ctx, `UPDATE heartbeat SET at = ?, probes = probes + 1 WHERE id = 1`, nanos(now)); err != nil {
			return fmt.Errorf("sqlite: write probe: %w", err)
		}
		return nil
	})
}

// ownerOnly creates the database file at path, empty, with mode 0600 if
// there is none, and takes group and other permissions away from the file
// and its -wal and -shm where it finds them, with a warning. On Windows,
// where modes are only a read-only flag (the folders' ACLs decide who
// reads), it only creates the file.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, mode&^0o077); err != nil {
			return err
		}
		slog.Warn("sqlite: the database file was open to other users; it is now the owner's only",
			"file", p, "mode_was", fmt.Sprintf("%04o", mode), "mode", fmt.Sprintf("%04o", mode&^0o077))
	}
	return nil
}

// quickCheck runs PRAGMA quick_check and fails, naming the file at path,
// unless SQLite finds the file sound.
func (db *DB) quickCheck(ctx context.Context, path string) error {
	rows, err := db.w.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return fmt.Errorf("sqlite: %s cannot be read as a database: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("sqlite: %s: integrity check: %w", path, err)
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, strings.ReplaceAll(line, "\n", " "))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: %s is damaged (integrity check: %w); restore it from a backup", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("sqlite: %s is damaged (integrity check: %s); restore it from a backup", path, strings.Join(problems, "; "))
	}
	return nil
}

// migrate runs, in name order, each embedded migration not yet recorded in
// schema_migrations, each in its own transaction together with its record.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateOne(ctx, name); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, name string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// nanos stores a time as Unix nanoseconds, the zero time as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos' inverse, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// notFound maps sql.ErrNoRows to server.ErrNotFound, wraps any other error
// and returns nil for nil.
func notFound(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return server.Errorf(server.CodeNotFound, "no such %s", what)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint
// failure, by the driver's extended result code.
func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
