package decode

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMedian3 compares the sliding-column median with a sort of each 3×3
// window.
func TestMedian3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{1, 1}, {2, 5}, {3, 3}, {17, 9}, {640, 480}} {
		w, h := sz[0], sz[1]
		pix := make([]byte, w*h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		got := median3(pix, w, h)
		for y := range h {
			for x := range w {
				want := pix[y*w+x]
				if x > 0 && y > 0 && x < w-1 && y < h-1 {
					var win []byte
					for dy := -1; dy <= 1; dy++ {
						win = append(win, pix[(y+dy)*w+x-1:(y+dy)*w+x+2]...)
					}
					slices.Sort(win)
					want = win[4]
				}
				if got[y*w+x] != want {
					t.Fatalf("%dx%d (%d,%d): got %d, want %d", w, h, x, y, got[y*w+x], want)
				}
			}
		}
	}
}

// TestScaleGray checks sizes and that flat images stay flat, both ways.
func TestScaleGray(t *testing.T) {
	pix := make([]byte, 7*5)
	for i := range pix {
		pix[i] = 99
	}
	for _, sz := range [][2]int{{14, 10}, {3, 2}, {1, 1}, {7, 5}, {20, 3}} {
		out := scaleGray(pix, 7, 5, sz[0], sz[1])
		if len(out) != sz[0]*sz[1] {
			t.Fatalf("%v: len %d", sz, len(out))
		}
		for _, v := range out {
			if v != 99 {
				t.Fatalf("%v: flat image became %d", sz, v)
			}
		}
	}
}

// TestStretchContrast checks the percentile stretch and the flat case.
func TestStretchContrast(t *testing.T) {
	pix := make([]byte, 1000)
	for i := range pix {
		pix[i] = byte(100 + i%50)
	}
	out := stretchContrast(pix)
	lo, hi := slices.Min(out), slices.Max(out)
	if lo != 0 || hi != 255 {
		t.Errorf("stretched range %d..%d, want 0..255", lo, hi)
	}
	if stretchContrast(make([]byte, 100)) != nil {
		t.Error("flat image: want nil")
	}
}

// TestLocalMeanMatrix compares the sliding sums with a direct window mean.
func TestLocalMeanMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct{ w, h, r, bias int }{{1, 1, 3, 0}, {9, 4, 2, 5}, {40, 33, 6, 10}, {17, 50, 30, 3}} {
		pix := make([]byte, c.w*c.h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		m := localMeanMatrix(pix, c.w, c.h, c.r, c.bias)
		for y := 0; y < c.h; y++ {
			for x := 0; x < c.w; x++ {
				sum, n := 0, 0
				for yy := max(0, y-c.r); yy < min(c.h, y+c.r+1); yy++ {
					for xx := max(0, x-c.r); xx < min(c.w, x+c.r+1); xx++ {
						sum += int(pix[yy*c.w+xx])
						n++
					}
				}
				want := (int(pix[y*c.w+x])+c.bias)*n < sum
				if m.Get(x, y) != want {
					t.Fatalf("%+v: (%d,%d) = %v, want %v", c, x, y, m.Get(x, y), want)
				}
			}
		}
	}
}

// TestSharpen checks that flat areas stay flat and an edge gets steeper.
func TestSharpen(t *testing.T) {
	const w, h = 8, 3
	pix := []byte{
		50, 50, 50, 100, 150, 200, 200, 200,
		50, 50, 50, 100, 150, 200, 200, 200,
		50, 50, 50, 100, 150, 200, 200, 200,
	}
	out := sharpen(pix, w, h, 2)
	row := out[w : 2*w]
	if row[1] != 50 || row[6] != 200 {
		t.Errorf("flat parts changed: %v", row)
	}
	if row[2] >= 50 || row[5] <= 200 || row[3] != 100 {
		t.Errorf("edge shoulders not steeper, or the linear ramp changed: %v", row)
	}
	if !slices.Equal(out[:w], pix[:w]) {
		t.Errorf("border row changed: %v", out[:w])
	}
}
