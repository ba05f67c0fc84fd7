package decode

import (
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// TestHybridMatchesGozxing checks that the fast binarizer produces exactly
// gozxing's HybridBinarizer output, including sizes that are not a multiple
// of the block size, whose last block row and column overlap their
// neighbors.
func TestHybridMatchesGozxing(t *testing.T) {
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
		got, gerr := hybridMatrix(pix, w, h)
		src, _ := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
		want, werr := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
		if (gerr != nil) != (werr != nil) {
			t.Fatalf("%dx%d: err %v, gozxing err %v", w, h, gerr, werr)
		}
		if gerr != nil {
			continue
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if got.Get(x, y) != want.Get(x, y) {
					t.Fatalf("%dx%d: pixel (%d,%d) = %v, gozxing %v", w, h, x, y, got.Get(x, y), want.Get(x, y))
				}
			}
		}
	}
}
