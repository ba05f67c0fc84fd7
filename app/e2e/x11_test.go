package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startXvfb starts an X server on a free display, stopped when the test
// ends, and returns its name (":N"). Xvfb picks the display itself
// (-displayfd), so that parallel runs never collide.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = logFile(t, "xvfb.log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
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
			t.Fatal("Xvfb did not say which display it took (see xvfb.log)")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
	}
	return ""
}

// shot is a screenshot of the window, saved in the artifacts folder.
type shot struct {
	path string
	pix  []byte // the window's pixels, to compare shots
}

// screenshot waits until the window shows a picture that holds still (two
// captures alike), differs from not (the previous state's shot, if any)
// and passes ok (if not nil, given the saved file), and saves it as name in
// the artifacts folder. The app reports a state once the webview painted
// it, but the window may be drawn a little later.
func screenshot(t *testing.T, display, name string, not *shot, ok func(path string) bool) shot {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last []byte
	for {
		img := capture(t, display)
		path := filepath.Join(artifacts(t), name)
		pix := savePNG(t, img, path)
		still := bytes.Equal(pix, last)
		last = pix
		if still && (not == nil || !bytes.Equal(pix, not.pix)) && (ok == nil || ok(path)) {
			t.Logf("screenshot %s (%dx%d window)", path, img.Bounds().Dx(), img.Bounds().Dy())
			return shot{path: path, pix: pix}
		}
		if time.Now().After(deadline) {
			t.Fatalf("screenshot %s: the window did not settle on the expected picture within 15 s (last capture saved)", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// capture grabs the display with ImageMagick's import and crops it to the
// window: whatever is not the black root.
func capture(t *testing.T, display string) *image.NRGBA {
	t.Helper()
	full := filepath.Join(t.TempDir(), "root.png")
	if out, err := exec.Command("import", "-display", display, "-window", "root", full).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	win := windowBounds(img)
	if win.Empty() {
		t.Fatal("the screen is blank: no window")
	}
	out := image.NewNRGBA(image.Rect(0, 0, win.Dx(), win.Dy()))
	draw.Draw(out, out.Bounds(), img, win.Min, draw.Src)
	return out
}

// savePNG writes img to path and returns its pixels.
func savePNG(t *testing.T, img *image.NRGBA, path string) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return img.Pix
}

// windowBounds returns the smallest rectangle that holds every pixel that
// is not black: the window on Xvfb's black root.
func windowBounds(img image.Image) image.Rectangle {
	b := img.Bounds()
	win := image.Rectangle{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r|g|bl > 0x0f00 {
				win = win.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return win
}

// artifacts is the folder for screenshots and logs: desktop/ in
// $QRLOGIN_ARTIFACTS, else in test-output at the repository's root.
func artifacts(t *testing.T) string {
	t.Helper()
	root := os.Getenv("QRLOGIN_ARTIFACTS")
	if root == "" {
		root = filepath.Join(repoRoot(t), "test-output")
	}
	dir := filepath.Join(root, "desktop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logFile creates name in the artifacts folder, closed when the test ends.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(artifacts(t), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// repoRoot is the repository's root, two folders up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// needTools fails the test, naming the Debian package, for each tool that
// is missing.
func needTools(t *testing.T) {
	t.Helper()
	var missing []string
	for tool, pkg := range map[string]string{"Xvfb": "xvfb", "import": "imagemagick"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", tool, pkg))
		}
	}
	if len(missing) > 0 {
		t.Fatalf("QRLOGIN_E2E_DESKTOP is set but the test needs %s", strings.Join(missing, ", "))
	}
}
