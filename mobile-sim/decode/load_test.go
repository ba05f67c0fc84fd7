package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/bmp"
)

// TestLoadFormats checks that every supported format loads and decodes.
func TestLoadFormats(t *testing.T) {
	q, err := qrcode.New("format test", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	src := q.Image(200)
	encoders := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 75}) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
	}
	dir := t.TempDir()
	for name, enc := range encoders {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "qr."+name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Load(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		res, err := Decode(img)
		if err != nil || res[0].Text != "format test" {
			t.Errorf("%s: decoded %v, %v", name, res, err)
		}
	}
	for _, f := range []string{"testdata/webp-lossless.webp", "testdata/webp-lossy.webp"} {
		img, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		res, err := Decode(img)
		if err != nil || res[0].Text != "webp works" {
			t.Errorf("%s: decoded %v, %v", f, res, err)
		}
	}
}

// TestLoadErrors checks that unreadable input gives a *LoadError that
// names the file, says why, and wraps ErrUnreadable (not ErrNotFound).
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	var good bytes.Buffer
	q, _ := qrcode.New("x", qrcode.Low)
	if err := png.Encode(&good, q.Image(64)); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.png"), "missing.png: no such file"},
		{dir, "is a directory"},
		{write("empty.png", nil), "empty.png: empty file"},
		{write("photo.png", []byte("this is just some text, not an image")), "photo.png: not an image (PNG, JPEG, GIF, WebP, BMP): unknown format"},
		{write("cut.png", good.Bytes()[:good.Len()/2]), "cut.png: truncated PNG data"},
		{write("cut-header.png", good.Bytes()[:20]), "cut-header.png: truncated PNG data"},
		{write("bad.jpg", append([]byte{0xff, 0xd8, 0xff, 0xdb}, bytes.Repeat([]byte{7}, 50)...)), "bad.jpg: "},
	}
	for _, c := range cases {
		img, err := Load(c.path)
		if err == nil {
			t.Errorf("%s: loaded %T, want an error", c.path, img)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.path, err, c.want)
		}
		if !strings.HasPrefix(err.Error(), c.path+": ") {
			t.Errorf("error %q does not start with the file name", err)
		}
		var le *LoadError
		if !errors.Is(err, ErrUnreadable) || errors.Is(err, ErrNotFound) || !errors.As(err, &le) {
			t.Errorf("%s: error %v does not wrap ErrUnreadable as a *LoadError", c.path, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v does not wrap os.ErrNotExist", err)
	}
}

// TestLoadReaderCorrupt feeds truncated and bit-flipped images of every
// format to LoadReader and Decode: errors are fine, panics are not.
func TestLoadReaderCorrupt(t *testing.T) {
	q, _ := qrcode.New("corrupt", qrcode.Low)
	src := q.Image(80)
	var pngB, jpgB, gifB, bmpB bytes.Buffer
	_ = png.Encode(&pngB, src)
	_ = jpeg.Encode(&jpgB, src, nil)
	_ = gif.Encode(&gifB, src, nil)
	_ = bmp.Encode(&bmpB, src)
	webp, err := os.ReadFile("testdata/webp-lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, data := range [][]byte{pngB.Bytes(), jpgB.Bytes(), gifB.Bytes(), bmpB.Bytes(), webp} {
		for n := 0; n < 40; n++ {
			d := append([]byte(nil), data[:rng.IntN(len(data)+1)]...)
			if n%2 == 1 {
				d = append([]byte(nil), data...)
				for k := 0; k < 4; k++ {
					d[8+rng.IntN(len(d)-8)] ^= byte(1 << rng.IntN(8))
				}
			}
			img, err := LoadReader("fuzz", bytes.NewReader(d))
			if err != nil {
				if !errors.Is(err, ErrUnreadable) || !strings.HasPrefix(err.Error(), "fuzz: ") {
					t.Errorf("error %q: want a LoadError for fuzz", err)
				}
				continue
			}
			_, _ = Decode(img)
		}
	}
}

// TestLoadSizeLimit checks that a header claiming a huge image is refused
// before decoding.
func TestLoadSizeLimit(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// IHDR width and height live at bytes 16..23; claim 60000×60000 and
	// fix the chunk's CRC (over type and data, bytes 12..28).
	copy(b[16:24], []byte{0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60})
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	if _, err := LoadReader("big.png", bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "60000x60000") {
		t.Errorf("got %v, want an unsupported size error", err)
	}
}
