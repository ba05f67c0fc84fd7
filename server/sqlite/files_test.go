//go:build unix

package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qrlogin/qrlogin/server"
)

// wantMode fails the test unless the file at p exists with permissions
// want.
func wantMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", p, got, want)
	}
}

// A new database, its -wal and -shm and the folder made for them are the
// owner's only, whatever the umask lets through (the file holds password
// hashes and the signing key).
func TestNewFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "qrlogin.db")
	db := mustOpen(t, path)
	if err := db.CreateUser(context.Background(), server.User{ID: "u1", Username: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	wantMode(t, dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
}

// Files found open to other users are tightened at open, with a warning
// that names each.
func TestLooseFilesTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	db := mustOpen(t, path)
	if err := db.CreateUser(context.Background(), server.User{ID: "u1", Username: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close() // the last connection checkpoints and removes -wal and -shm
	for p, mode := range map[string]os.FileMode{path: 0o644, path + "-wal": 0o666, path + "-shm": 0o640} {
		if p != path {
			if err := os.WriteFile(p, nil, mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))

	db = mustOpen(t, path)
	if _, err := db.UserByID(context.Background(), "u1"); err != nil {
		t.Fatalf("the data did not survive: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "file="+p+" ") {
			t.Errorf("no warning names %s:\n%s", p, logs.String())
		}
	}
}

// A file damaged in the middle is refused at open, with an error that
// names it.
func TestDamagedFileRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	db := mustOpen(t, path)
	for i := range 2000 {
		u := server.User{ID: fmt.Sprint("user-", i), Username: fmt.Sprint("user", i), DisplayName: strings.Repeat("n", 40), PasswordHash: strings.Repeat("h", 80)}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if fi.Size() < 20*page {
		t.Fatalf("the database has only %d bytes", fi.Size())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, page), fi.Size()/2/page*page); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db, err = Open(ctx, path)
	if err == nil {
		db.Close()
		t.Fatal("a damaged database was opened")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("the error does not name the file: %v", err)
	}
	t.Log(err)
}
