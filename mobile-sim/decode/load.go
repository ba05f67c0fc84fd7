package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
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

// Limits that keep a hostile file from exhausting memory. A small file can
// announce a huge image (a PNG of 800 KB can hold 10000×10000 pixels of
// 16-bit color, 800 MB once decoded), so the header is read first and the
// image refused before any pixel is decoded.
const (
	// maxFileBytes bounds what is read from a file or stdin; all of it is
	// held in memory while the image is decoded.
	maxFileBytes = 128 << 20
	// maxDecodedBytes bounds the memory that decoding may take: the image
	// that the decoder returns and what it holds beside it (see
	// decodedSize). A 4K screenshot of 16-bit color takes 66 MB.
	maxDecodedBytes = 256 << 20
	// maxPixels bounds the pixels handed to Decode, whose gray planes and
	// bit matrices take a few bytes per pixel more.
	maxPixels = 100_000_000
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
	if st, err := f.Stat(); err == nil {
		switch {
		case st.IsDir():
			return nil, &LoadError{Name: path, Reason: "is a directory, not an image file"}
		case st.Mode().IsRegular() && st.Size() > maxFileBytes:
			return nil, &LoadError{Name: path, Reason: fmt.Sprintf("the file is %s, larger than the %s limit for image files",
				byteSize(float64(st.Size())), byteSize(maxFileBytes))}
		}
	}
	return LoadReader(path, f)
}

// LoadReader decodes an image (PNG, JPEG, GIF, WebP or BMP) from r; name is
// only used in error messages. Errors are *LoadError.
//
// It reads at most 128 MiB from r, and refuses, before decoding any pixel,
// an image whose decoding would take more than 256 MiB (see decodedSize)
// or that has more than 100 million pixels; the error says how large the
// image is and what the limit is.
func LoadReader(name string, r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, &LoadError{Name: name, Reason: "read failed: " + err.Error(), Err: err}
	}
	if len(data) == 0 {
		return nil, &LoadError{Name: name, Reason: "empty file"}
	}
	if len(data) > maxFileBytes {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("the input is larger than the %s limit for image files",
			byteSize(maxFileBytes))}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, format, data, err)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("unsupported image size %dx%d", w, h)}
	}
	if size, what := decodedSize(format, cfg, data); size > maxDecodedBytes {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("%d×%d pixels of %s would take %s to decode; the limit is %s",
			w, h, what, byteSize(size), byteSize(maxDecodedBytes))}
	}
	if float64(w)*float64(h) > maxPixels {
		return nil, &LoadError{Name: name, Reason: fmt.Sprintf("%d×%d pixels is more than the limit of %d million",
			w, h, maxPixels/1_000_000)}
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, format, data, err)
	}
	return img, nil
}

// byteSize writes n bytes for people: "3.0 GiB", "256 MiB".
func byteSize(n float64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", n/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", n/(1<<20))
}

// decodedSize returns how many bytes decoding an image whose header is cfg
// takes at most, and what its pixels are in words ("16-bit RGB"). It is the
// image that the decoder returns, width × height × the bytes per pixel of
// its color model (8 for 16-bit RGBA, 4 for 8-bit RGBA, 2 for 16-bit gray,
// 1 for 8-bit gray and palettes; 3 for JPEG's YCbCr at its finest), and what
// the decoder allocates beside it, where that is more than a few rows:
//   - a PNG of gray or truecolor with a tRNS chunk decodes to RGBA (which
//     image.DecodeConfig does not tell), and an interlaced one to seven
//     passes before the image;
//   - a JPEG keeps YCbCr (and black) planes before converting to RGB or
//     CMYK, and a progressive one 4 bytes of coefficients per sample;
//   - a lossy WebP is 4:2:0 YCbCr, 1.5 bytes per pixel; any other (lossless,
//     or with alpha, which VP8X does not promise) may go through a
//     lossless image twice: 8 bytes per pixel.
func decodedSize(format string, cfg image.Config, data []byte) (float64, string) {
	bpp, what := 8.0, "an unknown color model"
	switch m := cfg.ColorModel; m {
	case color.GrayModel:
		bpp, what = 1, "8-bit gray"
	case color.Gray16Model:
		bpp, what = 2, "16-bit gray"
	case color.RGBAModel:
		bpp, what = 4, "8-bit RGB"
	case color.NRGBAModel:
		bpp, what = 4, "8-bit RGBA"
	case color.RGBA64Model:
		bpp, what = 8, "16-bit RGB"
	case color.NRGBA64Model:
		bpp, what = 8, "16-bit RGBA"
	case color.YCbCrModel:
		bpp, what = 3, "YCbCr color"
	case color.NYCbCrAModel:
		bpp, what = 4, "YCbCr color with alpha"
	case color.CMYKModel:
		bpp, what = 4, "CMYK color"
	default:
		if _, ok := m.(color.Palette); ok {
			bpp, what = 1, "palette colors"
		}
	}
	switch format {
	case "png":
		if _, paletted := cfg.ColorModel.(color.Palette); bpp < 4 && !paletted && pngChunkBeforeIDAT(data, "tRNS") {
			bpp, what = 4*bpp, what+" with a transparent color"
		}
		if len(data) > 28 && data[28] == 1 {
			bpp, what = 2*bpp, what+", interlaced"
		}
	case "jpeg":
		samples := 1.0 // components: gray; YCbCr or RGB; YCbCr and black
		switch cfg.ColorModel {
		case color.YCbCrModel:
			samples = 3
		case color.RGBAModel:
			samples, bpp, what = 3, 3+4, "RGB color"
		case color.CMYKModel:
			samples, bpp = 4, 4+4
		}
		if jpegProgressive(data) {
			bpp, what = bpp+4*samples, what+", progressive"
		}
	case "webp":
		if cfg.ColorModel == color.YCbCrModel && len(data) >= 16 && string(data[12:16]) == "VP8 " {
			bpp, what = 1.5, "lossy YCbCr color"
		} else {
			bpp, what = 8, "lossless or extended WebP"
		}
	}
	return float64(cfg.Width) * float64(cfg.Height) * bpp, what
}

// pngChunkBeforeIDAT reports whether the PNG in data has a chunk of the
// given type before its image data.
func pngChunkBeforeIDAT(data []byte, typ string) bool {
	for i := 8; i+8 <= len(data); {
		switch string(data[i+4 : i+8]) {
		case typ:
			return true
		case "IDAT":
			return false
		}
		n := binary.BigEndian.Uint32(data[i:])
		if n > uint32(len(data)) {
			return false
		}
		i += 12 + int(n)
	}
	return false
}

// jpegProgressive reports whether the JPEG in data is progressive: whether
// its frame header, found by walking the marker segments as image/jpeg
// does (skipping stray bytes between them), is SOF2.
func jpegProgressive(data []byte) bool {
	for i := 2; i+4 <= len(data); {
		switch m := data[i+1]; {
		case data[i] != 0xff:
			i++
		case m == 0xc2:
			return true
		case m == 0xc0 || m == 0xc1 || m == 0xda:
			return false
		case m == 0xff: // fill byte
			i++
		case m == 0x01 || m >= 0xd0 && m <= 0xd8: // no length
			i += 2
		default:
			i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		}
	}
	return false
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
