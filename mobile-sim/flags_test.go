package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/qrlogin/qrlogin/server/api"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		pos     []string
		yes     bool
		server  string
		profile string
	}{
		{[]string{"shot.png", "--yes"}, []string{"shot.png"}, true, "", "default"},
		{[]string{"-server", "http://s", "-profile", "alice", "--yes", "a", "b"}, []string{"a", "b"}, true, "http://s", "alice"},
		{[]string{"a", "-profile=bob", "b", "--server=http://t"}, []string{"a", "b"}, false, "http://t", "bob"},
		{[]string{"-", "--yes"}, []string{"-"}, true, "", "default"},
		{[]string{"--yes", "--", "-not-a-flag", "--yes"}, []string{"-not-a-flag", "--yes"}, true, "", "default"},
		{nil, nil, false, "", "default"},
		// Session ids are base64url and may start with "-" (revoke -ID).
		{[]string{"-Xb3kQ9pL0aZ8yT2uV5wR1c", "--yes"}, []string{"-Xb3kQ9pL0aZ8yT2uV5wR1c"}, true, "", "default"},
		{[]string{"--yes", "--Xb3kQ9pL0aZ8yT2uV5wR1c"}, []string{"--Xb3kQ9pL0aZ8yT2uV5wR1c"}, true, "", "default"},
	}
	for _, tt := range tests {
		f := newFlags("scan", "FILE")
		yes := f.Bool("yes", false, "")
		pos, err := f.parse(tt.args, io.Discard)
		if err != nil {
			t.Errorf("parse(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(pos, tt.pos) || *yes != tt.yes || f.server != tt.server || f.profile != tt.profile {
			t.Errorf("parse(%q) = %q yes=%v server=%q profile=%q", tt.args, pos, *yes, f.server, f.profile)
		}
	}
}

func TestParseErrors(t *testing.T) {
	f := newFlags("scan", "FILE")
	_, err := f.parse([]string{"file.png", "--bogus"}, io.Discard)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("unknown flag: %v, want a usage error", err)
	}
	var out bytes.Buffer
	_, err = newFlags("scan", "FILE").parse([]string{"-h"}, &out)
	if !errors.Is(err, errHelp) || !strings.Contains(out.String(), "-profile") {
		t.Fatalf("-h: %v, output %q", err, out.String())
	}
}

// runCmd runs mobile-sim with args and returns its exit code and output.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageExitCodes(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{nil, exitUsage, "usage: mobile-sim COMMAND"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"help"}, exitOK, ""},
		{[]string{"scan", "-h"}, exitOK, ""},
		{[]string{"scan"}, exitUsage, "give exactly one source"},
		{[]string{"scan", "a.png", "--screen"}, exitUsage, "give exactly one source"},
		{[]string{"scan", "a.png", "--yes", "--deny"}, exitUsage, "contradict"},
		{[]string{"scan", "-"}, exitUsage, "answer with --yes or --deny"},
		{[]string{"scan", "--camera", "-", "--deny"}, exitFailure, "not logged in"},
		{[]string{"scan", "--payload", "x", "--timeout", "0s"}, exitUsage, "--timeout must be positive"},
		{[]string{"scan", "--code", "WDJB-MJHT", "a.png"}, exitUsage, "give exactly one source"},
		{[]string{"scan", "--code", "WDJB-MJHT", "--payload", "x"}, exitUsage, "give exactly one source"},
		{[]string{"scan", "--code", "HELLO-WORLD", "--yes"}, exitUsage, "--code HELLO-WORLD is not a device's code"},
		{[]string{"scan", "--code", "wdjb-mjht", "--yes"}, exitFailure, "not logged in"},
		{[]string{"login"}, exitUsage, "--username is required"},
		{[]string{"login", "--username", "a"}, exitUsage, "stdin is not a terminal"},
		{[]string{"register", "--username", "a"}, exitUsage, "stdin is not a terminal"},
		{[]string{"login", "--username", "a", "--password", "p", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"revoke"}, exitUsage, "exactly one session ID"},
		{[]string{"decode"}, exitUsage, "at least one image"},
		{[]string{"sessions", "-profile", "../evil"}, exitFailure, "bad profile name"},
		{[]string{"sessions"}, exitFailure, "not logged in"},
		{[]string{"logout"}, exitFailure, "not logged in"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("mobile-sim %q: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.err)
		}
	}
}

func TestScanPayloadNotQRLogin(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	p, err := loadProfile("default")
	if err != nil {
		t.Fatal(err)
	}
	p.Server, p.DeviceToken = "http://127.0.0.1:1", "tok"
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "", "scan", "--payload", "WIFI:S:home;;", "--yes")
	if code != exitNotPayload || !strings.Contains(stderr, `not a qrlogin QR payload: text "WIFI:S:home;;"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// The device token goes only to the server that issued it.
func TestScanRefusesOtherServer(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	p, _ := loadProfile("default")
	p.Server, p.DeviceToken = "http://127.0.0.1:1", "secret-token"
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "", "scan", "--payload", "https://evil.example/q/AAAAAAAAAAAAAAAAAAAAAA", "--yes")
	if code != exitFailure || !strings.Contains(stderr, "is for https://evil.example") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stdout+stderr, "secret-token") {
		t.Error("the device token was printed")
	}
}

func TestSameServer(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", true},
		{"HTTP://Example.com/x/", "http://example.com/x", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"http://example.com", "https://example.com", false},
		{"http://example.com/a", "http://example.com/b", false},
	} {
		if got := sameServer(tt.a, tt.b); got != tt.same {
			t.Errorf("sameServer(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                         "just now",
		2*time.Second + 400*time.Millisecond: "2 s ago",
		3 * time.Minute:                      "3 min ago",
		5 * time.Hour:                        "5 h ago",
		72 * time.Hour:                       "3 days ago",
	} {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestServerUnreachable(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	code, _, stderr := runCmd(t, "", "register", "-server", "http://127.0.0.1:1", "--username", "a", "--password", "p")
	if code != exitFailure || !strings.HasPrefix(stderr, "mobile-sim: register: cannot reach the server: dial tcp 127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// An app's login is shown as one: its name, scopes and where it returns.
func TestShowAppLogin(t *testing.T) {
	var out strings.Builder
	now := time.Now()
	e := &env{stdout: &out, now: func() time.Time { return now }}
	e.showDesktop(api.ScanResponse{
		Desktop: api.DesktopInfo{Name: "Web browser", OS: "Linux", IP: "127.0.0.1", CreatedAt: now},
		App:     &api.App{ClientID: "c", Name: "Demo Site", Scopes: []string{"openid", "profile"}, RedirectHost: "demo.example"},
	})
	for _, want := range []string{`The app "Demo Site" asks to log you in`, "openid profile", "demo.example", "Web browser"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	e.showDesktop(api.ScanResponse{Desktop: api.DesktopInfo{Name: "PC", CreatedAt: now}})
	if !strings.Contains(out.String(), "A desktop asks to log in") || strings.Contains(out.String(), "app") {
		t.Fatalf("a desktop login shown as:\n%s", out.String())
	}
}

// A device's login shows its user code, set apart, and asks whether the TV
// shows it.
func TestShowDeviceLogin(t *testing.T) {
	var out, errOut strings.Builder
	now := time.Now()
	e := &env{stdin: strings.NewReader("y\n"), stdout: &out, stderr: &errOut, now: func() time.Time { return now }}
	r := api.ScanResponse{
		Desktop: api.DesktopInfo{Name: "TV App", IP: "192.0.2.1", CreatedAt: now},
		App:     &api.App{ClientID: "tv", Name: "TV App", Scopes: []string{"openid"}, UserCode: "WDJB-MJHT"},
		Warning: "This device is on a different network from your phone.",
	}
	e.showDesktop(r)
	if !strings.Contains(out.String(), "\n    Check that the TV shows WDJB-MJHT\n") || !strings.Contains(out.String(), "a device (TV App)") {
		t.Fatalf("a device's login shown as:\n%s", out.String())
	}
	if !e.decide(scanOpts{}, r) || !strings.Contains(errOut.String(), "Does the TV show WDJB-MJHT?") {
		t.Fatalf("asked %q", errOut.String())
	}
	r.App.UserCode = "WDJB\x1b[2J"
	out.Reset()
	e.showDesktop(r)
	if strings.Contains(out.String(), "\x1b") {
		t.Fatalf("a user code from the server is printed raw: %q", out.String())
	}
}

// --code becomes the device's verification_uri_complete on the server the
// phone is logged in to; a scanned text of either kind is a payload.
func TestScanSourceOfDevice(t *testing.T) {
	e := &env{}
	got, err := e.scanSource(scanOpts{code: "WDJBMJHT"}, "http://127.0.0.1:8080")
	if err != nil || got != "http://127.0.0.1:8080/device?user_code=WDJB-MJHT" {
		t.Fatalf("scanSource(--code) = %q, %v", got, err)
	}
	device := "https://login.example/device?user_code=WDJB-MJHT"
	if got, err := firstPayload("shot.png", []string{"WIFI:S:home;;", device}); err != nil || got != device {
		t.Errorf("firstPayload of a device's QR = %q, %v", got, err)
	}
	if got, err := e.scanSource(scanOpts{payload: device}, ""); err != nil || got != device {
		t.Errorf("scanSource(--payload device URI) = %q, %v", got, err)
	}
	qr, err := qrcode.Encode(device, qrcode.Medium, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(qr))
	if err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(img.Bounds())
	draw.Draw(gray, gray.Bounds(), img, img.Bounds().Min, draw.Src)
	f := &frames{name: "clip", deadline: time.Now().Add(time.Minute)}
	if !f.each(gray.Pix, gray.Rect.Dx(), gray.Rect.Dy()) || f.payload != device {
		t.Errorf("a camera frame of a device's QR: payload %q", f.payload)
	}
}

// An image whose decoding would take too much memory is an unreadable file
// (exit 2), refused with a message that says why.
func TestHugeImageExitCode(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA64(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes() // claim 6000×6000 in IHDR (bytes 16..23) and fix its CRC
	binary.BigEndian.PutUint32(b[16:], 6000)
	binary.BigEndian.PutUint32(b[20:], 6000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	file := writeFile(t, "shot.png", b)
	code, _, stderr := runCmd(t, "", "decode", file)
	want := "mobile-sim: decode: " + file + ": 6000×6000 pixels of 16-bit RGBA would take 275 MiB to decode; the limit is 256 MiB\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, want)
	}
}

// scan --camera DEVICE reads the camera through ffmpeg: a device that is
// no camera, or a missing ffmpeg, makes an unreadable source (exit 2) whose
// message names the device and says why.
func TestScanCameraDevice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cameras are character devices on Linux only")
	}
	e := &env{}
	o := scanOpts{camera: "/dev/null", timeout: time.Minute}
	t.Run("not a camera", func(t *testing.T) {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			t.Skip("ffmpeg not on PATH; skipping --camera on a device")
		}
		_, err := e.scanSource(o, "")
		want := "camera /dev/null: ffmpeg failed (exit status 1): [video4linux2,v4l2] ioctl(VIDIOC_QUERYCAP): Inappropriate ioctl for device"
		if exitCode(err) != exitUsage || !strings.HasPrefix(fmt.Sprint(err), want) {
			t.Errorf("exit %d, %v; want exit %d and %s...", exitCode(err), err, exitUsage, want)
		}
	})
	t.Run("no ffmpeg", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := e.scanSource(o, "")
		want := "camera /dev/null: reading a camera needs ffmpeg, which was not found: install it"
		if exitCode(err) != exitUsage || !strings.HasPrefix(fmt.Sprint(err), want) {
			t.Errorf("exit %d, %v; want exit %d and %s...", exitCode(err), err, exitUsage, want)
		}
	})
}
