package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
)

// TestDesktopOneTapLogin logs the built app in by QR code under Xvfb (which
// enrols its key), then clicks Log out: the window offers the account with
// Log in instead of a QR code. It clicks Log in, reads the number off the
// screen with OCR (tesseract), as a person reads it, and approves it with
// mobile-sim: signed in. A second time the phone taps a wrong number: the
// window says denied; a third, "Not me": the QR code shows, and the key is
// no longer enrolled. A QR login enrols it again, and a fourth request
// within ten minutes of three (made from this test with the app's key,
// dpop-key.pem) is refused: the window says when to try again. It runs
// only when QRLOGIN_E2E_DESKTOP is set, and then also needs xdotool and
// tesseract (tesseract-ocr). With QRLOGIN_UPDATE_SCREENSHOTS=1 the one-tap
// screens are copied to docs/screenshots (one-tap.png, one-tap-number.png).
func TestDesktopOneTapLogin(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, xdotool, tesseract-ocr, libwebkit2gtk-4.0)")
	}
	needTools(t)
	for tool, pkg := range map[string]string{"xdotool": "xdotool", "tesseract": "tesseract-ocr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("QRLOGIN_E2E_DESKTOP is set but the test needs %s (apt-get install %s)", tool, pkg)
		}
	}
	start := time.Now()
	bin, sim := buildApp(t), buildMobileSim(t)
	display := startXvfb(t)
	dataDir := t.TempDir()
	env := environ(display, t.TempDir())
	phone := func(code int, args ...string) string { return run(t, env, code, sim, args...) }

	app := startApp(t, bin, env, dataDir, "onetap-app.log")
	srv := app.wait(t, reServer, startWait)[1]
	app.wait(t, reShown("pending"), startWait)
	phone(0, "register", "-server", srv, "--username", "olivia", "--display-name", "Olivia Tapper", "--password", "e2e-password-1")
	phone(0, "login", "-server", srv, "--username", "olivia", "--password", "e2e-password-1")
	scanIn(t, app, sim, env, srv, "onetap-scan-1.log")
	signedIn := screenshot(t, display, "tap-0-signed-in.png", nil, nil)

	// Log out from the window: the account, masked, with Log in.
	click(t, display, "Log out", logOutRed)
	app.wait(t, reShown("one_tap"), stepWait)
	offer := screenshot(t, display, "tap-1-one-tap.png", &signedIn, noCode(t, sim, env))

	// 1. Log in: the number on screen, tapped on the phone: signed in.
	click(t, display, "Log in", primaryGreen)
	app.wait(t, reShown("one_tap_waiting"), stepWait)
	n, number := readNumber(t, display, "tap-2-number.png", &offer)
	req := waitRequest(t, phone, srv)
	if !slices.Contains(req.Choices, n) {
		t.Fatalf("the window shows %q (OCR), the phone offers %v", n, req.Choices)
	}
	phone(0, "requests", "approve", "-server", srv, "--number", n, "--", req.ID)
	app.wait(t, reShown("signed_in"), stepWait)
	t.Logf("signed in by one tap on %s", n)

	// 2. The phone taps another number: denied.
	click(t, display, "Log out", logOutRed)
	app.wait(t, reShown("one_tap"), stepWait)
	click(t, display, "Log in", primaryGreen)
	app.wait(t, reShown("one_tap_waiting"), stepWait)
	n2, _ := readNumber(t, display, "tap-3-number.png", nil)
	req = waitRequest(t, phone, srv)
	if !slices.Contains(req.Choices, n2) {
		t.Fatalf("the window shows %q (OCR), the phone offers %v", n2, req.Choices)
	}
	wrong := req.Choices[slices.IndexFunc(req.Choices, func(c string) bool { return c != n2 })]
	phone(1, "requests", "approve", "-server", srv, "--number", wrong, "--", req.ID)
	app.wait(t, reShown("one_tap_denied"), stepWait)
	denied := screenshot(t, display, "tap-4-denied.png", nil, nil)

	// 3. Try again, and the phone says "Not me": the QR code, and the key
	// is no longer enrolled.
	click(t, display, "Try again", linkBlue)
	app.wait(t, reShown("one_tap_waiting"), stepWait)
	req = waitRequest(t, phone, srv)
	phone(0, "requests", "not-me", "-server", srv, "--", req.ID)
	app.wait(t, reShown("pending"), stepWait)
	screenshot(t, display, "tap-5-qr-after-not-me.png", &denied, func(path string) bool {
		return strings.HasPrefix(decodeFile(t, sim, env, path), srv+"/q/")
	})
	desk := client.New(srv, client.WithDPoP(storedKey(t, dataDir)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := desk.DesktopKey(ctx); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("after Not me, GET %s with the app's key: %v, want not_found", api.PathDesktopKey, err)
	}

	// 4. Enrolled again by a QR login; three requests from this test with
	// the app's key, then the window's fourth is refused.
	scanIn(t, app, sim, env, srv, "onetap-scan-2.log")
	click(t, display, "Log out", logOutRed)
	app.wait(t, reShown("one_tap"), stepWait)
	for i := range 3 {
		r, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "e2e test"}})
		if err != nil {
			t.Fatalf("request %d with the app's key: %v", i+1, err)
		}
		if err := desk.Cancel(ctx, r.Ref, r.PollSecret); err != nil {
			t.Fatal(err)
		}
	}
	click(t, display, "Log in", primaryGreen)
	app.wait(t, reShown("one_tap_limited"), stepWait)
	screenshot(t, display, "tap-6-limited.png", nil, nil)
	_, err := desk.DesktopLogin(ctx, api.DesktopLoginRequest{Device: api.DesktopDevice{Name: "e2e test"}})
	var se *server.Error
	if !errors.As(err, &se) || se.Code != server.CodeRateLimited || se.RetryAfter <= 0 {
		t.Errorf("a further request within ten minutes: %v, want rate_limited (429) with Retry-After", err)
	}

	if os.Getenv("QRLOGIN_UPDATE_SCREENSHOTS") == "1" {
		copyShot(t, offer.path, "one-tap.png")
		copyShot(t, number, "one-tap-number.png")
	}
	t.Logf("one-tap end to end in %v", time.Since(start).Round(time.Millisecond))
}

// scanIn logs the window, which shows a QR code, in: mobile-sim scans it
// off the screen and approves.
func scanIn(t *testing.T, app *appProc, sim string, env []string, srv, logName string) {
	t.Helper()
	scan := exec.Command(sim, "scan", "--screen", "-server", srv)
	scan.Env = env
	answer, err := scan.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := logFile(t, logName)
	scan.Stdout, scan.Stderr = out, out
	if err := scan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scan.Process.Kill() }) // if the test fails before it ends
	app.wait(t, reShown("scanned"), stepWait)
	io.WriteString(answer, "y\n")
	answer.Close()
	if err := scan.Wait(); err != nil {
		t.Fatalf("mobile-sim scan: %v (see %s)", err, logName)
	}
	app.wait(t, reShown("signed_in"), stepWait)
}

// waitRequest waits for the account's next one-tap request with mobile-sim.
func waitRequest(t *testing.T, phone func(int, ...string) string, srv string) api.LoginRequest {
	t.Helper()
	var r api.LoginRequest
	out := phone(0, "requests", "--wait", "-json", "--timeout", "30s", "-server", srv)
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" || len(r.Choices) != 3 {
		t.Fatalf("mobile-sim requests --wait -json: %q: %v", out, err)
	}
	return r
}

// Colours of the window's controls (frontend/src/style.css), to find them
// on a screenshot.
var (
	primaryGreen = rgb{0x0f, 0xa9, 0x68} // .btn-primary's background; .tap-number's frame
	logOutRed    = rgb{0xd9, 0x3a, 0x3a} // the signed-in screen's Log out: the one red text there
	linkBlue     = rgb{0x3b, 0x6f, 0xd6} // .btn-link's text
)

type rgb struct{ r, g, b uint8 }

// near reports whether c is within a few steps of colour want.
func near(c rgb, want rgb) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(c.r, want.r) <= 6 && d(c.g, want.g) <= 6 && d(c.b, want.b) <= 6
}

// colourBox returns the smallest rectangle of img, below the title bar and
// above the footer, that holds the rows with at least minRow pixels of
// colour want; empty if none.
func colourBox(img image.Image, want rgb, minRow int) image.Rectangle {
	b := img.Bounds()
	box := image.Rectangle{}
	for y := b.Min.Y + 40; y < b.Max.Y-40; y++ {
		row := image.Rectangle{}
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(rgb{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}, want) {
				n++
				row = row.Union(image.Rect(x, y, x+1, y+1))
			}
		}
		if n >= minRow {
			box = box.Union(row)
		}
	}
	return box
}

// click clicks the middle of the control of colour c (named what, for
// messages) with xdotool: a wide green button, else the text of a red or
// blue one.
func click(t *testing.T, display, what string, c rgb) {
	t.Helper()
	minRow := 1
	if c == primaryGreen {
		minRow = 100 // the button, not the logo or the footer's dot
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		full := captureRoot(t, display)
		win := windowBounds(full)
		box := colourBox(subImage(full, win), c, minRow)
		if !box.Empty() {
			x, y := (box.Min.X+box.Max.X)/2, (box.Min.Y+box.Max.Y)/2 // on the screen: subImage keeps its coordinates
			env := append(os.Environ(), "DISPLAY="+display)
			// then off the window, so that no control shows hovered
			run(t, env, 0, "xdotool", "mousemove", "--sync", strconv.Itoa(x), strconv.Itoa(y), "click", "1", "mousemove", "0", "0")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s on the screen within 15 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readNumber waits for the number of the one-tap waiting screen to hold
// still, saves the window as name, crops it to the number's green frame
// and reads the digits with tesseract. It returns them and the screenshot.
func readNumber(t *testing.T, display, name string, not *shot) (string, string) {
	t.Helper()
	var n string
	s := screenshot(t, display, name, not, func(path string) bool {
		n = ocrNumber(t, path)
		return n != ""
	})
	return n, s.path
}

var twoDigits = regexp.MustCompile(`^[0-9]{2}$`)

// ocrNumber returns the two digits in the green frame of the window's
// screenshot at path, or "" if there is no frame or OCR reads no two
// digits.
func ocrNumber(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	frame := colourBox(img, primaryGreen, 100)
	if frame.Dx() < 100 || frame.Dy() < 60 {
		return ""
	}
	crop := filepath.Join(artifacts(t), strings.TrimSuffix(filepath.Base(path), ".png")+"-crop.png")
	out, err := os.Create(crop)
	if err != nil {
		t.Fatal(err)
	}
	err = png.Encode(out, subImage(img, frame.Inset(10)))
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("tesseract", crop, "-", "--psm", "7", "-c", "tessedit_char_whitelist=0123456789").Output()
	if err != nil {
		t.Fatalf("tesseract %s: %v", crop, err)
	}
	got := strings.Join(strings.Fields(string(text)), "")
	if !twoDigits.MatchString(got) {
		t.Logf("tesseract read %q in %s", got, crop)
		return ""
	}
	return got
}

// captureRoot grabs the whole display with ImageMagick's import.
func captureRoot(t *testing.T, display string) image.Image {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.png")
	if out, err := exec.Command("import", "-display", display, "-window", "root", path).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// subImage returns the part r of img.
func subImage(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	panic(fmt.Sprintf("%T has no SubImage", img))
}

// copyShot copies a screenshot to docs/screenshots as name.
func copyShot(t *testing.T, from, name string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoRoot(t), "docs", "screenshots", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated docs/screenshots/%s", name)
}
