package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/qrlogin/qrlogin/server/api"
)

// homeEnv overrides the folder of the profile files (for tests).
const homeEnv = "QRLOGIN_MOBILE_SIM_HOME"

// profileName is what a -profile may be: a file name, nothing that climbs
// out of the folder.
var profileName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// Profile is one simulated phone: its device id, generated once, and, while
// logged in, its device token, the server it logged in to and the account.
// The file holding it is readable by its owner only (0600): the token is a
// credential.
type Profile struct {
	DeviceID    string   `json:"device_id"`
	Server      string   `json:"server,omitempty"`
	DeviceToken string   `json:"device_token,omitempty"`
	User        api.User `json:"user"`

	path string
}

// LoggedIn reports whether the profile holds a device token.
func (p *Profile) LoggedIn() bool { return p.DeviceToken != "" }

// profileDir returns the folder of the profile files:
// $QRLOGIN_MOBILE_SIM_HOME, else os.UserConfigDir()/qrlogin-mobile-sim.
func profileDir() (string, error) {
	if d := os.Getenv(homeEnv); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no folder for profiles (set %s): %w", homeEnv, err)
	}
	return filepath.Join(d, "qrlogin-mobile-sim"), nil
}

// loadProfile reads the profile called name. A profile never saved comes
// back with a new random device id, which Save keeps from then on.
func loadProfile(name string) (*Profile, error) {
	if !profileName.MatchString(name) {
		return nil, fmt.Errorf("bad profile name %q: use letters, digits, '.', '_' and '-'", name)
	}
	dir, err := profileDir()
	if err != nil {
		return nil, err
	}
	p := &Profile{path: filepath.Join(dir, name+".json")}
	data, err := os.ReadFile(p.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading profile: %w", err)
	default:
		if err := json.Unmarshal(data, p); err != nil {
			return nil, fmt.Errorf("profile %s is damaged: %v", p.path, err)
		}
	}
	if p.DeviceID == "" {
		p.DeviceID = newDeviceID()
	}
	return p, nil
}

// Save writes the profile atomically, in a 0700 folder, as a 0600 file.
func (p *Profile) Save() error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(p.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	f, err := os.CreateTemp(dir, ".profile-*") // created 0600
	if err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), p.path)
	}
	if err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	return nil
}

// newDeviceID returns 128 random bits, base64url without padding.
func newDeviceID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b)
}
