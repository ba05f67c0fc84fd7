package decode

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing/common"
	"github.com/skip2/go-qrcode"
)

// expectText fails unless res holds exactly want (and nothing else).
func expectText(t *testing.T, res []Result, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("not decoded: %v", err)
	}
	for _, r := range res {
		if r.Text != want {
			t.Fatalf("misread by %s: got %q, want %q", r.Strategy, r.Text, want)
		}
	}
	t.Logf("read by %s", res[0].Strategy)
}

// TestDecodeSynthetic draws codes under the conditions a camera or a
// screenshot produces and requires each to decode exactly.
func TestDecodeSynthetic(t *testing.T) {
	const text = "https://login.example.com/qr?s=7b1f0c9e2d4a6b8c&n=Q3"
	rng := rand.New(rand.NewPCG(11, 12))
	plain := func(module, angle float64, w, h int) *image.Gray {
		g := newGray(w, h, 255)
		renderQR(g, qrBitmap(t, text, qrcode.Medium), placement{module, float64(w) / 2, float64(h) / 2, angle}, 0, 255)
		return g
	}
	cases := []struct {
		name string
		img  func() image.Image
	}{
		{"upright", func() image.Image { return plain(6, 0, 400, 400) }},
		{"rotated-15", func() image.Image { return plain(6, 15, 400, 400) }},
		{"rotated-45", func() image.Image { return plain(5, 45, 400, 400) }},
		{"rotated-90", func() image.Image { return plain(6, 90, 400, 400) }},
		{"rotated-200", func() image.Image { return plain(6, 200, 400, 400) }},
		{"tiny-1.5px", func() image.Image { return plain(1.5, 0, 120, 120) }},
		{"small-2px-rotated", func() image.Image { return plain(2, 10, 200, 200) }},
		{"huge-40px", func() image.Image { return plain(40, 3, 1900, 1900) }},
		{"blurred", func() image.Image { g := plain(6, 5, 400, 400); boxBlur(g, 2); return g }},
		{"jpeg-q10", func() image.Image { return jpegRoundTrip(t, plain(4, 7, 300, 300), 10) }},
		{"inverted", func() image.Image {
			g := newGray(400, 400, 20)
			renderQR(g, qrBitmap(t, text, qrcode.Medium), placement{6, 200, 200, 8}, 235, 20)
			return g
		}},
		{"low-contrast", func() image.Image {
			g := newGray(400, 400, 150)
			renderQR(g, qrBitmap(t, text, qrcode.Medium), placement{6, 200, 200, 0}, 110, 150)
			return g
		}},
		{"noisy", func() image.Image { g := plain(5, 12, 400, 400); addNoise(g, rng, 60); return g }},
		{"specks", func() image.Image { g := plain(6, 0, 400, 400); addSpecks(g, rng, 0.08); return g }},
		{"busy-background", func() image.Image {
			g := newGray(500, 500, 0)
			for i := range g.Pix { // random dark and light blotches
				x, y := i%500, i/500
				g.Pix[i] = byte(((x/9)*7 + (y/13)*5 + rng.IntN(40)) % 256)
			}
			renderQR(g, qrBitmap(t, text, qrcode.Medium), placement{5, 260, 240, 20}, 0, 255)
			addNoise(g, rng, 25)
			return g
		}},
		{"screenshot-1080p", func() image.Image { img, _ := screenshot(t, 1920, 1080, text, 7, 2); return img }},
		{"screenshot-4k-small-code", func() image.Image { img, _ := screenshot(t, 3840, 2160, text, 3, 3); return img }},
		{"screenshot-1080p-2px-modules", func() image.Image { img, _ := screenshot(t, 1920, 1080, text, 2, 4); return img }},
		{"screenshot-1080p-dark-mode", func() image.Image {
			img, _ := screenshot(t, 1920, 1080, text, 6, 6)
			for i := range img.Pix {
				if i%4 != 3 {
					img.Pix[i] = 255 - img.Pix[i]
				}
			}
			return img
		}},
		{"photo-12mp-noisy-big-modules", func() image.Image {
			g := newGray(4000, 3000, 170)
			renderQR(g, qrBitmap(t, text, qrcode.Medium), placement{20, 2100, 1400, 8}, 40, 230)
			boxBlur(g, 8)
			addNoise(g, rng, 60)
			return g
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && strings.HasPrefix(c.name, "photo-12mp") {
				t.Skip("large image: skipped in -short mode")
			}
			res, err := Decode(c.img())
			expectText(t, res, err, text)
		})
	}
}

// TestDecodeSeveral checks that all codes in an image are returned.
func TestDecodeSeveral(t *testing.T) {
	g := newGray(900, 400, 255)
	texts := []string{"first code", "second code", "third: https://example.com/x"}
	for i, s := range texts {
		renderQR(g, qrBitmap(t, s, qrcode.Medium), placement{7, float64(150 + 300*i), 200, float64(10 * i)}, 0, 255)
	}
	res, err := Decode(g)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range res {
		got[r.Text] = true
	}
	for _, s := range texts {
		if !got[s] {
			t.Errorf("missing %q in %v", s, res)
		}
	}
	if len(res) != len(texts) {
		t.Errorf("got %d results, want %d: %v", len(res), len(texts), res)
	}
}

// TestDecodeNotFound checks that images without a code report ErrNotFound
// naming the strategies tried.
func TestDecodeNotFound(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := newGray(320, 240, 0)
	addNoise(noise, rng, 255)
	shot, _ := screenshot(t, 1280, 720, "x", 1, 9)
	fillRect(shot, image.Rect(0, 0, 1280, 720), image.White) // blank it
	for name, img := range map[string]image.Image{
		"white": newGray(200, 100, 255),
		"noise": noise,
		"tiny":  newGray(3, 2, 0),
		"blank": shot,
	} {
		res, err := Decode(img)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: got %v, %v; want ErrNotFound", name, res, err)
			continue
		}
		if !strings.Contains(err.Error(), "hybrid") {
			t.Errorf("%s: error %q does not list the strategies", name, err)
		}
	}
}

// TestDecodeGrayInput checks DecodeGray's argument validation and that it
// reads a plane.
func TestDecodeGrayInput(t *testing.T) {
	for _, c := range []struct {
		n, w, h int
	}{{0, 0, 0}, {10, 4, 4}, {16, -4, -4}, {16, 4, 0}} {
		_, err := DecodeGray(make([]byte, c.n), c.w, c.h)
		if err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("DecodeGray(%d bytes, %d, %d) = %v; want an argument error", c.n, c.w, c.h, err)
		}
	}
	g := newGray(300, 200, 255)
	renderQR(g, qrBitmap(t, "plane", qrcode.Low), placement{5, 150, 100, 0}, 0, 255)
	res, err := DecodeGray(g.Pix, 300, 200)
	expectText(t, res, err, "plane")
	if _, err := Decode(nil); err == nil {
		t.Error("Decode(nil): want an error")
	}
}

func ExampleDecode() {
	q, _ := qrcode.New("hello", qrcode.Medium)
	res, err := Decode(q.Image(256))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res[0].Text, res[0].Strategy)
	// Output: hello hybrid
}

// TestDecodeGrayQuick checks that the quick variant reads clean frames,
// dark on light and light on dark, and gives up after the plain
// strategies.
func TestDecodeGrayQuick(t *testing.T) {
	g := newGray(320, 240, 255)
	renderQR(g, qrBitmap(t, "quick", qrcode.Medium), placement{4, 160, 120, 0}, 0, 255)
	res, err := DecodeGrayQuick(g.Pix, 320, 240)
	expectText(t, res, err, "quick")
	res, err = DecodeGrayQuick(invertGray(g.Pix), 320, 240)
	expectText(t, res, err, "quick")
	// Specks defeat the plain path; the median filter, a fallback, would
	// read this.
	addSpecks(g, rand.New(rand.NewPCG(1, 2)), 0.08)
	_, err = DecodeGrayQuick(g.Pix, 320, 240)
	if !errors.Is(err, ErrNotFound) || !strings.HasSuffix(err.Error(), "(tried hybrid, global, invert/hybrid, invert/global)") {
		t.Errorf("specked code: got %v; want ErrNotFound after the four plain attempts", err)
	}
}

// TestDecodeOddSizes runs every strategy on planes of awkward shapes and
// contents; it must only ever report ErrNotFound or a text.
func TestDecodeOddSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	sizes := [][2]int{{1, 1}, {1, 700}, {700, 1}, {2, 2}, {7, 9}, {39, 41}, {40, 40}, {481, 33}, {33, 481}, {161, 1025}}
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		for _, fill := range []string{"noise", "stripes", "black"} {
			pix := make([]byte, w*h)
			for i := range pix {
				switch fill {
				case "noise":
					pix[i] = byte(rng.IntN(256))
				case "stripes":
					pix[i] = byte(255 * ((i % w / 3) % 2))
				}
			}
			res, err := DecodeGray(pix, w, h)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("%dx%d %s: %v", w, h, fill, err)
			}
			if err == nil {
				t.Logf("%dx%d %s: read %q (by %s)", w, h, fill, res[0].Text, res[0].Strategy)
			}
		}
	}
}

// FuzzDecodeGray decodes arbitrary planes: no panics, and only
// ErrNotFound or results.
func FuzzDecodeGray(f *testing.F) {
	f.Add([]byte{0, 255, 0, 255}, 2)
	f.Add(make([]byte, 64*64), 64)
	f.Fuzz(func(t *testing.T, pix []byte, w int) {
		if w <= 0 || w > len(pix) || len(pix) > 1<<16 {
			return
		}
		if _, err := DecodeGray(pix, w, len(pix)/w); err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}

// TestDecodePerspectiveBent draws a version 10 code under strong
// perspective on a sheet bent like a page, which one perspective
// transform cannot follow; the alignment-pattern sampler can.
func TestDecodePerspectiveBent(t *testing.T) {
	text := strings.Repeat("perspective+bend ", 8) // version 10 at level M
	bm := qrBitmap(t, text, qrcode.Medium)
	n := float64(len(bm))
	// The image quad the code's square maps to (clockwise from top-left).
	quad := []float64{90, 60, 520, 110, 540, 520, 60, 560}
	toSquare := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
		quad[0], quad[1], quad[2], quad[3], quad[4], quad[5], quad[6], quad[7],
		0, 0, n, 0, n, n, 0, n)
	g := newGray(620, 640, 250)
	renderWarped(g, bm, func(x, y float64) (float64, float64, bool) {
		p := []float64{x, y}
		toSquare.TransformPoints(p)
		// Bend: rows sag in the middle by up to 1.5 modules.
		p[1] -= 1.5 * math.Sin(math.Pi*p[0]/n)
		return p[0], p[1], true
	}, 10, 250)
	res, err := Decode(g)
	expectText(t, res, err, text)
	if _, err := DecodeGrayQuick(g.Pix, 620, 640); err == nil {
		t.Log("the plain path read it too")
	}
}
