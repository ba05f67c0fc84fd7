package decode

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"strings"
	"testing"

	"github.com/qrlogin/qrlogin/mobile-sim/decode/internal/qrphotos"
)

// screenshotText is the login URL the benchmark screenshot carries.
const screenshotText = "https://login.example.com/qr/v1?s=4f9c2a7e1b3d5f60a8c9e2b4d6f80a1c&n=Xy7Qp2"

// BenchmarkDecodeScreenshot1080p decodes a synthesized 1920×1080 RGBA
// screenshot of an app window with one ~300 px QR code: gray conversion
// plus the plain path.
func BenchmarkDecodeScreenshot1080p(b *testing.B) {
	img, _ := screenshot(b, 1920, 1080, screenshotText, 7, 1)
	for b.Loop() {
		res, err := Decode(img)
		if err != nil || res[0].Text != screenshotText {
			b.Fatalf("got %v, %v", res, err)
		}
	}
}

// BenchmarkDecodeBlackbox decodes every black-box image (QRLOGIN_QR_PHOTOS)
// once per iteration (images loaded beforehand), including the fallback
// strategies for the hard ones.
func BenchmarkDecodeBlackbox(b *testing.B) {
	cases := qrphotos.Require(b)
	imgs := make([]image.Image, len(cases))
	for i, c := range cases {
		img, err := Load(c.Path)
		if err != nil {
			b.Fatal(err)
		}
		imgs[i] = img
	}
	b.ResetTimer()
	for b.Loop() {
		for _, img := range imgs {
			_, _ = Decode(img)
		}
	}
}

// BenchmarkDecodeNoCode1080p is the cost of giving up on a 1920×1080
// screenshot without a code: all fallback strategies ("full"), or only
// the plain ones of DecodeGrayQuick ("quick").
func BenchmarkDecodeNoCode1080p(b *testing.B) {
	img, _ := screenshot(b, 1920, 1080, "unused", 0, 3) // scale 0: no code drawn
	pix, w, h := grayPlane(img)
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeGray(pix, w, h); !errors.Is(err, ErrNotFound) {
				b.Fatal(err)
			}
		}
	})
	b.Run("quick", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeGrayQuick(pix, w, h); !errors.Is(err, ErrNotFound) {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeDesktopScreenshot decodes a real 1920×1080 screenshot of
// the desktop app's login window (testdata/desktop-1080p.png, decoded from
// PNG beforehand), as `mobile-sim scan --screen` does.
func BenchmarkDecodeDesktopScreenshot(b *testing.B) {
	img, err := Load("testdata/desktop-1080p.png")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Decode(img)
		if err != nil || !strings.Contains(res[0].Text, "/q/") {
			b.Fatalf("got %v, %v", res, err)
		}
	}
}

// BenchmarkDecodeScreenshotPNG is `mobile-sim decode` of a 1920×1080
// screenshot file, beyond loading it: testdata/desktop-1080p.png as it is
// (8-bit RGB, decoded to *image.RGBA) and re-encoded with 16 bits per
// channel, as `import -window root` under Xvfb writes it (decoded to
// *image.RGBA64). The PNG is decoded once; each iteration converts to gray
// and decodes.
func BenchmarkDecodeScreenshotPNG(b *testing.B) {
	img8, err := Load("testdata/desktop-1080p.png")
	if err != nil {
		b.Fatal(err)
	}
	wide := image.NewNRGBA64(img8.Bounds())
	draw.Draw(wide, wide.Rect, img8, wide.Rect.Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, wide); err != nil {
		b.Fatal(err)
	}
	img16, err := LoadReader("desktop-1080p-16bit.png", &buf)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := img16.(*image.RGBA64); !ok {
		b.Fatalf("the 16-bit PNG decoded to %T, want *image.RGBA64", img16)
	}
	for _, c := range []struct {
		name string
		img  image.Image
	}{{"8bit", img8}, {"16bit", img16}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				res, err := Decode(c.img)
				if err != nil || !strings.Contains(res[0].Text, "/q/") {
					b.Fatalf("got %v, %v", res, err)
				}
			}
		})
	}
}
