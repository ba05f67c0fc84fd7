package capture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadV4L2Camera reads a few frames from /dev/video0 when there is
// one.
func TestReadV4L2Camera(t *testing.T) {
	if _, err := os.Stat("/dev/video0"); err != nil {
		t.Skip("no /dev/video0 (no camera here); skipping live V4L2 capture")
	}
	frames := 0
	err := ReadV4L2("/dev/video0", 5*time.Second, func(gray []byte, w, h int) bool {
		if len(gray) != w*h || w == 0 {
			t.Fatalf("frame %dx%d with %d bytes", w, h, len(gray))
		}
		frames++
		return frames == 3
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadV4L2Errors checks the messages for things that are not cameras.
func TestReadV4L2Errors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"/dev/video-does-not-exist": "/dev/video-does-not-exist: no such device",
		file:                        "not a V4L2 capture device",
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		cases["/dev/null"] = "/dev/null: not a V4L2 capture device"
	}
	for dev, want := range cases {
		called := false
		err := ReadV4L2(dev, time.Second, func([]byte, int, int) bool { called = true; return true })
		if err == nil || !strings.Contains(err.Error(), want) && !strings.Contains(err.Error(), "not supported on") {
			t.Errorf("%s: got %v, want an error containing %q", dev, err, want)
		}
		if called {
			t.Errorf("%s: callback called", dev)
		}
	}
}
