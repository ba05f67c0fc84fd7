package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Settings are the choices the window keeps in the data folder.
type Settings struct {
	// ServerURL is the remote server's base URL; empty for the embedded one.
	ServerURL string `json:"server_url,omitempty"`
}

// settingsFile is the settings' file in the data folder.
const settingsFile = "settings.json"

// LoadSettings reads the settings of data folder dir; none saved is the zero
// Settings.
func LoadSettings(dir string) (Settings, error) {
	var s Settings
	data, err := os.ReadFile(filepath.Join(dir, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", settingsFile, err)
	}
	return s, nil
}

// SaveSettings writes the settings of data folder dir.
func SaveSettings(dir string, s Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, settingsFile), append(data, '\n'), 0o600)
}

// NormalizeServerURL checks a server's base URL as a person typed it and
// returns it without a trailing slash. It must be http(s) with a host, and
// carry no query, fragment or credentials.
func NormalizeServerURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not a server address: want http(s)://host[:port]", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: a server address has no user, query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
