package desktop

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/zalando/go-keyring"

	"github.com/qrlogin/qrlogin/server/dpop"
)

// keyKeyringService is the service name of the desktop's key in the OS
// keyring: an entry apart from the session's, which a log-out deletes.
const keyKeyringService = "qrlogin-desktop-key"

// keyFile is the name of the key's file in the data folder, where there is
// no keyring.
const keyFile = "dpop-key.pem"

// KeyStore keeps the desktop's DPoP key (see client.WithDPoP): the P-256
// key that the desktop's sessions are bound to, so that a session token
// copied out of the keyring or the session file is worthless without it.
// The key is made once and kept for good, across log-outs: it names this
// desktop. It is kept as SecureVault keeps the session: in the OS keyring
// (service keyKeyringService, user the data folder's path) where there is
// one, else in a 0600 file, and where both hold one the file wins. Both
// hold a PEM block "PRIVATE KEY" (PKCS #8).
type KeyStore struct {
	// User names the keyring entry: the data folder's absolute path.
	User string
	// File is the key's file where there is no keyring.
	File string
	Log  *slog.Logger
}

// NewKeyStore returns the key store of the data folder dir: the keyring
// entry named after dir, and dir/dpop-key.pem.
func NewKeyStore(dir string, log *slog.Logger) *KeyStore {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &KeyStore{User: dir, File: filepath.Join(dir, keyFile), Log: log}
}

// Key returns the desktop's key: the file's, else the keyring's. Where
// neither holds one, it makes one and keeps it in the keyring, else in the
// file. A key that cannot be read (a damaged file or entry) is replaced by
// a new one, with a warning: the sessions bound to it are lost either way.
// A key that cannot be kept anywhere is still returned, with a warning:
// the sessions bound to it then end with this run. It fails only when no
// key can be made.
func (k *KeyStore) Key() (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(k.File)
	switch {
	case err == nil:
		key, err := decodeKey(data)
		if err == nil {
			return key, nil
		}
		k.Log.Warn("the DPoP key's file is unreadable: making a new key", "file", k.File, "err", err)
		return k.newKey(keepInKeyring)
	case !errors.Is(err, os.ErrNotExist):
		k.Log.Warn("the DPoP key's file is unreadable: using a new key for this run", "file", k.File, "err", err)
		return k.newKey(keepNowhere)
	}
	var entry string
	err = withTimeout(func() (err error) {
		entry, err = keyring.Get(keyKeyringService, k.User)
		return err
	})
	switch {
	case err == nil:
		key, err := decodeKey([]byte(entry))
		if err == nil {
			return key, nil
		}
		k.Log.Warn("the DPoP key in the keyring is unreadable: making a new key", "err", err)
	case errors.Is(err, keyring.ErrNotFound):
	default:
		k.Log.Warn("the OS keyring is unavailable: the DPoP key is kept in a file instead", "file", k.File, "err", err)
		return k.newKey(keepInFile)
	}
	return k.newKey(keepInKeyring)
}

// keepIn says where newKey keeps the key it makes.
type keepIn int

const (
	keepNowhere   keepIn = iota // for this run only
	keepInFile                  // in the file
	keepInKeyring               // in the keyring, else in the file
)

// newKey makes a key and keeps it where keep says. Kept in the keyring, it
// removes the file, which would override it. A key that cannot be kept is
// returned all the same, with a warning.
func (k *KeyStore) newKey(keep keepIn) (*ecdsa.PrivateKey, error) {
	key, err := dpop.NewKey()
	if err != nil {
		return nil, fmt.Errorf("making the DPoP key: %w", err)
	}
	if keep == keepNowhere {
		return key, nil
	}
	data, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	if keep == keepInKeyring {
		err := withTimeout(func() error { return keyring.Set(keyKeyringService, k.User, string(data)) })
		if err == nil {
			if err := os.Remove(k.File); err != nil && !errors.Is(err, os.ErrNotExist) {
				k.Log.Warn("the DPoP key's old file could not be removed", "file", k.File, "err", err)
			}
			return key, nil
		}
		k.Log.Warn("the DPoP key could not be put in the OS keyring: it is kept in a file instead", "file", k.File, "err", err)
	}
	if err := writePrivate(k.File, data); err != nil {
		k.Log.Warn("the DPoP key could not be kept: the sessions bound to it end with this run", "file", k.File, "err", err)
	}
	return key, nil
}

// encodeKey returns key as a PEM "PRIVATE KEY" block (PKCS #8).
func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the DPoP key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// decodeKey parses a PEM "PRIVATE KEY" block holding a P-256 key.
func decodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve.Params().Name != "P-256" {
		return nil, errors.New("not a P-256 key")
	}
	return key, nil
}
