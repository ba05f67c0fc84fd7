package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

// ErrNoSession is returned by Vault.Load when no session is saved.
var ErrNoSession = errors.New("no saved session")

// Saved is a desktop session kept across restarts. Token is the session's
// token, a secret that is never logged; a session redeemed since the
// desktop has a key (see KeyStore) is bound to it, and its token is
// useless without the key.
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

// Vault keeps at most one Saved session. Implementations are safe for
// concurrent use.
type Vault interface {
	// Load returns the saved session, or ErrNoSession.
	Load() (Saved, error)
	// Save replaces the saved session.
	Save(Saved) error
	// Clear forgets the saved session; clearing an empty store is no error.
	Clear() error
}

// FileVault keeps the session in a JSON file that only its owner may read
// (0600), in a folder that only its owner may open (0700). Besides a session
// the file may hold a log-out mark (see SecureVault), which Load reports as
// an error that is ErrNoSession.
type FileVault struct {
	Path string
}

// errLoggedOut is FileVault.Load's error for a log-out mark.
var errLoggedOut = fmt.Errorf("%w: logged out", ErrNoSession)

// loggedOutMark is the file's content after markLoggedOut.
const loggedOutMark = `{"logged_out":true}`

// Load implements Vault. A log-out mark is errLoggedOut, which is
// ErrNoSession.
func (f FileVault) Load() (Saved, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return Saved{}, ErrNoSession
	}
	if err != nil {
		return Saved{}, err
	}
	var mark struct {
		LoggedOut bool `json:"logged_out"`
	}
	if json.Unmarshal(data, &mark) == nil && mark.LoggedOut {
		return Saved{}, errLoggedOut
	}
	return decodeSaved(data)
}

// Save implements Vault.
func (f FileVault) Save(s Saved) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return f.write(data)
}

// markLoggedOut replaces what the file holds with a log-out mark.
func (f FileVault) markLoggedOut() error { return f.write([]byte(loggedOutMark)) }

// write replaces the file's content with data (see writePrivate).
func (f FileVault) write(data []byte) error { return writePrivate(f.Path, data) }

// writePrivate replaces the content of the file at path with data: it
// writes a 0600 temporary file and renames it, so that a crash leaves the
// old content or the new, never half of one, and the file is 0600 whatever
// mode it had. The folder is made 0700 if it does not exist.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
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
	return os.Rename(tmp.Name(), path)
}

// Clear implements Vault: it removes the file, session or log-out mark.
func (f FileVault) Clear() error {
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
