package e2e

import (
	"bufio"
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reBroughtForward = regexp.MustCompile(`msg="brought forward" `)

// TestDesktopSingleInstance launches the built app twice on one data
// folder, under Xvfb and on a D-Bus session bus of the test's own (Wails'
// single-instance lock on Linux is a name on the session bus). The first
// window is unmapped beforehand, as a minimised one is (Xvfb has no window
// manager to minimise it). The second launch must exit at once; the first
// must log msg="brought forward" and its window must be on the screen
// again. A third launch, on another data folder, must run beside the
// first: the lock is per folder. It runs only when QRLOGIN_E2E_DESKTOP is
// set, as TestDesktopLoginWithPhone, and also needs dbus-daemon (dbus)
// and xdotool.
func TestDesktopSingleInstance(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, libwebkit2gtk-4.0)")
	}
	needTools(t)
	for tool, pkg := range map[string]string{"dbus-daemon": "dbus", "xdotool": "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("QRLOGIN_E2E_DESKTOP is set but the test needs %s (apt-get install %s)", tool, pkg)
		}
	}
	bin := buildApp(t)
	display := startXvfb(t)
	env := withSessionBus(environ(display, t.TempDir()), startSessionBus(t))
	dataDir := t.TempDir()

	first := startApp(t, bin, env, dataDir, "instance-1.log")
	first.wait(t, reServer, startWait)
	first.wait(t, reShown("pending"), startWait)
	screenshot(t, display, "instance-1-first.png", nil, nil)
	run(t, env, 0, "xdotool", "search", "--onlyvisible", "--name", "^qrlogin$", "windowunmap", "--sync")
	if !screenBlank(t, display) {
		t.Fatal("the window is still on the screen after xdotool windowunmap")
	}

	// The second launch hands over to the first and ends.
	launched := time.Now()
	code, stderr := runToEnd(t, bin, env, dataDir, 15*time.Second)
	took := time.Since(launched)
	t.Logf("the second launch ended in %v with status %d", took.Round(time.Millisecond), code)
	if err := os.WriteFile(filepath.Join(artifacts(t), "instance-2.log"), stderr, 0o644); err != nil {
		t.Fatal(err)
	}
	if took > 10*time.Second {
		t.Errorf("the second launch took %v to end, want a moment", took)
	}
	// Wails v2 ends a second instance with status 1 on Linux (0 on
	// Windows): wailsapp/wails#3723. A Wails that ends it with 0 fails this
	// check: then want 0, and say so in docs/desktop.md.
	if code != 1 {
		t.Errorf("the second launch ended with status %d, want Wails' 1 on Linux (see instance-2.log)", code)
	}
	first.wait(t, reBroughtForward, stepWait)
	screenshot(t, display, "instance-2-brought-forward.png", nil, nil) // fails on a blank screen
	select {
	case <-first.done:
		t.Fatal("the first instance ended after the second launch (see instance-1.log)")
	default:
	}

	// Another data folder is another instance: it runs beside the first.
	other := startApp(t, bin, env, t.TempDir(), "instance-3.log")
	other.wait(t, reServer, startWait)
	other.wait(t, reShown("pending"), startWait)
	select {
	case <-first.done:
		t.Fatal("the first instance ended when one on another folder started (see instance-1.log)")
	default:
	}
}

// runToEnd runs the app on dataDir to its end, within timeout (then it is
// killed and the test fails), and returns its exit status and its stderr.
func runToEnd(t *testing.T, bin string, env []string, dataDir string, timeout time.Duration) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--data-dir", dataDir)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s --data-dir %s still ran after %v:\n%s", bin, dataDir, timeout, stderr.Bytes())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", bin, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.Bytes()
}

// screenBlank reports whether the display shows no window: its root is all
// black.
func screenBlank(t *testing.T, display string) bool {
	t.Helper()
	full := filepath.Join(t.TempDir(), "root.png")
	if out, err := exec.Command("import", "-display", display, "-window", "root", full).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return windowBounds(img).Empty()
}

// startSessionBus starts a D-Bus session bus of the test's own, stopped
// when the test ends, and returns its address. It activates no services:
// the app finds no keyring on it (and keeps its session in its file, as
// under environ's disabled bus), and never reaches the machine's.
func startSessionBus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile(t, "dbus-daemon.log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-got:
		if addr == "" {
			t.Fatal("dbus-daemon did not print its address (see dbus-daemon.log)")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start within 10 s")
	}
	return ""
}

// withSessionBus returns env with DBUS_SESSION_BUS_ADDRESS set to addr
// instead of environ's disabled bus.
func withSessionBus(env []string, addr string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			out = append(out, kv)
		}
	}
	return append(out, "DBUS_SESSION_BUS_ADDRESS="+addr)
}
