package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
)

// cameraFormats is ffmpeg's camera input format (-f) on each OS. Only
// v4l2 (Linux) is tested; avfoundation and dshow follow ffmpeg's manual.
var cameraFormats = map[string]string{
	"linux":   "v4l2",
	"darwin":  "avfoundation",
	"windows": "dshow",
}

// installFFmpeg says how to get ffmpeg, for the error when it is missing.
const installFFmpeg = "install it (apt install ffmpeg, dnf install ffmpeg, brew install ffmpeg, " +
	"or https://ffmpeg.org/download.html) and make sure it is on PATH"

// ReadCamera reads frames from a camera through ffmpeg (looked up on PATH)
// and calls each with the luma plane of every frame (w×h bytes, row after
// row), as ReadY4M does, until each returns true; the gray slice is only
// valid during the call. device is what ffmpeg's camera input of this OS
// takes: a V4L2 device such as /dev/video0 on Linux, an AVFoundation
// device such as 0 on macOS, "video=NAME" (DirectShow) on Windows. Only
// Linux is tested.
//
// ReadCamera returns nil when each returned true, and otherwise an error
// that names the device and says why: ffmpeg is not installed; ffmpeg
// failed, with the last lines it wrote (say, "Cannot open video device
// /dev/video0: No such file or directory"); the stream could not be read;
// ctx ended (the error wraps context.Cause(ctx)); or the stream ended (the
// error wraps io.EOF). In every case ffmpeg has exited, been killed if
// need be, and been waited for when ReadCamera returns.
func ReadCamera(ctx context.Context, device string, each func(gray []byte, w, h int) (stop bool)) error {
	format, ok := cameraFormats[runtime.GOOS]
	if !ok {
		return fmt.Errorf("camera %s: reading cameras through ffmpeg is not supported on %s", device, runtime.GOOS)
	}
	return readFFmpeg(ctx, format, device, each)
}

// readFFmpeg is ReadCamera with ffmpeg's input format given: the input is
// "-f format -i device".
func readFFmpeg(parent context.Context, format, device string, each func(gray []byte, w, h int) bool) error {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("camera %s: reading a camera needs ffmpeg, which was not found: %s", device, installFFmpeg)
	}
	ctx, kill := context.WithCancel(parent)
	defer kill()
	// ffmpeg writes 8-bit gray frames, which YUV4MPEG2 calls mono: the luma
	// plane alone, which ReadY4M hands over as it arrives.
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", format, "-i", device,
		"-map", "0:v:0", "-pix_fmt", "gray", "-f", "yuv4mpegpipe", "pipe:1")
	stderr := &tail{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("camera %s: %w", device, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("camera %s: starting ffmpeg: %w", device, err)
	}
	pipe := &eofReader{r: out}
	frames, stopped := 0, false
	readErr := ReadY4M(pipe, func(gray []byte, w, h int) bool {
		frames++
		stopped = each(gray, w, h)
		return stopped
	})
	if !pipe.eof {
		// ffmpeg is still writing, to a reader that is done with it.
		kill()
	}
	// After its output ended, ffmpeg exits by itself, which gives its
	// status; parent's end kills it even then.
	waitErr := cmd.Wait()
	switch {
	case stopped:
		return nil
	case parent.Err() != nil:
		return fmt.Errorf("camera %s: stopped after %d frames: %w", device, frames, context.Cause(parent))
	case !pipe.eof:
		return fmt.Errorf("camera %s: reading ffmpeg's output: %w", device, readErr)
	case waitErr != nil:
		return fmt.Errorf("camera %s: ffmpeg failed (%v): %s", device, waitErr, stderr.lines(3))
	case readErr != nil:
		return fmt.Errorf("camera %s: reading ffmpeg's output: %w", device, readErr)
	}
	return fmt.Errorf("camera %s: the stream ended after %d frames: %w", device, frames, io.EOF)
}

// eofReader is a reader that records whether it has reached the end.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

// tail keeps the last max bytes written to it, such as ffmpeg's last
// messages.
type tail struct {
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

// ffmpegContext matches the address in ffmpeg's message prefixes, as in
// "[video4linux2,v4l2 @ 0x55e9493c1900] ".
var ffmpegContext = regexp.MustCompile(` @ 0x[0-9a-f]+\]`)

// lines returns the last n non-empty lines written, joined by "; ", with
// the addresses in ffmpeg's prefixes left out; "no message" when there are
// none.
func (t *tail) lines(n int) string {
	var keep []string
	for l := range strings.SplitSeq(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, ffmpegContext.ReplaceAllString(l, "]"))
		}
	}
	if len(keep) == 0 {
		return "no message"
	}
	return strings.Join(keep[max(0, len(keep)-n):], "; ")
}
