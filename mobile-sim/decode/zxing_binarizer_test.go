package decode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/skip2/go-qrcode"
)

// gozxingHybrid is gozxing's HybridBinarizer on a w×h luma plane.
func gozxingHybrid(pix []byte, w, h int) (*gozxing.BitMatrix, error) {
	src, err := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewHybridBinarizer(src).GetBlackMatrix()
}

// matrixDiff describes the first difference between two bit matrices,
// "" when they are the same size and hold the same words, including the
// bits past the width that pad each row's last word.
func matrixDiff(got, want *gozxing.BitMatrix) string {
	if got.GetWidth() != want.GetWidth() || got.GetHeight() != want.GetHeight() {
		return fmt.Sprintf("%dx%d, gozxing %dx%d", got.GetWidth(), got.GetHeight(), want.GetWidth(), want.GetHeight())
	}
	var gr, wr *gozxing.BitArray
	for y := 0; y < got.GetHeight(); y++ {
		gr, wr = got.GetRow(y, gr), want.GetRow(y, wr)
		if slices.Equal(gr.GetBitArray(), wr.GetBitArray()) {
			continue
		}
		for x := 0; x < got.GetWidth(); x++ {
			if gr.Get(x) != wr.Get(x) {
				return fmt.Sprintf("(%d,%d) = %v, gozxing %v", x, y, gr.Get(x), wr.Get(x))
			}
		}
		return fmt.Sprintf("row %d: the bits past the width differ", y)
	}
	return ""
}

// TestHybridMatchesGozxing pins hybridMatrix to gozxing's HybridBinarizer:
// the same bits on random planes, including sizes that are not a multiple
// of the block size (whose last block row and column overlap their
// neighbors) and sizes under 40 pixels (the global histogram fallback),
// and on the black-box photos when QRLOGIN_QR_PHOTOS names them.
func TestHybridMatchesGozxing(t *testing.T) {
	planes := photoPlanes(t)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sz := range [][2]int{{40, 40}, {41, 57}, {100, 63}, {333, 203}, {64, 64}, {30, 90}, {1, 1}, {45, 300}} {
		w, h := sz[0], sz[1]
		// Random 5×5-pixel cells (some flat, some noisy) make neighboring
		// blocks' thresholds differ.
		cells := make([]int, (w/5+1)*(h/5+1))
		for i := range cells {
			cells[i] = rng.IntN(256)
		}
		pix := make([]byte, w*h)
		for i := range pix {
			x, y := i%w, i/w
			v := cells[(y/5)*(w/5+1)+x/5]
			if v&1 == 1 {
				v += rng.IntN(61) - 30
			}
			pix[i] = byte(max(0, min(255, v)))
		}
		planes = append(planes, &plane{pix: pix, w: w, h: h})
	}
	// A code on a noisy gradient: flat blocks whose black points come
	// from their neighbors, next to busy ones.
	for _, sz := range [][2]int{{333, 203}, {250, 250}} {
		w, h := sz[0], sz[1]
		g := newGray(w, h, 0)
		for i := range g.Pix {
			x, y := i%w, i/w
			g.Pix[i] = byte(40 + 180*(x+y)/(w+h))
		}
		renderQR(g, qrBitmap(t, "gradient", qrcode.Low), placement{5.5, float64(w) / 2, float64(h) / 2, 7}, 30, 200)
		addNoise(g, rng, 6)
		planes = append(planes, &plane{pix: g.Pix, w: w, h: h})
	}
	for _, p := range planes {
		got, gerr := hybridMatrix(p.pix, p.w, p.h)
		want, werr := gozxingHybrid(p.pix, p.w, p.h)
		if (gerr != nil) != (werr != nil) {
			t.Fatalf("%dx%d: err %v, gozxing err %v", p.w, p.h, gerr, werr)
		}
		if gerr != nil {
			continue
		}
		if d := matrixDiff(got, want); d != "" {
			t.Fatalf("%dx%d: %s", p.w, p.h, d)
		}
	}
	t.Logf("%d planes compared", len(planes))
}

// BenchmarkHybridMatrix binarizes the 1920×1080 benchmark screenshot with
// hybridMatrix and with gozxing's HybridBinarizer, for the speed-up that
// zxing_binarizer.go states.
func BenchmarkHybridMatrix(b *testing.B) {
	img, _ := screenshot(b, 1920, 1080, screenshotText, 7, 1)
	pix, w, h := grayPlane(img)
	for _, bin := range []struct {
		name string
		f    func(pix []byte, w, h int) (*gozxing.BitMatrix, error)
	}{{"adapted", hybridMatrix}, {"gozxing", gozxingHybrid}} {
		b.Run(bin.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bin.f(pix, w, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
