package qrimage

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

// Every module must be the same whole number of pixels: go-qrcode's own
// Encode(content, level, 256) stretches some modules, which breaks readers.
func TestWholePixelsPerModule(t *testing.T) {
	c, err := Encode("http://127.0.0.1:8080/q/AAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	for _, px := range []int{1, 100, 256, 300, 1000, 2048} {
		img := c.Image(px)
		w := img.Bounds().Dx()
		scale := c.Scale(px)
		if w != c.Size()*scale || (px >= c.Size() && w > px) {
			t.Fatalf("px=%d: width %d, want %d*%d not above %d", px, w, c.Size(), scale, px)
		}
		// Each module is a uniform scale x scale block.
		for my := 0; my < c.Size(); my++ {
			for mx := 0; mx < c.Size(); mx++ {
				want := img.ColorIndexAt(mx*scale, my*scale)
				for dy := range scale {
					for dx := range scale {
						if img.ColorIndexAt(mx*scale+dx, my*scale+dy) != want {
							t.Fatalf("px=%d: module (%d,%d) is not uniform", px, mx, my)
						}
					}
				}
			}
		}
		// Quiet zone is light.
		for i := 0; i < QuietZone*scale; i++ {
			if img.ColorIndexAt(i, i) != 0 || img.ColorIndexAt(w-1-i, i) != 0 {
				t.Fatalf("px=%d: quiet zone not light at %d", px, i)
			}
		}
	}
}

// The hand-written PNG encoder must decode, with Go's own decoder, to
// exactly the pixels of Image.
func TestPNGMatchesImage(t *testing.T) {
	for _, content := range []string{"x", "http://127.0.0.1:8080/q/AAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("long payload ", 40)} {
		c, err := Encode(content)
		if err != nil {
			t.Fatal(err)
		}
		for _, px := range []int{1, 37, 256, 300, 513, 2048} {
			b, err := c.PNG(px)
			if err != nil {
				t.Fatal(err)
			}
			got, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("px=%d: %v", px, err)
			}
			want := c.Image(px)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("px=%d: bounds %v, want %v", px, got.Bounds(), want.Bounds())
			}
			for y := 0; y < want.Bounds().Dy(); y++ {
				for x := 0; x < want.Bounds().Dx(); x++ {
					g, _, _, _ := got.At(x, y).RGBA()
					dark := want.ColorIndexAt(x, y) == 1
					if (g == 0) != dark {
						t.Fatalf("px=%d: pixel (%d,%d) differs", px, x, y)
					}
				}
			}
		}
	}
}

func TestPNGAndSVG(t *testing.T) {
	c, err := Encode("hello")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG(256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != c.Size()*c.Scale(256) {
		t.Fatalf("PNG width %d", img.Bounds().Dx())
	}
	svg := string(c.SVG(256))
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, `viewBox="0 0 29 29"`) {
		t.Fatalf("SVG = %.120s", svg)
	}
}

func BenchmarkPNG512(b *testing.B) {
	for b.Loop() {
		c, err := Encode("http://127.0.0.1:8080/q/AAAAAAAAAAAAAAAAAAAAAA")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.PNG(512); err != nil {
			b.Fatal(err)
		}
	}
}
