//go:build linux

// ReadCamera's tests run on Linux: they read /proc to see that ffmpeg is
// gone, and its camera input there is v4l2.

package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
)

// needFFmpeg skips the test when ffmpeg is not on PATH.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not on PATH; skipping the cameras read through ffmpeg (apt install ffmpeg)")
	}
}

// scenePNG writes a 640×480 PNG, a camera's view of a QR code of text on
// a gray desk, into a new temporary directory and returns its path.
func scenePNG(t *testing.T, text string) string {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	scene := image.NewGray(image.Rect(0, 0, 640, 480))
	draw.Draw(scene, scene.Bounds(), image.NewUniform(color.Gray{Y: 90}), image.Point{}, draw.Src)
	draw.Draw(scene, image.Rect(230, 120, 230+260, 120+260), q.Image(260), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, scene); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scene.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// webcam is an ffmpeg lavfi input that stands in for a webcam: the image
// at path at 25 frames a second, in YUYV (what webcams deliver), endless
// when loop is set, else one frame.
func webcam(path string, loop bool) string {
	n := 1
	if loop {
		n = 0 // forever
	}
	return fmt.Sprintf("movie='%s':loop=%d,setpts=N/(25*TB),format=yuyv422", path, n)
}

// children returns the ids of this process's child processes whose
// command line holds marker.
func children(marker string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err1 := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		stat, err2 := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err1 != nil || err2 != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		// stat is "pid (comm) state ppid ...".
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertGone fails the test unless each of pids has exited and been waited
// for: a process not waited for lingers as a zombie in /proc.
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	if len(pids) == 0 {
		t.Fatal("saw no ffmpeg process while it ran")
	}
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			t.Errorf("ffmpeg (pid %d) is still there after ReadCamera returned: %s", pid, stat)
		}
	}
}

// TestReadCameraQR reads a webcam's stream through ffmpeg with the code
// that ships, swapping only ffmpeg's input for one that needs no camera,
// until a frame decodes; ffmpeg is then stopped and waited for.
func TestReadCameraQR(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	const text = "qrlogin camera test"
	scene := scenePNG(t, text)
	var pids []int
	frames, found := 0, ""
	err := readFFmpeg(t.Context(), "lavfi", webcam(scene, true), func(gray []byte, w, h int) bool {
		frames++
		if w != 640 || h != 480 || len(gray) != w*h {
			t.Fatalf("frame %d: %dx%d with %d bytes, want 640x480", frames, w, h, len(gray))
		}
		if frames == 1 {
			pids = children(scene)
		}
		if res, err := decode.DecodeGray(gray, w, h); err == nil && len(res) > 0 {
			found = res[0].Text
		}
		return found != "" || frames == 10
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != text {
		t.Fatalf("decoded %q in %d frames, want %q", found, frames, text)
	}
	assertGone(t, pids)
}

// TestReadCameraCancel ends the context while frames come and while ffmpeg
// waits for a camera that gives none: ReadCamera returns the context's
// cause, and ffmpeg is gone.
func TestReadCameraCancel(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	giveUp := errors.New("the test gives up")

	t.Run("streaming", func(t *testing.T) {
		t.Parallel()
		scene := scenePNG(t, "never mind")
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		var pids []int
		frames := 0
		err := readFFmpeg(ctx, "lavfi", webcam(scene, true), func(gray []byte, w, h int) bool {
			if frames++; frames == 3 {
				pids = children(scene)
				cancel(giveUp)
			}
			return false
		})
		if !errors.Is(err, giveUp) || !strings.Contains(err.Error(), scene) {
			t.Fatalf("got %v, want an error naming the input that wraps %q", err, giveUp)
		}
		assertGone(t, pids)
	})

	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		// ffmpeg blocks opening a FIFO that nobody writes, as on a camera
		// that never delivers a frame.
		fifo := filepath.Join(t.TempDir(), "stalled-camera")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		found := make(chan []int, 1)
		go func() {
			defer cancel(giveUp)
			for range 200 {
				if pids := children(fifo); len(pids) > 0 {
					found <- pids
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			found <- nil
		}()
		err := readFFmpeg(ctx, "yuv4mpegpipe", fifo, func([]byte, int, int) bool {
			t.Error("a frame from a FIFO that nobody writes")
			return true
		})
		if !errors.Is(err, giveUp) || !strings.Contains(err.Error(), fifo+": stopped after 0 frames") {
			t.Fatalf("got %v, want an error naming the FIFO that wraps %q", err, giveUp)
		}
		assertGone(t, <-found)
	})
}

// TestReadCameraErrors checks the messages for cameras that cannot be
// read: they name the device and give ffmpeg's reason, and no frame is
// delivered.
func TestReadCameraErrors(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	missing := filepath.Join(t.TempDir(), "video9")
	cases := map[string]string{
		missing:     "camera " + missing + ": ffmpeg failed (exit status 1): [video4linux2,v4l2] Cannot open video device " + missing + ": No such file or directory",
		"/dev/null": "camera /dev/null: ffmpeg failed (exit status 1): [video4linux2,v4l2] ioctl(VIDIOC_QUERYCAP): Inappropriate ioctl for device",
	}
	for dev, want := range cases {
		err := ReadCamera(t.Context(), dev, func([]byte, int, int) bool {
			t.Errorf("%s: a frame", dev)
			return true
		})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s...", dev, err, want)
		}
	}
}

// TestReadCameraEnds checks that a stream that ends is an error wrapping
// io.EOF that says how many frames came.
func TestReadCameraEnds(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	scene := scenePNG(t, "one frame")
	frames := 0
	err := readFFmpeg(t.Context(), "lavfi", webcam(scene, false), func([]byte, int, int) bool {
		frames++
		return false
	})
	if !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "the stream ended after 1 frames") || frames != 1 {
		t.Fatalf("%d frames, error %v; want 1 frame and the stream's end", frames, err)
	}
}

// TestReadCameraNoFFmpeg checks the message when ffmpeg is not installed.
func TestReadCameraNoFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := ReadCamera(t.Context(), "/dev/video0", func([]byte, int, int) bool {
		t.Error("a frame without ffmpeg")
		return true
	})
	want := "camera /dev/video0: reading a camera needs ffmpeg, which was not found: install it"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %s...", err, want)
	}
}

// TestTail checks that ffmpeg's messages are kept bounded and shown
// without the addresses in their prefixes.
func TestTail(t *testing.T) {
	t.Parallel()
	tl := &tail{max: 128}
	if got := tl.lines(2); got != "no message" {
		t.Errorf("empty: %q", got)
	}
	fmt.Fprintf(tl, "%s\n", strings.Repeat("x", 100))
	fmt.Fprintf(tl, "[video4linux2,v4l2 @ 0x55e9493c1900] Cannot open\n\n/dev/video0: gone\n")
	if len(tl.buf) > 128 {
		t.Errorf("kept %d bytes, want at most 128", len(tl.buf))
	}
	if got, want := tl.lines(2), "[video4linux2,v4l2] Cannot open; /dev/video0: gone"; got != want {
		t.Errorf("lines(2) = %q, want %q", got, want)
	}
}
