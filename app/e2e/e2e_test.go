// Package e2e runs the built desktop app in a real window under Xvfb and
// logs it in with mobile-sim, the phone in a terminal, which reads the QR
// code off the screen: the loop a person goes through, end to end.
//
// It runs only when QRLOGIN_E2E_DESKTOP is set, and then needs Xvfb
// (xvfb), import (imagemagick) and the WebKitGTK runtime
// (libwebkit2gtk-4.0-37); without QRLOGIN_DESKTOP_BIN it also builds the
// app with make desktop (Node and npm, libgtk-3-dev,
// libwebkit2gtk-4.0-dev). Screenshots and logs go to
// $QRLOGIN_ARTIFACTS/desktop (default test-output/desktop); with
// QRLOGIN_UPDATE_SCREENSHOTS=1 the screenshots are also copied to
// docs/screenshots for the README.
package e2e

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

var (
	reServer  = regexp.MustCompile(`msg="using server" server=(http://127\.0\.0\.1:\d+) mode=embedded`)
	reShown   = func(state string) *regexp.Regexp { return regexp.MustCompile(`msg=shown state=` + state + `\b`) }
	reView    = func(state string) *regexp.Regexp { return regexp.MustCompile(`msg=view state=` + state + `\b`) }
	startWait = 60 * time.Second // a cold WebKit start on a loaded CI machine
	stepWait  = 20 * time.Second
)

func TestDesktopLoginWithPhone(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, libwebkit2gtk-4.0)")
	}
	needTools(t)
	start := time.Now()
	bin, sim := buildApp(t), buildMobileSim(t)
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))

	display := startXvfb(t)
	dataDir := t.TempDir()
	env := environ(display, t.TempDir())
	phone := func(code int, args ...string) string { return run(t, env, code, sim, args...) }

	// The window comes up with a QR code from its embedded server.
	launched := time.Now()
	app := startApp(t, bin, env, dataDir, "app-1.log")
	server := app.wait(t, reServer, startWait)[1]
	app.wait(t, reShown("pending"), startWait)
	t.Logf("QR code on screen %v after launch", time.Since(launched).Round(time.Millisecond))
	var first string
	qr := screenshot(t, display, "1-qr.png", nil, func(path string) bool {
		first = decodeFile(t, sim, env, path)
		return first != ""
	})
	if _, _, err := api.ParsePayload(first); err != nil || !strings.HasPrefix(first, server+"/q/") {
		t.Fatalf("the window's QR code reads %q, want a code of %s", first, server)
	}

	// The phone scans it off the screen: the window shows who, and waits.
	phone(0, "register", "-server", server, "--username", "alice", "--display-name", "Alice Liddell", "--password", "e2e-password-1")
	phone(0, "login", "-server", server, "--username", "alice", "--password", "e2e-password-1")
	scan := exec.Command(sim, "scan", "--screen", "-server", server)
	scan.Env = env
	answer, err := scan.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	scanOut := logFile(t, "mobile-sim-scan.log")
	scan.Stdout, scan.Stderr = scanOut, scanOut
	if err := scan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scan.Process.Kill() }) // if the test fails before it ends
	app.wait(t, reShown("scanned"), stepWait)
	scanned := screenshot(t, display, "2-scanned.png", &qr, noCode(t, sim, env))

	// The phone approves: the window signs in.
	io.WriteString(answer, "y\n")
	answer.Close()
	if err := scan.Wait(); err != nil {
		t.Fatalf("mobile-sim scan: %v (see mobile-sim-scan.log)", err)
	}
	app.wait(t, reShown("signed_in"), stepWait)
	signedIn := screenshot(t, display, "3-signed-in.png", &scanned, noCode(t, sim, env))
	sessions := phoneSessions(t, phone, server)
	if len(sessions) != 1 || sessions[0].Device.App == "" {
		t.Fatalf("the account's sessions: %+v, want this desktop's", sessions)
	}

	// The session survives a restart: no QR code, straight to the account
	// (the embedded server's port changes; its database does not).
	app.stop(t)
	app = startApp(t, bin, env, dataDir, "app-2.log")
	server = app.wait(t, reServer, startWait)[1]
	app.wait(t, reShown("signed_in"), startWait)
	if fi, err := os.Stat(filepath.Join(dataDir, "session.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("with no keyring, the session file: %v, %v; want mode 0600", fi, err)
	}

	// The phone revokes the session: the window is back to a new QR code.
	revoked := time.Now()
	phone(0, "revoke", "-server", server, "--", sessions[0].ID) // an ID may start with "-"
	app.wait(t, reView("pending"), stepWait)
	back := time.Since(revoked)
	app.wait(t, reShown("pending"), stepWait)
	t.Logf("back to the QR code %v after the revocation (%v with its image)", back.Round(time.Millisecond), time.Since(revoked).Round(time.Millisecond))
	if back > 2*time.Second {
		t.Errorf("back to the QR code %v after the revocation, want within a second or so", back)
	}
	var again string
	screenshot(t, display, "4-qr-again.png", &signedIn, func(path string) bool {
		again = decodeFile(t, sim, env, path)
		return again != ""
	})
	if !strings.HasPrefix(again, server+"/q/") || again == first {
		t.Errorf("after the revocation the window's QR code reads %q (first %q), want a new one", again, first)
	}
	if text := strings.TrimSpace(phone(0, "decode", "--screen")); text != again {
		t.Errorf("mobile-sim decode --screen reads %q, the screenshot %q", text, again)
	}
	if n := len(phoneSessions(t, phone, server)); n != 0 {
		t.Errorf("after the revocation the account has %d sessions", n)
	}
	updateDocs(t, qr, scanned, signedIn)
	t.Logf("end to end in %v", time.Since(start).Round(time.Millisecond))
}

// decodeFile returns the text of the QR code in the image at path, read by
// mobile-sim, or "" if it finds none.
func decodeFile(t *testing.T, sim string, env []string, path string) string {
	t.Helper()
	cmd := exec.Command(sim, "decode", path)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// noCode is a screenshot check: the picture holds no QR code.
func noCode(t *testing.T, sim string, env []string) func(string) bool {
	return func(path string) bool { return decodeFile(t, sim, env, path) == "" }
}

// appProc is the running desktop app and its log.
type appProc struct {
	*logLines
	cmd  *exec.Cmd
	done chan struct{}
}

// startApp runs the app on its embedded server, with data folder dataDir,
// and logs its stderr to logName in the artifacts folder. It is stopped
// when the test ends.
func startApp(t *testing.T, bin string, env []string, dataDir, logName string) *appProc {
	t.Helper()
	cmd := exec.Command(bin, "--data-dir", dataDir)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the app: %v", err)
	}
	a := &appProc{logLines: newLogLines(stderr, logFile(t, logName)), cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop ends the app as a window manager's close would (SIGTERM), then kills
// it if it lingers.
func (a *appProc) stop(t *testing.T) {
	select {
	case <-a.done:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Log("the app did not end on SIGTERM: killing it")
		a.cmd.Process.Kill()
		<-a.done
	}
}

// phoneSessions lists the account's desktop sessions on server with
// mobile-sim.
func phoneSessions(t *testing.T, phone func(int, ...string) string, server string) []api.Session {
	t.Helper()
	var list []api.Session
	if err := json.Unmarshal([]byte(phone(0, "sessions", "-json", "-server", server)), &list); err != nil {
		t.Fatalf("mobile-sim sessions -json: %v", err)
	}
	return list
}

// buildApp returns $QRLOGIN_DESKTOP_BIN, or builds the app with make
// desktop.
func buildApp(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("QRLOGIN_DESKTOP_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("QRLOGIN_DESKTOP_BIN: %v", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "qrlogin")
	cmd := exec.Command("make", "-C", repoRoot(t), "desktop", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make desktop: %v\n%s", err, out)
	}
	return bin
}

// buildMobileSim builds mobile-sim.
func buildMobileSim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mobile-sim")
	cmd := exec.Command("go", "build", "-o", bin, "./mobile-sim")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building mobile-sim: %v\n%s", err, out)
	}
	return bin
}

// updateDocs copies the screenshots of the QR code, the scan and the
// session to docs/screenshots when QRLOGIN_UPDATE_SCREENSHOTS=1.
func updateDocs(t *testing.T, shots ...shot) {
	t.Helper()
	if os.Getenv("QRLOGIN_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join(repoRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"qr.png", "scanned.png", "signed-in.png"} {
		data, err := os.ReadFile(shots[i].path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("updated %s", dir)
}
