package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
)

var (
	reListening    = regexp.MustCompile(`msg=listening url=(\S+)`)
	reRemoteServer = regexp.MustCompile(`msg="using server" server=(\S+) mode=remote\b`)
)

// TestDesktopLoginWithPhoneWebApp logs the desktop app, running on a
// standalone qrlogin-server under Xvfb, in with the phone web app (/m/) in
// Chromium, whose fake camera films the window: a real screenshot of the
// window's QR code, made a Y4M clip by ffmpeg. The phone creates an
// account, signs in, taps Scan, sees the desktop's name and approves; the
// window signs in. It runs only when QRLOGIN_E2E_DESKTOP is set (as
// TestDesktopLoginWithPhone, plus ffmpeg), and needs node, Chromium and
// frontend/node_modules/playwright-core: without them it skips, unless
// QRLOGIN_E2E_BROWSER is set, then it fails. Screenshots (the window's and
// the phone's) and logs go to $QRLOGIN_ARTIFACTS/desktop.
func TestDesktopLoginWithPhoneWebApp(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, libwebkit2gtk-4.0)")
	}
	needTools(t)
	node, chromium := phoneBrowserTools(t)
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("QRLOGIN_E2E_DESKTOP is set but the test needs ffmpeg (apt-get install ffmpeg)")
	}
	start := time.Now()
	root := repoRoot(t)
	bin := buildApp(t)
	serverBin := filepath.Join(t.TempDir(), "qrlogin-server")
	build := exec.Command("go", "build", "-o", serverBin, "./server/cmd/qrlogin-server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./server/cmd/qrlogin-server: %v\n%s", err, out)
	}
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))

	// A standalone server, and the window on it in remote mode. The QR
	// code is not replaced while the phone films it.
	server := startStandaloneServer(t, serverBin, "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "qrlogin.db"),
		"-ticket-ttl", "5m", "-rotate-every", "4m", "-match", "never")
	display := startXvfb(t)
	env := environ(display, t.TempDir())
	launched := time.Now()
	app := startRemoteApp(t, bin, env, t.TempDir(), server, "phone-app.log")
	if got := app.wait(t, reRemoteServer, startWait)[1]; strings.TrimRight(got, "/") != server {
		t.Fatalf("the app uses server %s, want %s", got, server)
	}
	app.wait(t, reShown("pending"), startWait)
	t.Logf("QR code on screen %v after launch", time.Since(launched).Round(time.Millisecond))
	var payload string
	qr := screenshot(t, display, "phone-1-qr.png", nil, func(path string) bool {
		payload = decodePath(path)
		return strings.HasPrefix(payload, server+"/q/")
	})

	// The phone's camera: the screenshot, scaled and padded to 640×480,
	// as a Y4M clip; checked readable before Chromium gets it.
	clip := filepath.Join(t.TempDir(), "clip.y4m")
	ffmpeg := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-loop", "1", "-i", qr.path, "-t", "3",
		"-vf", "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p",
		"-f", "yuv4mpegpipe", clip)
	if out, err := ffmpeg.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if got, err := decodeY4MFrame(clip); err != nil || got != payload {
		t.Fatalf("the camera clip made of %s is unreadable: its first frame reads %q (%v), want %q", qr.path, got, err, payload)
	}

	// The phone web app in Chromium scans the clip and approves.
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "Desktop" // as the app names itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	scenario := exec.CommandContext(ctx, node, filepath.Join("e2e", "phone.mjs"), "desktop_camera")
	scenario.Dir = filepath.Join(root, "frontend")
	scenario.Env = append(os.Environ(),
		"QRLOGIN_E2E_SERVER="+server,
		"QRLOGIN_E2E_CHROMIUM="+chromium,
		"QRLOGIN_E2E_SHOTS="+artifacts(t),
		"QRLOGIN_E2E_CAMERA_CLIP="+clip,
		"QRLOGIN_E2E_DESKTOP_NAME="+host,
	)
	phoneStart := time.Now()
	out, err := scenario.CombinedOutput()
	t.Logf("e2e/phone.mjs desktop_camera (%v):\n%s", time.Since(phoneStart).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("e2e/phone.mjs desktop_camera: %v (screenshots in %s)", err, artifacts(t))
	}

	// The window saw the scan, then signed in.
	app.wait(t, reShown("scanned"), stepWait)
	app.wait(t, reShown("signed_in"), stepWait)
	screenshot(t, display, "phone-2-signed-in.png", &qr, func(path string) bool { return decodePath(path) == "" })
	t.Logf("end to end in %v", time.Since(start).Round(time.Millisecond))
}

// phoneBrowserTools returns node and Chromium for frontend/e2e/phone.mjs;
// if one, or frontend/node_modules/playwright-core, is missing it skips
// the test, or fails it when QRLOGIN_E2E_BROWSER is set.
func phoneBrowserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(msg string) {
		if os.Getenv("QRLOGIN_E2E_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set QRLOGIN_E2E_BROWSER=1 to fail instead)")
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "frontend", "node_modules", "playwright-core", "package.json")); err != nil {
		missing("the phone web app test needs frontend/node_modules/playwright-core: cd frontend && npm ci")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("the phone web app test needs node (Node 20) on PATH")
	}
	chromium = os.Getenv("QRLOGIN_E2E_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing(fmt.Sprintf("the phone web app test needs Chromium at %s: apt-get install -y chromium (or set QRLOGIN_E2E_CHROMIUM)", chromium))
	}
	return node, chromium
}

// startStandaloneServer runs qrlogin-server with args, logging to
// qrlogin-server.log in the artifacts folder, and returns its URL once it
// listens. It is killed when the test ends.
func startStandaloneServer(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("qrlogin-server: %v", err)
	}
	done := make(chan struct{})
	lines := newLogLines(stderr, logFile(t, "qrlogin-server.log"))
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return strings.TrimRight(lines.wait(t, reListening, 30*time.Second)[1], "/")
}

// startRemoteApp runs the app on the remote server at server (--server),
// with data folder dataDir, logging its stderr to logName in the artifacts
// folder. It is stopped when the test ends.
func startRemoteApp(t *testing.T, bin string, env []string, dataDir, server, logName string) *appProc {
	t.Helper()
	cmd := exec.Command(bin, "--data-dir", dataDir, "--server", server)
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

// decodePath returns the text of the first QR code in the image at path,
// or "" if there is none.
func decodePath(path string) string {
	img, err := decode.Load(path)
	if err != nil {
		return ""
	}
	res, err := decode.Decode(img)
	if err != nil || len(res) == 0 {
		return ""
	}
	return res[0].Text
}

// decodeY4MFrame returns the text of the QR code in the first frame of a
// YUV4MPEG2 clip, read from its luma plane.
func decodeY4MFrame(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	header, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(header, "YUV4MPEG2 ") {
		return "", fmt.Errorf("not a YUV4MPEG2 clip: %q", header)
	}
	var w, h int
	for _, field := range strings.Fields(header)[1:] {
		switch field[0] {
		case 'W':
			w, _ = strconv.Atoi(field[1:])
		case 'H':
			h, _ = strconv.Atoi(field[1:])
		}
	}
	if w <= 0 || h <= 0 {
		return "", fmt.Errorf("no frame size in %q", header)
	}
	if frame, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(frame, "FRAME") {
		return "", fmt.Errorf("no first frame: %q %v", frame, err)
	}
	luma := make([]byte, w*h)
	if _, err := io.ReadFull(r, luma); err != nil {
		return "", fmt.Errorf("the first frame: %v", err)
	}
	if bytes.Count(luma, luma[:1]) == len(luma) {
		return "", fmt.Errorf("the %dx%d frame is blank", w, h)
	}
	res, err := decode.DecodeGray(luma, w, h)
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return "", fmt.Errorf("no QR code in the %dx%d frame", w, h)
	}
	return res[0].Text, nil
}
