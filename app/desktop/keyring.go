package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/zalando/go-keyring"
)

// keyringService is the service name of the session in the OS keyring.
const keyringService = "qrlogin-desktop"

// keyringTimeout bounds a keyring call: a secret service that waits for a
// person to unlock it must not hang the app.
const keyringTimeout = 3 * time.Second

// KeyringVault keeps the session in the OS keyring (the Secret Service on
// Linux, the Keychain on macOS, the Credential Manager on Windows) under
// keyringService and User. Its errors other than ErrNoSession mean that
// there is no usable keyring.
type KeyringVault struct {
	User string
}

// Load implements Vault.
func (k KeyringVault) Load() (Saved, error) {
	var data string
	err := withTimeout(func() (err error) {
		data, err = keyring.Get(keyringService, k.User)
		return err
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return Saved{}, ErrNoSession
	}
	if err != nil {
		return Saved{}, err
	}
	return decodeSaved([]byte(data))
}

// Save implements Vault.
func (k KeyringVault) Save(s Saved) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return withTimeout(func() error { return keyring.Set(keyringService, k.User, string(data)) })
}

// Clear implements Vault.
func (k KeyringVault) Clear() error {
	err := withTimeout(func() error { return keyring.Delete(keyringService, k.User) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// withTimeout runs fn and gives up waiting after keyringTimeout (fn goes on
// in the background: the keyring API cannot be interrupted).
func withTimeout(fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(keyringTimeout):
		return fmt.Errorf("the keyring did not answer within %v", keyringTimeout)
	}
}

// SecureVault keeps the session in the OS keyring where there is one, and
// otherwise in a 0600 file. Where both hold something, the file wins, so
// that a token the keyring could not be made to forget is never used:
//
//   - Save puts the session in the keyring, then removes the file; if the
//     keyring fails, it puts the session in the file, which overrides any
//     older token left in the keyring.
//   - Clear deletes the keyring's entry, then removes the file; if the
//     keyring fails, it replaces the file's content with a log-out mark,
//     which overrides the token left in the keyring.
//   - Load returns the file's session if there is one, else nothing if the
//     file holds a log-out mark (deleting the keyring's entry, and then the
//     mark, if the keyring answers), else the keyring's session.
//
// A keyring entry is thus read only when there is no file, and the file is
// removed only once the keyring has taken the new state (or by a Clear that
// could reach neither, which says so).
//
// The first failure of the keyring is logged as a warning naming the file
// and the keyring's error, later ones at debug level: once per process, as
// the app makes one SecureVault.
type SecureVault struct {
	Keyring Vault
	File    FileVault
	Log     *slog.Logger

	warned atomic.Bool // the keyring's failure was logged as a warning
}

// NewSecureVault returns the store of the data folder dir: the keyring entry
// named after dir, and dir/session.json.
func NewSecureVault(dir string, log *slog.Logger) *SecureVault {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &SecureVault{
		Keyring: KeyringVault{User: dir},
		File:    FileVault{Path: filepath.Join(dir, "session.json")},
		Log:     log,
	}
}

// Load implements Vault: the file's session, else none if the file holds a
// log-out mark, else the keyring's session. An unreadable file is an error,
// and the keyring is not read. A keyring that fails holds no session.
func (s *SecureVault) Load() (Saved, error) {
	saved, err := s.File.Load()
	switch {
	case errors.Is(err, errLoggedOut):
		s.forgetKeyring()
		return Saved{}, ErrNoSession
	case !errors.Is(err, ErrNoSession):
		return saved, err
	}
	saved, err = s.Keyring.Load()
	if err != nil && !errors.Is(err, ErrNoSession) {
		s.keyringFailed(err)
		return Saved{}, ErrNoSession
	}
	return saved, err
}

// Save implements Vault: to the keyring, then the file is removed; else to
// the file.
func (s *SecureVault) Save(saved Saved) error {
	err := s.Keyring.Save(saved)
	if err == nil {
		return s.File.Clear()
	}
	s.keyringFailed(err)
	return s.File.Save(saved)
}

// Clear implements Vault: it deletes the keyring's entry and removes the
// file; if the keyring fails, it puts a log-out mark in the file instead.
// Either way, once it returns nil, Load finds no session until the next
// Save, whether the keyring answers then or not. If the mark cannot be
// written, it still removes the file, and returns the errors.
func (s *SecureVault) Clear() error {
	kerr := s.Keyring.Clear()
	if kerr == nil {
		return s.File.Clear()
	}
	s.keyringFailed(kerr)
	if err := s.File.markLoggedOut(); err != nil {
		return errors.Join(fmt.Errorf("keyring: %w", kerr), fmt.Errorf("log-out mark: %w", err), s.File.Clear())
	}
	return nil
}

// forgetKeyring deletes the keyring's entry, which a log-out mark in the
// file overrides, and then the mark. If the keyring fails, both stay.
func (s *SecureVault) forgetKeyring() {
	if err := s.Keyring.Clear(); err != nil {
		s.keyringFailed(err)
		return
	}
	if err := s.File.Clear(); err != nil {
		s.Log.Warn("the log-out mark could not be removed", "file", s.File.Path, "err", err)
	}
}

// keyringFailed logs err, the keyring's: as a warning the first time.
func (s *SecureVault) keyringFailed(err error) {
	if s.warned.CompareAndSwap(false, true) {
		s.Log.Warn("the OS keyring is unavailable: using the session file instead", "file", s.File.Path, "err", err)
		return
	}
	s.Log.Debug("the OS keyring is unavailable", "err", err)
}
