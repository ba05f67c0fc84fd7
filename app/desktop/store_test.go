package desktop

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func sample() Saved {
	return Saved{Server: ModeEmbedded, Token: "tok", SignedInAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := FileStore{Path: filepath.Join(dir, "session.json")}
	if _, err := f.Load(); !errors.Is(err, ErrNoSession) {
		t.Fatalf("empty store: %v, want ErrNoSession", err)
	}
	if err := f.Save(sample()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{f.Path: 0o600, dir: 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
	got, err := f.Load()
	if err != nil || got != sample() {
		t.Errorf("Load = %+v, %v", got, err)
	}
	if err := f.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := f.Clear(); err != nil {
		t.Errorf("clearing an empty store: %v", err)
	}
	if _, err := f.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after Clear: %v", err)
	}
}

// A corrupt file is an error, not a session with an empty token.
func TestFileStoreCorrupt(t *testing.T) {
	f := FileStore{Path: filepath.Join(t.TempDir(), "session.json")}
	for _, body := range []string{"{", `{"server":"embedded"}`} {
		os.WriteFile(f.Path, []byte(body), 0o600)
		if _, err := f.Load(); err == nil || errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Load = %v, want a read error", body, err)
		}
	}
}

// Where there is a keyring, the token goes there and not to the file.
func TestSecureStoreUsesKeyring(t *testing.T) {
	keyring.MockInit()
	t.Cleanup(noKeyring)
	dir := t.TempDir()
	s := NewSecureStore(dir, testLog(t))
	file := filepath.Join(dir, "session.json")
	os.WriteFile(file, []byte(`{"server":"embedded","token":"old"}`), 0o600)
	if err := s.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file copy is still there (%v)", err)
	}
	if got, err := s.Load(); err != nil || got != sample() {
		t.Errorf("Load = %+v, %v", got, err)
	}
	if got, err := (KeyringStore{User: dir}).Load(); err != nil || got.Token != "tok" {
		t.Errorf("keyring holds %+v, %v", got, err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after Clear: %v", err)
	}
}

// Without a keyring (Xvfb, CI: no Secret Service) the file is used, silently.
func TestSecureStoreFallsBackToFile(t *testing.T) {
	keyring.MockInitWithError(errors.New("no secret service"))
	dir := t.TempDir()
	s := NewSecureStore(dir, testLog(t))
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Fatalf("empty: %v", err)
	}
	if err := s.Save(sample()); err != nil {
		t.Fatalf("Save without a keyring: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "session.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v, %v", fi, err)
	}
	if got, err := s.Load(); err != nil || got != sample() {
		t.Errorf("Load = %+v, %v", got, err)
	}
	if err := s.Clear(); err != nil {
		t.Errorf("Clear without a keyring: %v", err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after Clear: %v", err)
	}
}
