package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/zalando/go-keyring"
)

// keyringService is the service name of the session in the OS keyring.
const keyringService = "qrlogin-desktop"

// keyringTimeout bounds a keyring call: a secret service that waits for a
// person to unlock it must not hang the app.
const keyringTimeout = 3 * time.Second

// KeyringStore keeps the session in the OS keyring (the Secret Service on
// Linux, the Keychain on macOS, the Credential Manager on Windows) under
// keyringService and User. Its errors other than ErrNoSession mean that
// there is no usable keyring.
type KeyringStore struct {
	User string
}

// Load implements Store.
func (k KeyringStore) Load() (Saved, error) {
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

// Save implements Store.
func (k KeyringStore) Save(s Saved) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return withTimeout(func() error { return keyring.Set(keyringService, k.User, string(data)) })
}

// Clear implements Store.
func (k KeyringStore) Clear() error {
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

// SecureStore keeps the session in the OS keyring where there is one, and
// otherwise, silently (under Xvfb or CI there is no Secret Service), in a
// 0600 file. A session saved to the keyring removes any file copy, so that
// the token is kept in one place.
type SecureStore struct {
	Keyring Store
	File    Store
	Log     *slog.Logger
}

// NewSecureStore returns the store of the data folder dir: the keyring entry
// named after dir, else dir/session.json.
func NewSecureStore(dir string, log *slog.Logger) *SecureStore {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &SecureStore{
		Keyring: KeyringStore{User: dir},
		File:    FileStore{Path: filepath.Join(dir, "session.json")},
		Log:     log,
	}
}

// Load implements Store: the keyring's session, else the file's.
func (s *SecureStore) Load() (Saved, error) {
	saved, err := s.Keyring.Load()
	if err == nil {
		return saved, nil
	}
	if !errors.Is(err, ErrNoSession) {
		s.Log.Debug("keyring unavailable; reading the session file", "err", err)
	}
	return s.File.Load()
}

// Save implements Store: to the keyring, else to the file.
func (s *SecureStore) Save(saved Saved) error {
	err := s.Keyring.Save(saved)
	if err == nil {
		return s.File.Clear()
	}
	s.Log.Debug("keyring unavailable; keeping the session in a file", "err", err)
	return s.File.Save(saved)
}

// Clear implements Store: both places. A keyring that is not there holds
// nothing to clear.
func (s *SecureStore) Clear() error {
	if err := s.Keyring.Clear(); err != nil {
		s.Log.Debug("keyring unavailable", "err", err)
	}
	return s.File.Clear()
}
