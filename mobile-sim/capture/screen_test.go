package capture

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
)

// startXvfb starts a 1280×800 Xvfb on a display number it picks itself
// and returns that display (":N"); the server is killed when the test
// ends. It skips the test if Xvfb is not installed.
func startXvfb(t *testing.T) string {
	t.Helper()
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb not installed; skipping the X11 screen grab")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -displayfd 3: Xvfb chooses a free display and writes its number to
	// file descriptor 3 (ExtraFiles[0]) once it accepts connections.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb did not report a display: %s", stderr.String())
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not start within 20s: %s", stderr.String())
	}
	return ""
}

// TestScreenXvfb grabs an Xvfb screen and, if ImageMagick's display is
// installed, decodes a QR code it shows on the root window.
func TestScreenXvfb(t *testing.T) {
	disp := startXvfb(t)
	img, err := Screen(disp)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 1280, 800) {
		t.Fatalf("screen is %v, want 1280x800", got)
	}

	show, err := exec.LookPath("display")
	if err != nil {
		t.Skip("ImageMagick display not installed; skipping the QR on the root window")
	}
	// A screen-sized background with the code off-center, so display
	// does not tile it.
	bg := image.NewRGBA(image.Rect(0, 0, 1280, 800))
	draw.Draw(bg, bg.Bounds(), image.NewUniform(color.RGBA{0xee, 0xee, 0xf0, 0xff}), image.Point{}, draw.Src)
	q, _ := qrcode.New("https://login.example.com/qr?s=screen", qrcode.Medium)
	code := q.Image(300)
	draw.Draw(bg, code.Bounds().Add(image.Pt(700, 300)), code, image.Point{}, draw.Src)
	path := filepath.Join(t.TempDir(), "bg.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, bg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(show, "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+disp)
	// display sets the root window's background and exits; its exit
	// status is not meaningful under a bare Xvfb, the grab below is.
	_ = cmd.Run()
	var res []decode.Result
	for range 20 {
		img, err = Screen(disp)
		if err != nil {
			t.Fatal(err)
		}
		if res, err = decode.Decode(img); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || res[0].Text != "https://login.example.com/qr?s=screen" {
		t.Fatalf("decoded %v, %v", res, err)
	}
}

// TestScreenErrors checks the errors without a usable display.
func TestScreenErrors(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := Screen(""); err == nil || !strings.Contains(err.Error(), "DISPLAY is not set") {
		t.Errorf("no DISPLAY: %v", err)
	}
	if _, err := Screen(":4321"); err == nil || !strings.Contains(err.Error(), `cannot connect to X display ":4321"`) {
		t.Errorf("missing display: %v", err)
	}
}

// TestZpixmapRGBA converts pixels of the common TrueColor layouts.
func TestZpixmapRGBA(t *testing.T) {
	want := color.RGBA{0x12, 0x80, 0xfe, 0xff}
	cases := map[string]struct {
		l     pixelLayout
		pixel []byte
	}{
		"32bpp LSB": {pixelLayout{bpp: 32, pad: 32, masks: [3]uint32{0xff0000, 0xff00, 0xff}}, []byte{0xfe, 0x80, 0x12, 0}},
		"32bpp MSB": {pixelLayout{bpp: 32, pad: 32, msbFirst: true, masks: [3]uint32{0xff0000, 0xff00, 0xff}}, []byte{0, 0x12, 0x80, 0xfe}},
		"24bpp LSB": {pixelLayout{bpp: 24, pad: 32, masks: [3]uint32{0xff0000, 0xff00, 0xff}}, []byte{0xfe, 0x80, 0x12}},
		"16bpp 565": {pixelLayout{bpp: 16, pad: 32, masks: [3]uint32{0xf800, 0x07e0, 0x001f}}, []byte{0x1f, 0x14}},
	}
	for name, c := range cases {
		c.l.width, c.l.height = 3, 2
		stride := (3*c.l.bpp + 31) / 32 * 4
		data := make([]byte, stride*2)
		for y := range 2 {
			for x := range 3 {
				copy(data[y*stride+x*len(c.pixel):], c.pixel)
			}
		}
		img, err := zpixmapRGBA(data, c.l)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := img.RGBAAt(2, 1)
		if name == "16bpp 565" {
			want565 := color.RGBA{0x10, 0x81, 0xff, 0xff} // 2/63 and 32/63 widened
			if got != want565 {
				t.Errorf("%s: got %v, want %v", name, got, want565)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if _, err := zpixmapRGBA(make([]byte, 10), pixelLayout{width: 3, height: 2, bpp: 32, pad: 32, masks: [3]uint32{1, 2, 4}}); err == nil {
		t.Error("short data: want an error")
	}
	if _, err := zpixmapRGBA(nil, pixelLayout{width: 1, height: 1, bpp: 12, pad: 32}); err == nil {
		t.Error("12 bpp: want an error")
	}
}
