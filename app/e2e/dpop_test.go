package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
)

// TestDesktopSessionBoundToKey logs the built app in under Xvfb, as
// TestDesktopLoginWithPhone does, then plays the thief: it reads the
// session token out of the app's store (with no keyring, the 0600
// session.json of the data folder) and calls GET /api/v1/me with it from
// this test's process, another than the app's. The token alone must get
// 401, as a bearer and with the DPoP scheme without a proof; with a proof
// from the app's key (dpop-key.pem, beside it) it gets 200, so the 401s
// are the binding's and not a dead session's. The app must still be signed
// in afterwards. It runs only when QRLOGIN_E2E_DESKTOP is set, and skips
// when the token is not in the file (a keyring took it).
func TestDesktopSessionBoundToKey(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, libwebkit2gtk-4.0)")
	}
	needTools(t)
	bin, sim := buildApp(t), buildMobileSim(t)
	display := startXvfb(t)
	dataDir := t.TempDir()
	env := environ(display, t.TempDir())
	phone := func(code int, args ...string) string { return run(t, env, code, sim, args...) }

	app := startApp(t, bin, env, dataDir, "dpop-app.log")
	server := app.wait(t, reServer, startWait)[1]
	app.wait(t, reShown("pending"), startWait)
	phone(0, "register", "-server", server, "--username", "mallory", "--display-name", "Mallory", "--password", "e2e-password-1")
	phone(0, "login", "-server", server, "--username", "mallory", "--password", "e2e-password-1")
	scanIn(t, app, sim, env, server, "dpop-mobile-sim-scan.log")

	token := storedToken(t, dataDir)
	key := storedKey(t, dataDir)
	for _, c := range []struct{ name, auth string }{
		{"as a bearer", "Bearer " + token},
		{"with the DPoP scheme and no proof", dpop.Scheme + " " + token},
	} {
		if got := meFromHere(t, server, c.auth, ""); got != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/me with the app's token %s: %d, want 401", c.name, got)
		}
	}
	proof, err := dpop.Proof(key, http.MethodGet, server+api.PathMe, token, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := meFromHere(t, server, dpop.Scheme+" "+token, proof); got != http.StatusOK {
		t.Errorf("GET /api/v1/me with the app's token and a proof from its key: %d, want 200", got)
	}

	// The app, with its key, is still signed in: a restart restores it.
	app.stop(t)
	app = startApp(t, bin, env, dataDir, "dpop-app-2.log")
	app.wait(t, reServer, startWait)
	app.wait(t, reShown("signed_in"), startWait)
}

// storedToken returns the session token the app keeps in dataDir's
// session.json, or skips the test saying why it is not there.
func storedToken(t *testing.T, dataDir string) string {
	t.Helper()
	path := filepath.Join(dataDir, "session.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no %s: the app kept its session elsewhere (an OS keyring answered on D-Bus despite DBUS_SESSION_BUS_ADDRESS=disabled:), so this test cannot read the token", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the session file: %v, %v; want mode 0600", fi, err)
	}
	var saved struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &saved); err != nil || saved.Token == "" {
		t.Skipf("%s holds no session token (%v): its format is not the one this test reads", path, err)
	}
	return saved.Token
}

// storedKey returns the app's DPoP key from dataDir's dpop-key.pem (with no
// keyring, its place), which must be 0600.
func storedKey(t *testing.T, dataDir string) *ecdsa.PrivateKey {
	t.Helper()
	path := filepath.Join(dataDir, "dpop-key.pem")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the app's key: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	key, ok := k.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		t.Fatalf("%s: not a PKCS #8 EC key (%v)", path, err)
	}
	return key
}

// meFromHere is the status of GET /api/v1/me at server with the
// Authorization header auth and, if not empty, the DPoP header proof, sent
// from this test's process.
func meFromHere(t *testing.T, server, auth, proof string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, server+api.PathMe, nil)
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
