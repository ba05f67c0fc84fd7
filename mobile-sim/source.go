package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/mobile-sim/capture"
	"github.com/qrlogin/qrlogin/mobile-sim/decode"
	"github.com/qrlogin/qrlogin/server/api"
)

// readImage loads the image at path, or stdin for "-". Any failure is an
// unreadable-file error (exit 2) that names the file.
func (e *env) readImage(path string) (image.Image, error) {
	var img image.Image
	var err error
	if path == "-" {
		img, err = decode.LoadReader("stdin", e.stdin)
	} else {
		img, err = decode.Load(path)
	}
	if err != nil {
		return nil, withCode(exitUsage, "%s", naming(path, err))
	}
	return img, nil
}

// grabScreen captures the X11 screen of $DISPLAY. Failure is exit 2.
func grabScreen() (image.Image, error) {
	display := os.Getenv("DISPLAY")
	if display == "" {
		return nil, withCode(exitUsage, "--screen needs an X display, and DISPLAY is not set")
	}
	img, err := capture.Screen(display)
	if err != nil {
		return nil, withCode(exitUsage, "capturing the screen %s: %v", display, err)
	}
	return img, nil
}

// screenName names the screen source in messages and -json output.
func screenName() string { return "screen " + os.Getenv("DISPLAY") }

// texts decodes img and returns the texts of its QR codes. Finding none is
// exit 3; the decoder's error says what it tried.
func texts(name string, img image.Image) ([]string, error) {
	res, err := decode.Decode(img)
	if err == nil && len(res) == 0 {
		err = decode.ErrNotFound
	}
	if err != nil {
		return nil, withCode(exitNoCode, "%s", naming(name, err))
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Text
	}
	return out, nil
}

// naming returns err's text, prefixed by name unless it already says it.
func naming(name string, err error) string {
	if strings.Contains(err.Error(), name) {
		return err.Error()
	}
	return name + ": " + err.Error()
}

// firstPayload returns the first of texts that is a qrlogin payload, a
// desktop's or a device's (api.ParseAnyPayload). When none is, the error
// (exit 4) says what the first code contains.
func firstPayload(name string, texts []string) (string, error) {
	var first error
	for _, t := range texts {
		_, err := api.ParseAnyPayload(t)
		if err == nil {
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", withCode(exitNotPayload, "%s: the QR code is %v", name, first)
}

// frames is a search for a qrlogin payload (either kind) in a stream of
// camera frames.
type frames struct {
	name     string
	deadline time.Time
	seen     int
	payload  string
	other    string // text of the first code that was not a payload
}

// each decodes one gray frame and reports whether to stop: a payload was
// found or the time is up.
func (s *frames) each(gray []byte, w, h int) bool {
	s.seen++
	if res, err := decode.DecodeGray(gray, w, h); err == nil {
		for _, r := range res {
			if _, perr := api.ParseAnyPayload(r.Text); perr == nil {
				s.payload = r.Text
				return true
			}
			if s.other == "" {
				s.other = r.Text
			}
		}
	}
	return time.Now().After(s.deadline)
}

// result turns the end of the search into the payload or the error to
// report: the source could not be read (exit 2), only other codes were seen
// (exit 4), or none at all (exit 3).
func (s *frames) result(readErr error, timeout time.Duration) (string, error) {
	switch {
	case s.payload != "":
		return s.payload, nil
	case readErr != nil && s.seen == 0:
		return "", withCode(exitUsage, "%s", naming(s.name, readErr))
	case s.other != "":
		return firstPayload(s.name, []string{s.other})
	}
	why := fmt.Sprintf("in %d frames", s.seen)
	if time.Now().After(s.deadline) {
		why += fmt.Sprintf(" within %s", timeout)
	}
	if readErr != nil {
		why += fmt.Sprintf(" (the stream broke off: %v)", readErr)
	}
	return "", withCode(exitNoCode, "%s: no QR code found %s", s.name, why)
}

// readCamera reads frames from a camera through ffmpeg, or from a
// YUV4MPEG2 clip (a file, a pipe, or stdin for "-"), until one carries a
// qrlogin payload or timeout passes.
func (e *env) readCamera(source string, timeout time.Duration) (string, error) {
	s := &frames{name: source, deadline: time.Now().Add(timeout)}
	if source == "-" {
		s.name = "stdin"
		return s.result(readY4M(e.stdin, s.each), timeout)
	}
	st, err := os.Stat(source)
	switch {
	case err == nil && st.Mode()&os.ModeCharDevice != 0,
		err != nil && runtime.GOOS != "linux":
		// A V4L2 device is a character device; macOS and Windows name
		// cameras instead ("0", "video=Integrated Camera").
		return s.result(readCameraDevice(source, timeout, s), timeout)
	case err != nil:
		return "", withCode(exitUsage, "%s", naming(source, err))
	}
	f, err := os.Open(source)
	if err != nil {
		return "", withCode(exitUsage, "%s", naming(source, err))
	}
	defer f.Close()
	return s.result(readY4M(f, s.each), timeout)
}

// readCameraDevice is capture.ReadCamera for at most timeout, where the
// time running out after some frames is no error (s.result says so).
func readCameraDevice(device string, timeout time.Duration, s *frames) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := capture.ReadCamera(ctx, device, s.each)
	if errors.Is(err, context.DeadlineExceeded) {
		if s.seen == 0 {
			return fmt.Errorf("camera %s: no frame within %s", device, timeout)
		}
		return nil
	}
	return err
}

// readY4M is capture.ReadY4M where the clip's end is no error.
func readY4M(r io.Reader, each func(gray []byte, w, h int) bool) error {
	err := capture.ReadY4M(r, each)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
