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
	"runtime"
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
		for n := range 40 {
			d := append([]byte(nil), data[:rng.IntN(len(data)+1)]...)
			if n%2 == 1 {
				d = append([]byte(nil), data...)
				for range 4 {
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
	b := resizedPNG(t, img, 60000, 60000)
	if _, err := LoadReader("big.png", bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(),
		"big.png: 60000×60000 pixels of 8-bit gray would take 3.4 GiB to decode; the limit is 256 MiB") {
		t.Errorf("got %v, want an error about the decoded size", err)
	}
}

// resizedPNG encodes img as a PNG and patches its header to claim w×h
// pixels: the IDAT data stays that of img.
func resizedPNG(t *testing.T, img image.Image, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// IHDR's width and height are bytes 16..23; its CRC (over type and
	// data, bytes 12..28) follows at 29.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// allocated returns the bytes that f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadDecodedMemoryCap checks that an image is refused for the memory
// its decoding takes, not its pixel count: a 200-byte PNG that claims
// 6000×6000 pixels of 16-bit RGBA (36 million pixels, 275 MiB) is refused
// from its header, and the refusal allocates next to nothing.
func TestLoadDecodedMemoryCap(t *testing.T) {
	small := image.NewNRGBA64(image.Rect(0, 0, 1, 1))
	small.Set(0, 0, color.NRGBA64{R: 0xffff, A: 0x8000})
	b := resizedPNG(t, small, 6000, 6000)
	var err error
	n := allocated(func() { _, err = LoadReader("shot.png", bytes.NewReader(b)) })
	const want = "shot.png: 6000×6000 pixels of 16-bit RGBA would take 275 MiB to decode; the limit is 256 MiB"
	if err == nil || err.Error() != want || !errors.Is(err, ErrUnreadable) {
		t.Errorf("got %v, want %q", err, want)
	}
	t.Logf("refusing the %d-byte file allocated %d bytes", len(b), n)
	if n > 1<<20 {
		t.Errorf("refusing a %d-byte file allocated %d bytes, want under 1 MiB", len(b), n)
	}
	// A 4K screenshot of 16-bit color passes.
	if size, _ := decodedSize("png", image.Config{ColorModel: color.RGBA64Model, Width: 3840, Height: 2160}, b); size > maxDecodedBytes {
		t.Errorf("a 4K 16-bit PNG counts %.0f bytes, over the limit", size)
	}
}

// TestLoadFileSizeCap checks that an image file over the byte limit is
// refused before it is read.
func TestLoadFileSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil { // sparse: nothing written
		t.Fatal(err)
	}
	f.Close()
	n := allocated(func() { _, err = Load(path) })
	if want := path + ": the file is 200 MiB, larger than the 128 MiB limit for image files"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("refusing a 200 MiB file allocated %d bytes, want under 1 MiB", n)
	}
}

// TestDecodedSizeBoundsDecoders decodes an image of each kind that the
// decoders treat differently and checks that decodedSize is not less than
// what the decoding allocated (beyond a fixed 256 KiB for tables and
// buffers): the models that image.DecodeConfig does not tell (a PNG with
// tRNS), the planes a JPEG decoder keeps, and a progressive JPEG's
// coefficients.
func TestDecodedSizeBoundsDecoders(t *testing.T) {
	const w, h = 640, 480
	rect := image.Rect(0, 0, w, h)
	gray, gray16 := image.NewGray(rect), image.NewGray16(rect)
	rgba, nrgba := image.NewRGBA(rect), image.NewNRGBA(rect)
	rgba64, nrgba64 := image.NewRGBA64(rect), image.NewNRGBA64(rect)
	pal := image.NewPaletted(rect, color.Palette{color.Black, color.White, color.Gray{0x80}})
	for y := range h {
		for x := range w {
			v := uint8(x ^ y)
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(v) * 257})
			rgba.SetRGBA(x, y, color.RGBA{v, 255 - v, v / 2, 255})
			nrgba.SetNRGBA(x, y, color.NRGBA{v, 255 - v, v / 2, v})
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(v) << 8, 0, 0, 0xffff})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(v) << 8, 0, 0, uint16(v) << 8})
			pal.SetColorIndex(x, y, v%3)
		}
	}
	encode := func(enc func(*bytes.Buffer) error) []byte {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	pngOf := func(img image.Image) []byte {
		return encode(func(b *bytes.Buffer) error { return png.Encode(b, img) })
	}
	jpegOf := func(img image.Image) []byte {
		return encode(func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: 90}) })
	}
	withTRNS := func(data []byte, value ...byte) []byte {
		c := append(binary.BigEndian.AppendUint32(nil, uint32(len(value))), "tRNS"...)
		c = append(c, value...)
		c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
		return append(append(append([]byte(nil), data[:33]...), c...), data[33:]...) // after IHDR
	}
	webpLossless, err := os.ReadFile("testdata/webp-lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	webpLossy, err := os.ReadFile("testdata/webp-lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"png gray":                 pngOf(gray),
		"png gray16":               pngOf(gray16),
		"png gray with tRNS":       withTRNS(pngOf(gray), 0, 7),
		"png gray16 with tRNS":     withTRNS(pngOf(gray16), 0, 7),
		"png rgb":                  pngOf(rgba),
		"png rgba":                 pngOf(nrgba),
		"png rgb16":                pngOf(rgba64),
		"png rgba16":               pngOf(nrgba64),
		"png paletted":             pngOf(pal),
		"jpeg gray":                jpegOf(gray),
		"jpeg ycbcr":               jpegOf(rgba),
		"jpeg gray, progressive":   progressiveJPEG(w, h, 1),
		"jpeg ycbcr, progressive":  progressiveJPEG(w, h, 3),
		"gif":                      encode(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }),
		"bmp rgb":                  encode(func(b *bytes.Buffer) error { return bmp.Encode(b, rgba) }),
		"bmp rgba":                 encode(func(b *bytes.Buffer) error { return bmp.Encode(b, nrgba) }),
		"webp lossless (testdata)": webpLossless,
		"webp lossy (testdata)":    webpLossy,
	}
	for name, data := range cases {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		size, what := decodedSize(format, cfg, data)
		var derr error
		n := allocated(func() { _, _, derr = image.Decode(bytes.NewReader(data)) })
		if derr != nil {
			t.Errorf("%s: %v", name, derr)
		}
		t.Logf("%-26s %-40s allocated %9d, counted %9.0f", name, what, n, size)
		if float64(n) > size+256<<10 {
			t.Errorf("%s (%s): decoding allocated %d bytes, decodedSize said %.0f", name, what, n, size)
		}
	}
}

// progressiveJPEG returns a flat gray progressive JPEG of w×h pixels with
// comps components (1: gray, 3: YCbCr 4:4:4) and a single scan, of the DC
// coefficients, all zero: image/jpeg cannot write one.
func progressiveJPEG(w, h, comps int) []byte {
	segment := func(marker byte, body ...byte) []byte {
		return append([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
	}
	out := []byte{0xff, 0xd8}
	out = append(out, segment(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)...) // DQT
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	sos := []byte{byte(comps)}
	for i := 1; i <= comps; i++ {
		sof = append(sof, byte(i), 0x11, 0)
		sos = append(sos, byte(i), 0)
	}
	out = append(out, segment(0xc2, sof...)...)                                         // SOF2
	out = append(out, segment(0xc4, append([]byte{0, 1}, make([]byte, 15+1)...)...)...) // DHT: DC code "0" for 0
	out = append(out, segment(0xda, append(sos, 0, 0, 0)...)...)                        // SOS: Ss, Se, Ah/Al
	blocks := (w + 7) / 8 * ((h + 7) / 8) * comps
	out = append(out, make([]byte, (blocks+7)/8)...) // one 0 bit per block
	return append(out, 0xff, 0xd9)
}
