package decode

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/skip2/go-qrcode"
)

// qrBitmap encodes text at the given recovery level and returns the module
// matrix including the 4-module quiet zone.
func qrBitmap(t testing.TB, text string, level qrcode.RecoveryLevel) [][]bool {
	t.Helper()
	q, err := qrcode.New(text, level)
	if err != nil {
		t.Fatal(err)
	}
	return q.Bitmap()
}

// placement says where renderQR draws a code: module size in pixels, the
// center, and the rotation in degrees (clockwise).
type placement struct {
	module, cx, cy, angle float64
}

// renderQR draws bm (dark modules fg, light bg) onto dst by inverse
// mapping with 3×3 supersampling, so rotated and fractional-size modules
// get anti-aliased edges like a real rendering.
func renderQR(dst *image.Gray, bm [][]bool, pl placement, fg, bg byte) {
	n := float64(len(bm))
	half := n * pl.module / 2
	sin, cos := math.Sincos(pl.angle * math.Pi / 180)
	b := dst.Bounds()
	r := half * math.Sqrt2
	x0, x1 := max(b.Min.X, int(pl.cx-r)-1), min(b.Max.X, int(pl.cx+r)+2)
	y0, y1 := max(b.Min.Y, int(pl.cy-r)-1), min(b.Max.Y, int(pl.cy+r)+2)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			sum, hits := 0, 0
			for sy := range 3 {
				for sx := range 3 {
					dx := float64(x) + (float64(sx)+0.5)/3 - pl.cx
					dy := float64(y) + (float64(sy)+0.5)/3 - pl.cy
					// Rotate back into the code's frame.
					u := (cos*dx+sin*dy)/pl.module + n/2
					v := (-sin*dx+cos*dy)/pl.module + n/2
					if u < 0 || v < 0 || u >= n || v >= n {
						continue
					}
					hits++
					if bm[int(v)][int(u)] {
						sum += int(fg)
					} else {
						sum += int(bg)
					}
				}
			}
			if hits > 0 {
				old := int(dst.Pix[dst.PixOffset(x, y)])
				dst.Pix[dst.PixOffset(x, y)] = byte((sum + old*(9-hits)) / 9)
			}
		}
	}
}

// newGray returns a w×h gray image filled with v.
func newGray(w, h int, v byte) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

// boxBlur blurs g in place with a (2r+1)² box, twice (close to a
// Gaussian), using running sums so the cost does not depend on r.
func boxBlur(g *image.Gray, r int) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	line := make([]int, max(w, h))
	out := make([]int, max(w, h))
	blur1 := func(n int) { // blurs line[:n] into out[:n], clipped at the ends
		sum := 0
		for i := 0; i < min(r, n); i++ {
			sum += line[i]
		}
		for i := range n {
			if i+r < n {
				sum += line[i+r]
			}
			if i-r-1 >= 0 {
				sum -= line[i-r-1]
			}
			out[i] = sum / (min(n, i+r+1) - max(0, i-r))
		}
	}
	for range 2 {
		for y := range h {
			for x := range w {
				line[x] = int(g.Pix[y*g.Stride+x])
			}
			blur1(w)
			for x := range w {
				g.Pix[y*g.Stride+x] = byte(out[x])
			}
		}
		for x := range w {
			for y := range h {
				line[y] = int(g.Pix[y*g.Stride+x])
			}
			blur1(h)
			for y := range h {
				g.Pix[y*g.Stride+x] = byte(out[y])
			}
		}
	}
}

// addNoise adds uniform noise of ±amp to every pixel.
func addNoise(g *image.Gray, rng *rand.Rand, amp int) {
	for i, v := range g.Pix {
		g.Pix[i] = byte(max(0, min(255, int(v)+rng.IntN(2*amp+1)-amp)))
	}
}

// addSpecks sets a fraction of the pixels to black or white at random.
func addSpecks(g *image.Gray, rng *rand.Rand, frac float64) {
	for i := range g.Pix {
		if rng.Float64() < frac {
			g.Pix[i] = byte(255 * rng.IntN(2))
		}
	}
}

// jpegRoundTrip encodes g as JPEG at quality q and decodes it again.
func jpegRoundTrip(t testing.TB, g image.Image, q int) image.Image {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fillRect paints r in c.
func fillRect(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// fakeText paints a block of "text": lines of word-sized runs of thin
// dark strokes, the way small UI text looks to a binarizer.
func fakeText(dst draw.Image, rng *rand.Rand, r image.Rectangle, lineH int, c color.Color) {
	for y := r.Min.Y; y+lineH <= r.Max.Y; y += lineH * 3 / 2 {
		for x := r.Min.X; x < r.Max.X; {
			word := 10 + rng.IntN(60)
			if x+word > r.Max.X {
				break
			}
			for gx := x; gx < x+word; gx += 2 + rng.IntN(5) {
				h := lineH/2 + rng.IntN(lineH/2+1)
				fillRect(dst, image.Rect(gx, y+lineH-h, gx+1+rng.IntN(2), y+lineH), c)
			}
			x += word + 6
		}
	}
}

// screenshot draws a w×h app-window screenshot: desktop, a window with
// title bar, sidebar, toolbar buttons, text and a noisy photo thumbnail,
// with the QR code for text drawn at scale pixels per module at a random
// spot in the content area. It returns the image and the code's top-left
// corner.
func screenshot(t testing.TB, w, h int, text string, scale int, seed uint64) (*image.RGBA, image.Point) {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	sx := func(v int) int { return v * w / 1920 }
	sy := func(v int) int { return v * h / 1080 }
	fillRect(img, img.Bounds(), color.RGBA{0x3a, 0x5f, 0x8f, 0xff})                                    // desktop
	fillRect(img, image.Rect(0, sy(1040), w, h), color.RGBA{0x20, 0x20, 0x24, 0xff})                   // task bar
	fillRect(img, image.Rect(sx(120), sy(60), sx(1800), sy(1000)), color.RGBA{0xf4, 0xf4, 0xf6, 0xff}) // window
	fillRect(img, image.Rect(sx(120), sy(60), sx(1800), sy(96)), color.RGBA{0x2b, 0x2d, 0x31, 0xff})   // title bar
	fillRect(img, image.Rect(sx(120), sy(96), sx(420), sy(1000)), color.RGBA{0xe2, 0xe4, 0xe8, 0xff})  // sidebar
	fakeText(img, rng, image.Rect(sx(140), sy(68), sx(600), sy(90)), 14, color.RGBA{0xee, 0xee, 0xee, 0xff})
	fakeText(img, rng, image.Rect(sx(140), sy(120), sx(400), sy(980)), 12, color.RGBA{0x30, 0x30, 0x30, 0xff})
	for i := range 6 { // toolbar buttons
		x := sx(450 + i*130)
		fillRect(img, image.Rect(x, sy(110), x+sx(110), sy(146)), color.RGBA{0x1a, 0x73, 0xe8, 0xff})
		fakeText(img, rng, image.Rect(x+12, sy(118), x+sx(100), sy(140)), 12, color.White)
	}
	fakeText(img, rng, image.Rect(sx(450), sy(170), sx(1760), sy(330)), 14, color.RGBA{0x20, 0x20, 0x20, 0xff})
	for y := sy(360); y < sy(560); y++ { // photo thumbnail: noise
		for x := sx(1400); x < sx(1760); x++ {
			v := uint8(rng.IntN(256))
			img.SetRGBA(x, y, color.RGBA{v, v / 2, 255 - v, 0xff})
		}
	}
	bm := qrBitmap(t, text, qrcode.Medium)
	size := len(bm) * scale
	at := image.Pt(sx(450)+rng.IntN(max(1, sx(1350)-size)), sy(350)+rng.IntN(max(1, sy(950)-sy(350)-size)))
	for my, row := range bm {
		for mx, dark := range row {
			c := color.Color(color.White)
			if dark {
				c = color.Black
			}
			fillRect(img, image.Rect(at.X+mx*scale, at.Y+my*scale, at.X+(mx+1)*scale, at.Y+(my+1)*scale), c)
		}
	}
	fakeText(img, rng, image.Rect(sx(450), at.Y+size+30, sx(1760), sy(990)), 14, color.RGBA{0x40, 0x40, 0x40, 0xff})
	return img, at
}

// renderWarped draws bm through an arbitrary mapping: toModule maps an
// image position to module coordinates (0..n over the whole bitmap), or
// reports false outside the code. 3×3 supersampling as in renderQR.
func renderWarped(dst *image.Gray, bm [][]bool, toModule func(x, y float64) (u, v float64, ok bool), fg, bg byte) {
	n := float64(len(bm))
	b := dst.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sum, hits := 0, 0
			for sy := range 3 {
				for sx := range 3 {
					u, v, ok := toModule(float64(x)+(float64(sx)+0.5)/3, float64(y)+(float64(sy)+0.5)/3)
					if !ok || u < 0 || v < 0 || u >= n || v >= n {
						continue
					}
					hits++
					if bm[int(v)][int(u)] {
						sum += int(fg)
					} else {
						sum += int(bg)
					}
				}
			}
			if hits > 0 {
				o := dst.PixOffset(x, y)
				dst.Pix[o] = byte((sum + int(dst.Pix[o])*(9-hits)) / 9)
			}
		}
	}
}
