package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register decoders for Load
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"strings"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// Limits that keep a hostile file from exhausting memory.
const (
	maxFileBytes = 256 << 20
	maxPixels    = 100 << 20
)

// ErrUnreadable is wrapped by every error from Load and LoadReader: the
// file could not be opened or is not a complete image in a supported
// format. Test with errors.Is (a CLI exits 2 for it, but 3 for
// ErrNotFound).
var ErrUnreadable = errors.New("unreadable image")

// LoadError describes why an image could not be loaded. Its message is
// "<name>: <reason>", e.g. "photo.png: not an image (PNG, JPEG, GIF, WebP,
// BMP): unknown format" or "x.png: no such file". It wraps ErrUnreadable
// and the underlying error, if any.
type LoadError struct {
	Name   string
	Reason string
	Err    error
}

func (e *LoadError) Error() string { return e.Name + ": " + e.Reason }

// Unwrap returns ErrUnreadable and the underlying error.
func (e *LoadError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnreadable}
	}
	return []error{ErrUnreadable, e.Err}
}

// Load reads and decodes the image file at path (PNG, JPEG, GIF, WebP or
// BMP; for an animated GIF, the first frame). Errors are *LoadError and
// name the file.
func Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openError(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &LoadError{Name: path, Reason: "is a directory, not an image file"}
	}
	return LoadReader(path, f)
}

// LoadReader decodes an image (PNG, JPEG, GIF, WebP or BMP) from r; name is
// only used in error messages. Errors are *LoadError.
func LoadReader(name string, r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, &LoadError{Name: name, Reason: "read failed: " + err.Error(), Err: err}
	}
	if len(data) == 0 {
		return nil, &LoadError{Name: name, Reason: "empty file"}
	}
	if len(data) > maxFileBytes {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("file larger than %d MiB", maxFileBytes>>20)}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, format, data, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("unsupported image size %dx%d", cfg.Width, cfg.Height)}
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, format, data, err)
	}
	return img, nil
}

// openError turns an os.Open error into a LoadError with a short reason.
func openError(path string, err error) error {
	reason := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err.Error()
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reason = "no such file"
	case errors.Is(err, fs.ErrPermission):
		reason = "permission denied"
	}
	return &LoadError{Name: path, Reason: reason, Err: err}
}

// decodeError explains an image decoding failure; format is the sniffed
// format ("" if unknown).
func decodeError(name, format string, data []byte, err error) error {
	kind := strings.ToUpper(format)
	switch {
	case errors.Is(err, image.ErrFormat):
		return &LoadError{Name: name, Reason: "not an image (PNG, JPEG, GIF, WebP, BMP): unknown format", Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || truncated(format, data):
		return &LoadError{Name: name, Reason: "truncated " + kind + " data (" + err.Error() + ")", Err: err}
	default:
		return &LoadError{Name: name, Reason: "corrupt " + kind + " data: " + err.Error(), Err: err}
	}
}

// truncated tells whether a file of the given format lacks the end its
// structure announces: the IEND chunk of a PNG, the EOI marker of a JPEG,
// the trailer of a GIF, the length in a RIFF (WebP) or BMP header.
func truncated(format string, data []byte) bool {
	switch format {
	case "png":
		return !bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	case "jpeg":
		return !bytes.Contains(data[max(0, len(data)-64):], []byte{0xff, 0xd9})
	case "gif":
		return data[len(data)-1] != 0x3b
	case "webp":
		return len(data) < 8 || int(binary.LittleEndian.Uint32(data[4:8]))+8 > len(data)
	case "bmp":
		return len(data) < 6 || int(binary.LittleEndian.Uint32(data[2:6])) > len(data)
	}
	return false
}
