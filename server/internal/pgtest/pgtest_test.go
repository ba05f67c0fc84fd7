package pgtest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// Each Start is a database of its own, empty, and dropped after its test.
func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		first = Start(t)
		conn, err := pgx.Connect(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `CREATE TABLE mine (x int)`); err != nil {
			t.Fatal(err)
		}
	})
	second := Start(t)
	if second == first {
		t.Fatalf("two Starts gave the same database %s", first)
	}
	conn, err := pgx.Connect(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'mine'`).Scan(&n)
	if n != 0 {
		t.Fatal("a new database holds another test's table")
	}
	u, _ := url.Parse(first)
	name := strings.TrimPrefix(u.Path, "/")
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the first test's database %s is still there (%d, %v)", name, n, err)
	}
}

// Without the binaries the test is skipped, unless CI asks for PostgreSQL:
// then it fails.
func TestMissingBinaries(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv(BinEnv, "")
	old := debianBins
	debianBins = filepath.Join(empty, "*", "bin")
	defer func() { debianBins = old }()
	_, err := findBin()
	if err == nil {
		t.Fatal("findBin found binaries in an empty PATH")
	}
	t.Setenv(RequireEnv, "")
	if !skippable(err) {
		t.Errorf("missing binaries, %s unset: not a skip", RequireEnv)
	}
	t.Setenv(RequireEnv, "1")
	if skippable(err) {
		t.Errorf("missing binaries, %s set: a skip, want a failure", RequireEnv)
	}
}

// QRLOGIN_PG_BIN comes first.
func TestBinEnvFirst(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"initdb", "postgres"} {
		os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755)
	}
	t.Setenv(BinEnv, dir)
	if got, err := findBin(); err != nil || got != dir {
		t.Fatalf("findBin: %s %v, want %s", got, err, dir)
	}
}
