package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"qrlogin/server"
	"qrlogin/server/storetest"
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
