// Package postgres is the server's Store on PostgreSQL (pgx, through a
// connection pool), for several server nodes sharing one database.
//
// Every state move is one transaction at READ COMMITTED. UpdateTicket
// holds no lock between its read and its write: it reads the ticket, runs
// the updater, and its UPDATE compares and swaps the version; one that
// finds another version reads again and runs the updater on what the
// winner stored (update.go), so that of racing updates exactly one wins
// each version and the others see its result, as on SQLite. A lost race
// that PostgreSQL reports instead (a serialization failure or deadlock, or a
// unique key taken meanwhile) is server.ErrConflict.
//
// Times are stored to the microsecond, PostgreSQL's precision, and read back
// in UTC: a time's nanoseconds below the microsecond are dropped on write.
// Text columns hold only valid UTF-8 without NUL; free text that is not
// (a User-Agent header cut mid-character) is stored with U+FFFD in place of
// the bad bytes, and a lookup by such a key finds nothing.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/internal/writeprobe"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the key of the transaction-level advisory lock that
// every migration step takes, so that nodes starting at once run each
// migration once, one after another. Advisory locks are per database.
const migrationLock int64 = 0x71726c6f67696e // "qrlogin"

// DefaultMaxConns is a node's pool size unless the DSN sets
// pool_max_conns. With fsync on, a commit waits for the WAL flush; while it
// waits, its connection is held, so a node needs more connections than
// cores (pgx's own default, max(4, cores), queued commits at 300 logins/s:
// docs/benchmarks.md).
const DefaultMaxConns = 16

// DB is a server.Store on a PostgreSQL database.
type DB struct {
	pool  *pgxpool.Pool
	probe writeprobe.Probe
}

var _ server.Store = (*DB)(nil)

// Open connects to the database that dsn names (a postgres:// URL or
// key=value pairs, as pgx parses them; pool_max_conns and the like may be
// given there, and pool_max_conns is DefaultMaxConns when not) and runs the
// migrations it has not run yet. Several processes may open one database at
// once.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgx leaves the password out
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// CheckWrites implements server.Store. Each node probes on its own; the
// heartbeat row is shared, and a probe waits for another node's only as
// long as that one's commit takes.
func (db *DB) CheckWrites(ctx context.Context, now time.Time) error {
	return db.probe.Check(ctx, now, func(ctx context.Context) error {
		if _, err := db.pool.Exec(ctx, `UPDATE heartbeat SET at = $1, probes = probes + 1 WHERE id = 1`, at(now)); err != nil {
			return fmt.Errorf("postgres: write probe: %w", err)
		}
		return nil
	})
}

// migrate runs, in name order, each embedded migration not yet recorded in
// schema_migrations, each in its own transaction together with its record
// and under the migration lock.
func (db *DB) migrate(ctx context.Context) error {
	// CREATE TABLE IF NOT EXISTS is not safe against itself when run at
	// once: it too waits for the lock.
	err := db.migrationStep(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		err := db.migrationStep(ctx, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil || done {
				return err
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			// Exec without arguments sends the file as one simple-protocol
			// query, which may hold several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	return nil
}

// migrationStep runs fn in a transaction that first takes the migration
// lock, released when it commits or rolls back.
func (db *DB) migrationStep(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// inTx runs fn in a READ COMMITTED transaction and commits if fn returns
// nil. fn's error is returned as it is; the transaction's own are wrapped.
func (db *DB) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return wrap(err, what)
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err, what)
	}
	return nil
}

// wrap maps a database error to the Store's contract: no row is
// server.ErrNotFound; a unique key taken, a serialization failure or a
// deadlock (a lost race) is server.ErrConflict; anything else is wrapped,
// and becomes "internal" for a client, who never sees its text. A
// *server.Error passes as it is, and nil stays nil.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var se *server.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return server.Errorf(server.CodeNotFound, "no such %s", what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return server.Errorf(server.CodeConflict, "the %s already exists", what)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return server.Errorf(server.CodeConflict, "the %s changed meanwhile", what)
		}
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// notFound is the error of a lookup by a key that no row can hold.
func notFound(what string) error {
	return server.Errorf(server.CodeNotFound, "no such %s", what)
}

// storable reports whether s fits a text column: valid UTF-8 without NUL.
// A key that is not cannot name a row, and is looked up no further (the
// query would fail).
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// text returns s as a text column can hold it: each invalid byte sequence
// and NUL becomes U+FFFD. Valid text is returned unchanged.
func text(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// at is a time as a column that is always set stores it: to the
// microsecond, truncated (pgx's binary encoding truncates too, its text
// encoding would round; truncating first makes both agree). The zero time
// stays the zero time (0001-01-01 UTC), which reads back as zero.
func at(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// never is a time as a column that may be unset stores it: the zero time is
// NULL.
func never(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: at(t), Valid: !t.IsZero()}
}

// timeDst scans a timestamptz, NULL or not, into a time.Time in UTC; NULL is
// the zero time.
type timeDst struct{ p *time.Time }

func (d timeDst) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*d.p = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("postgres: infinite time")
	}
	*d.p = v.Time.UTC()
	return nil
}

// tm is a scan destination for a time column.
func tm(p *time.Time) timeDst { return timeDst{p} }

// nullBytes stores an empty hash as NULL, which the unique index allows many
// of.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Pool returns the connection pool, for what shares the database (the
// event bus between nodes).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
