package main

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/service"
)

// startXvfb starts an Xvfb on a free display and returns it (":N"); it is
// killed when the test ends. It skips the test without Xvfb.
func startXvfb(t *testing.T) string {
	t.Helper()
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb not installed")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -displayfd 3: Xvfb picks a free display and writes its number to fd 3
	// once it accepts connections. -noreset keeps the root window's picture
	// when the last client leaves.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb reported no display")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
	}
	return ""
}

// showOnRoot paints png as the background of the display's root window,
// off-centre on a light screen-sized backdrop, with ImageMagick's display.
func showOnRoot(t *testing.T, disp string, qr []byte) {
	t.Helper()
	show, err := exec.LookPath("display")
	if err != nil {
		t.Skip("ImageMagick's display not installed")
	}
	code, err := png.Decode(bytes.NewReader(qr))
	if err != nil {
		t.Fatal(err)
	}
	bg := image.NewRGBA(image.Rect(0, 0, 1280, 800))
	draw.Draw(bg, bg.Bounds(), image.NewUniform(color.RGBA{0xee, 0xee, 0xf0, 0xff}), image.Point{}, draw.Src)
	draw.Draw(bg, code.Bounds().Add(image.Pt(600, 150)), code, code.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	png.Encode(&buf, bg)
	path := writeFile(t, "root.png", buf.Bytes())
	cmd := exec.Command(show, "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+disp)
	cmd.Run() // its exit status means little under a bare Xvfb; the grab tells
}

// scan --screen reads the desktop's QR code off an X11 screen.
func TestEndToEndScreen(t *testing.T) {
	disp := startXvfb(t)
	t.Setenv("DISPLAY", disp)
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchNever)
	sim(t, exitOK, "register", "-server", url, "--username", "erin", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "erin", "--password", "a long enough password")

	d := newDesktop(t, url)
	showOnRoot(t, disp, d.qrPNG(t))
	var out string
	for range 30 {
		var code int
		if code, out, _ = runCmd(t, "", "decode", "--screen"); code == exitOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.TrimSpace(out) != d.ticket.QRPayload {
		t.Fatalf("decode --screen = %q, want %q", out, d.ticket.QRPayload)
	}
	out, _ = sim(t, exitOK, "scan", "--screen", "--yes")
	if !strings.Contains(out, "state: confirmed") {
		t.Errorf("scan --screen printed %q", out)
	}
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Errorf("desktop's last event %+v, want confirmed", ev)
	}
	t.Setenv("DISPLAY", "")
	if _, errOut := sim(t, exitUsage, "scan", "--screen", "--yes"); !strings.Contains(errOut, "DISPLAY is not set") {
		t.Errorf("scan --screen without a display: %q", errOut)
	}
}
