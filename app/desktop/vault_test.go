package desktop

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func sample() Saved {
	return Saved{Server: ModeEmbedded, Token: "tok", SignedInAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestFileVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := FileVault{Path: filepath.Join(dir, "session.json")}
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
func TestFileVaultCorrupt(t *testing.T) {
	f := FileVault{Path: filepath.Join(t.TempDir(), "session.json")}
	for _, body := range []string{"{", `{"server":"embedded"}`} {
		os.WriteFile(f.Path, []byte(body), 0o600)
		if _, err := f.Load(); err == nil || errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Load = %v, want a read error", body, err)
		}
	}
}

// Where there is a keyring, the token goes there and not to the file.
func TestSecureVaultUsesKeyring(t *testing.T) {
	keyring.MockInit()
	t.Cleanup(noKeyring)
	dir := t.TempDir()
	s := NewSecureVault(dir, testLog(t))
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
	if got, err := (KeyringVault{User: dir}).Load(); err != nil || got.Token != "tok" {
		t.Errorf("keyring holds %+v, %v", got, err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("after Clear: %v", err)
	}
}

// Without a keyring (Xvfb, CI: no Secret Service) the file is used.
func TestSecureVaultFallsBackToFile(t *testing.T) {
	keyring.MockInitWithError(errors.New("no secret service"))
	dir := t.TempDir()
	s := NewSecureVault(dir, testLog(t))
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

// errKeyring is the fake keyring's failure.
var errKeyring = errors.New("org.freedesktop.secrets was not provided by any .service files")

// fakeKeyring is a keyring in memory whose calls fail on demand: a Load,
// Save or Clear fails with loadErr, saveErr or clearErr when it is set.
type fakeKeyring struct {
	mu                         sync.Mutex
	saved                      *Saved
	loadErr, saveErr, clearErr error
}

// failAll makes every call fail with err, or none if err is nil.
func (k *fakeKeyring) failAll(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loadErr, k.saveErr, k.clearErr = err, err, err
}

// failClear makes Clear fail with err, or not if err is nil.
func (k *fakeKeyring) failClear(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.clearErr = err
}

// holds returns the entry's token, or "" if there is none.
func (k *fakeKeyring) holds() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.saved == nil {
		return ""
	}
	return k.saved.Token
}

func (k *fakeKeyring) Load() (Saved, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.loadErr != nil:
		return Saved{}, k.loadErr
	case k.saved == nil:
		return Saved{}, ErrNoSession
	}
	return *k.saved, nil
}

func (k *fakeKeyring) Save(s Saved) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.saveErr != nil {
		return k.saveErr
	}
	k.saved = &s
	return nil
}

func (k *fakeKeyring) Clear() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.clearErr != nil {
		return k.clearErr
	}
	k.saved = nil
	return nil
}

// debugLogger logs to b at debug level.
func debugLogger(b *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// linesAt returns the lines of b logged at level ("WARN", "DEBUG"...).
func linesAt(b *syncBuffer, level string) []string {
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(l, " level="+level+" ") {
			out = append(out, l)
		}
	}
	return out
}

// secureVault is the store of data folder dir with keyring kr, as
// NewSecureVault makes it with the OS keyring: a new one on the same dir and
// kr is the app started again.
func secureVault(dir string, kr Vault, log *slog.Logger) *SecureVault {
	return &SecureVault{Keyring: kr, File: FileVault{Path: filepath.Join(dir, "session.json")}, Log: log}
}

// token returns the token of the session s holds, or "" if none.
func token(t *testing.T, s Vault) string {
	t.Helper()
	saved, err := s.Load()
	if errors.Is(err, ErrNoSession) {
		return ""
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return saved.Token
}

// fileHolds reports whether the file at path holds the token tok.
func fileHolds(t *testing.T, path, tok string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, []byte(tok))
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

// A log-out while the keyring cannot be reached leaves the token in it; the
// next start, with the keyring back, must not sign in with it, and deletes it.
func TestLogoutWhileKeyringFails(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "session.json")
	kr := &fakeKeyring{}
	s := secureVault(dir, kr, testLog(t))
	if err := s.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if kr.holds() != "tok" || fileHolds(t, file, "tok") {
		t.Fatalf("saved with a keyring: keyring %q, file holds it %v", kr.holds(), fileHolds(t, file, "tok"))
	}

	kr.failAll(errKeyring)
	if err := s.Clear(); err != nil {
		t.Errorf("log-out without the keyring: %v", err)
	}
	if got := token(t, s); got != "" {
		t.Errorf("after the log-out the store loads %q", got)
	}
	if fileHolds(t, file, "tok") {
		t.Error("the file holds the token")
	}
	if _, err := os.Stat(file); err == nil {
		checkMode(t, file, 0o600)
	}

	kr.failAll(nil)
	restarted := secureVault(dir, kr, testLog(t))
	if got := token(t, restarted); got != "" {
		t.Fatalf("restarted after a log-out, the store loads %q from the keyring", got)
	}
	if kr.holds() != "" {
		t.Errorf("the keyring still holds %q once it answers", kr.holds())
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the log-out mark outlived the keyring's entry (%v)", err)
	}
	if got := token(t, restarted); got != "" {
		t.Errorf("loaded again: %q", got)
	}
}

// After a log-out that could not reach the keyring, a log-in while the
// keyring still fails goes to the file; the stale token left in the keyring
// is not used once it answers again, and the next log-out deletes it.
func TestStaleKeyringTokenAfterFileLogin(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "session.json")
	kr := &fakeKeyring{}
	s := secureVault(dir, kr, testLog(t))
	if err := s.Save(Saved{Server: ModeEmbedded, Token: "stale"}); err != nil {
		t.Fatal(err)
	}
	kr.failAll(errKeyring)
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(Saved{Server: ModeEmbedded, Token: "fresh"}); err != nil {
		t.Fatal(err)
	}

	kr.failAll(nil)
	restarted := secureVault(dir, kr, testLog(t))
	if got := token(t, restarted); got != "fresh" {
		t.Fatalf("restarted with the keyring back, the store loads %q, want the file's %q", got, "fresh")
	}
	if err := restarted.Clear(); err != nil {
		t.Fatal(err)
	}
	if kr.holds() != "" || fileHolds(t, file, "fresh") {
		t.Errorf("after the log-out: keyring %q, file holds the token %v", kr.holds(), fileHolds(t, file, "fresh"))
	}
	if got := token(t, secureVault(dir, kr, testLog(t))); got != "" {
		t.Errorf("restarted after the log-out, the store loads %q", got)
	}
}

// Without a keyring the session goes to a 0600 file, and that is said once,
// as a warning that names the file and the keyring's error, never the token.
func TestKeyringFallbackWarnsOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(dir, "session.json")
	kr := &fakeKeyring{}
	kr.failAll(errKeyring)
	var logs syncBuffer
	s := secureVault(dir, kr, debugLogger(&logs))
	tokens := []string{"secret-1", "secret-2", "secret-3"}
	for _, tok := range tokens {
		if err := s.Save(Saved{Server: ModeEmbedded, Token: tok}); err != nil {
			t.Fatalf("Save without a keyring: %v", err)
		}
		if got := token(t, s); got != tok {
			t.Fatalf("Load = %q, want %q", got, tok)
		}
	}
	if !fileHolds(t, file, "secret-3") {
		t.Fatal("the session is not in the file")
	}
	checkMode(t, file, 0o600)
	checkMode(t, dir, 0o700|os.ModeDir)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the data folder holds %v, want session.json only", entries)
	}

	warns := linesAt(&logs, "WARN")
	if len(warns) != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", len(warns), logs.String())
	}
	for _, want := range []string{file, errKeyring.Error()} {
		if !strings.Contains(warns[0], want) {
			t.Errorf("the warning %q does not say %q", warns[0], want)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log holds the token %q:\n%s", tok, logs.String())
		}
	}
}

// A log-out clears both places when both hold a token, whether the keyring
// answers or not; meanwhile the file's token, the newer, is the one loaded.
func TestLogoutClearsKeyringAndFile(t *testing.T) {
	for _, keyringFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "keyring", true: "keyring fails"}[keyringFails], func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "session.json")
			kr := &fakeKeyring{saved: &Saved{Server: ModeEmbedded, Token: "in-keyring"}}
			if err := (FileVault{Path: file}).Save(Saved{Server: ModeEmbedded, Token: "in-file"}); err != nil {
				t.Fatal(err)
			}
			s := secureVault(dir, kr, testLog(t))
			if got := token(t, s); got != "in-file" {
				t.Errorf("Load = %q, want the file's", got)
			}
			if keyringFails {
				kr.failClear(errKeyring)
			}
			if err := s.Clear(); err != nil {
				t.Fatalf("Clear: %v", err)
			}
			if fileHolds(t, file, "in-file") {
				t.Error("the file still holds its token")
			}
			if got := token(t, s); got != "" {
				t.Errorf("after Clear the store loads %q", got)
			}
			kr.failClear(nil)
			if got := token(t, secureVault(dir, kr, testLog(t))); got != "" {
				t.Errorf("restarted after Clear, the store loads %q", got)
			}
			if kr.holds() != "" {
				t.Errorf("the keyring still holds %q", kr.holds())
			}
			if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the file is still there (%v)", err)
			}
		})
	}
}
