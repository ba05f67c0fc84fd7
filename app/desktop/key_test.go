package desktop

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/node"
)

// Without a keyring the key is a 0600 PEM file in the data folder, the
// same at every start.
func TestKeyStoreFile(t *testing.T) {
	dir := t.TempDir()
	k := NewKeyStore(dir, testLog(t))
	first, err := k.Key()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	again, err := NewKeyStore(dir, testLog(t)).Key()
	if err != nil || !again.Equal(first) {
		t.Errorf("second start: another key (%v)", err)
	}

	// A damaged file is replaced, with a warning, by a key that is kept.
	os.WriteFile(k.File, []byte("not a key"), 0o600)
	var log syncBuffer
	k.Log = slog.New(slog.NewTextHandler(&log, nil))
	fresh, err := k.Key()
	if err != nil || fresh.Equal(first) || !strings.Contains(log.String(), "level=WARN") {
		t.Fatalf("damaged file: Key = %v; log:\n%s", err, log.String())
	}
	if kept, err := k.Key(); err != nil || !kept.Equal(fresh) {
		t.Errorf("the replacement key was not kept (%v)", err)
	}
}

// Where there is a keyring the key goes there, not to a file; a file, where
// there is one, wins over it, as for the session.
func TestKeyStoreKeyring(t *testing.T) {
	keyring.MockInit()
	t.Cleanup(noKeyring)
	dir := t.TempDir()
	k := NewKeyStore(dir, testLog(t))
	first, err := k.Key()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(k.File); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file exists beside the keyring (%v)", err)
	}
	entry, err := keyring.Get(keyKeyringService, k.User)
	if err != nil || !strings.HasPrefix(entry, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("keyring entry %q, %v", entry, err)
	}
	if _, err := keyring.Get(keyringService, k.User); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the key went into the session's entry (%v)", err)
	}
	if again, err := k.Key(); err != nil || !again.Equal(first) {
		t.Errorf("second start: another key (%v)", err)
	}

	other, _ := dpop.NewKey()
	if err := writePrivate(k.File, pemKey(t, other)); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Key(); err != nil || !got.Equal(other) {
		t.Errorf("the file's key did not win over the keyring's (%v)", err)
	}
}

func pemKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	data, err := encodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// meStatus is the status of GET /api/v1/me at base with the Authorization
// header auth and, if not empty, the DPoP header proof, sent by a plain
// http.Client: what whoever copied the token could do.
func meStatus(t *testing.T, base, auth, proof string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+api.PathMe, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	if proof != "" {
		req.Header.Set(dpop.Header, proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkBound checks that token, at base, is bound to key: refused (401)
// as a bearer, with the DPoP scheme and no proof, and with another key's
// proof; taken with key's.
func checkBound(t *testing.T, base, token string, key *ecdsa.PrivateKey) {
	t.Helper()
	proof := func(k *ecdsa.PrivateKey) string {
		p, err := dpop.Proof(k, http.MethodGet, base+api.PathMe, token, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	other, _ := dpop.NewKey()
	for _, c := range []struct{ name, auth, proof string }{
		{"as a bearer", "Bearer " + token, ""},
		{"with the DPoP scheme and no proof", "DPoP " + token, ""},
		{"as a bearer with the key's proof", "Bearer " + token, proof(key)},
		{"with another key's proof", "DPoP " + token, proof(other)},
	} {
		if got := meStatus(t, base, c.auth, c.proof); got != http.StatusUnauthorized {
			t.Errorf("GET /me %s: %d, want 401", c.name, got)
		}
	}
	if got := meStatus(t, base, "DPoP "+token, proof(key)); got != http.StatusOK {
		t.Errorf("GET /me with the desktop's key's proof: %d, want 200", got)
	}
}

// openWithMetrics opens a Desktop on dir whose embedded server publishes
// its metrics (waitSessionSocket reads them), and returns it with the
// embedded server's URL ("" for a remote one).
func openWithMetrics(t *testing.T, dir, remote string) (*Desktop, string) {
	t.Helper()
	var log syncBuffer
	d, err := Open(Options{
		DataDir: dir, ServerURL: remote, Log: slog.New(slog.NewTextHandler(&log, nil)),
		Node: node.Config{Password: cheap, PublicMetrics: true, NoRateLimits: true}, Reconnect: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	if remote != "" {
		return d, ""
	}
	m := usingServer.FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no server=URL mode=embedded in the log:\n%s", log.String())
	}
	return d, m[1]
}

// savedToken returns the token of the session the desktop saved in dir
// (in the file: the tests have no keyring).
func savedToken(t *testing.T, dir string) string {
	t.Helper()
	s, err := FileVault{Path: filepath.Join(dir, "session.json")}.Load()
	if err != nil {
		t.Fatalf("saved session: %v", err)
	}
	return s.Token
}

// The desktop's QR login binds the session to the desktop's key, which it
// keeps: the saved token alone signs no one in, while the desktop itself
// reaches /me, the session's socket and log-out, and does so again after a
// restart, with the same key. The key outlives the log-out.
func TestSessionBoundToDesktopKey(t *testing.T) {
	dir := t.TempDir()
	d, base := openWithMetrics(t, dir, "")
	v := waitDesktop(t, d, ViewPending)
	mustPhone(t, base).approve(t, v.QR.Payload, "")
	waitDesktop(t, d, ViewSignedIn)
	waitSessionSocket(t, base)

	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatalf("the key's file: %v", err)
	}
	key, err := decodeKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	token := savedToken(t, dir)
	checkBound(t, base, token, key)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A restart: the same key, and the saved session still stands (the
	// desktop asked /me, then opened the socket).
	d, base = openWithMetrics(t, dir, "")
	waitDesktop(t, d, ViewSignedIn)
	waitSessionSocket(t, base)
	if again, err := os.ReadFile(filepath.Join(dir, keyFile)); err != nil || string(again) != string(keyPEM) {
		t.Fatalf("after a restart the key changed (%v)", err)
	}

	d.Logout()
	waitDesktop(t, d, ViewOneTap) // the key, enrolled by the QR login, offers one-tap login
	if _, err := client.New(base, client.WithDPoP(key)).Me(context.Background(), token); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me after the desktop's log-out = %v, want unauthorized: the log-out did not reach the server", err)
	}
	if again, err := os.ReadFile(filepath.Join(dir, keyFile)); err != nil || string(again) != string(keyPEM) {
		t.Errorf("the log-out changed or removed the key (%v)", err)
	}
}

// A session saved before the desktop had a key (a bearer session) keeps
// working after the update: restored, watched and logged out. The next
// QR login, on this remote server, is bound to the key.
func TestSessionFromBeforeKeyStillWorks(t *testing.T) {
	n := mustStartNode(t, node.Config{})
	p := mustPhone(t, n.URL())
	ctx := context.Background()
	old := client.New(n.URL())
	tk, err := old.CreateTicket(ctx, api.DesktopDevice{Name: "test-desktop"})
	if err != nil {
		t.Fatal(err)
	}
	p.approve(t, tk.QRPayload, tk.MatchCode)
	r, err := old.Redeem(ctx, tk.Ref, tk.PollSecret)
	if err != nil || r.TokenType != api.TokenBearer {
		t.Fatalf("Redeem without a key = %+v, %v", r, err)
	}
	dir := t.TempDir()
	err = FileVault{Path: filepath.Join(dir, "session.json")}.Save(Saved{Server: n.URL(), Token: r.SessionToken,
		User: r.User, Device: api.DesktopDevice{Name: "test-desktop"}, SignedInAt: time.Now(), ExpiresAt: r.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}

	d, _ := openWithMetrics(t, dir, n.URL())
	if v := waitDesktop(t, d, ViewSignedIn); v.Session.DisplayName != "Alice" {
		t.Errorf("restored session %+v", v.Session)
	}
	waitSessionSocket(t, n.URL())
	d.Logout()
	v := waitDesktop(t, d, ViewPending)
	if _, err := old.Me(ctx, r.SessionToken); !errors.Is(err, server.ErrUnauthorized) {
		t.Errorf("Me after the desktop's log-out = %v, want unauthorized: the log-out did not reach the server", err)
	}

	p.approve(t, v.QR.Payload, "")
	waitDesktop(t, d, ViewSignedIn)
	key, err := NewKeyStore(dir, testLog(t)).Key()
	if err != nil {
		t.Fatal(err)
	}
	checkBound(t, n.URL(), savedToken(t, dir), key)
}
