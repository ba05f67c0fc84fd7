package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"qrlogin/server/api"
)

// ErrNoSession is returned by Store.Load when no session is saved.
var ErrNoSession = errors.New("no saved session")

// Saved is a desktop session kept across restarts. Token is the session's
// bearer: a secret that is never logged.
type Saved struct {
	// Server names where the token is good: ModeEmbedded for the embedded
	// server (whose port changes at every start, whose database does not),
	// else the remote server's base URL.
	Server     string            `json:"server"`
	Token      string            `json:"token"`
	User       api.User          `json:"user"`
	Device     api.DesktopDevice `json:"device"`
	SignedInAt time.Time         `json:"signed_in_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

// Store keeps at most one Saved session. Implementations are safe for
// concurrent use.
type Store interface {
	// Load returns the saved session, or ErrNoSession.
	Load() (Saved, error)
	// Save replaces the saved session.
	Save(Saved) error
	// Clear forgets the saved session; clearing an empty store is no error.
	Clear() error
}

// FileStore keeps the session in a JSON file that only its owner may read
// (0600), in a folder that only its owner may open (0700).
type FileStore struct {
	Path string
}

// Load implements Store.
func (f FileStore) Load() (Saved, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return Saved{}, ErrNoSession
	}
	if err != nil {
		return Saved{}, err
	}
	return decodeSaved(data)
}

// Save implements Store. It writes a temporary file and renames it, so that
// a crash leaves the old session or the new one, never half of one.
func (f FileStore) Save(s Saved) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".session-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}

// Clear implements Store.
func (f FileStore) Clear() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// decodeSaved parses a saved session; one without a token is corrupt.
func decodeSaved(data []byte) (Saved, error) {
	var s Saved
	if err := json.Unmarshal(data, &s); err != nil {
		return Saved{}, fmt.Errorf("saved session unreadable: %w", err)
	}
	if s.Token == "" || s.Server == "" {
		return Saved{}, errors.New("saved session unreadable: no token or server")
	}
	return s, nil
}
