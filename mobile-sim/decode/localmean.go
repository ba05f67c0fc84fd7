package decode

import "github.com/makiuchi-d/gozxing"

// localMeanMatrix binarizes with a mean filter threshold: a pixel is black
// when it is darker than the mean of the (2r+1)² window around it (clipped
// at the borders) by more than bias. With r a sizable fraction of the
// image this copes with blur and uneven light where ZXing's 8×8 blocks are
// too small. The window sums slide down the columns and along each row, so
// the cost does not depend on r.
func localMeanMatrix(pix []byte, w, h, r, bias int) *gozxing.BitMatrix {
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil
	}
	col := make([]int, w) // sums of each column over rows [y-r, y+r]
	for y := 0; y < min(r, h); y++ {
		for x, v := range pix[y*w : (y+1)*w] {
			col[x] += int(v)
		}
	}
	row := gozxing.NewBitArray(w)
	for y := range h {
		if in := y + r; in < h {
			for x, v := range pix[in*w : (in+1)*w] {
				col[x] += int(v)
			}
		}
		if out := y - r - 1; out >= 0 {
			for x, v := range pix[out*w : (out+1)*w] {
				col[x] -= int(v)
			}
		}
		rows := min(h, y+r+1) - max(0, y-r)
		row.Clear()
		sum := 0
		for x := 0; x < min(r, w); x++ {
			sum += col[x]
		}
		line := pix[y*w : (y+1)*w]
		for x := range w {
			if in := x + r; in < w {
				sum += col[in]
			}
			if out := x - r - 1; out >= 0 {
				sum -= col[out]
			}
			n := rows * (min(w, x+r+1) - max(0, x-r))
			if (int(line[x])+bias)*n < sum {
				row.Set(x)
			}
		}
		m.SetRow(y, row)
	}
	return m
}
