package decode

// scaleGray resizes a w×h luma plane to nw×nh: box averaging when
// shrinking, bilinear interpolation when enlarging.
func scaleGray(pix []byte, w, h, nw, nh int) []byte {
	out := make([]byte, nw*nh)
	if nw < w && nh < h {
		boxShrink(pix, w, h, out, nw, nh)
		return out
	}
	// Bilinear, 8-bit fixed point, pixel centers aligned.
	xs := make([]int32, nw)
	xf := make([]int32, nw)
	for x := range xs {
		sx := (float64(x)+0.5)*float64(w)/float64(nw) - 0.5
		if sx < 0 {
			sx = 0
		}
		i := int32(sx)
		if int(i) >= w-1 {
			i, sx = int32(w-1), float64(w-1)
		}
		xs[x], xf[x] = i, int32((sx-float64(i))*256)
	}
	for y := range nh {
		sy := (float64(y)+0.5)*float64(h)/float64(nh) - 0.5
		if sy < 0 {
			sy = 0
		}
		y0 := int(sy)
		if y0 >= h-1 {
			y0, sy = h-1, float64(h-1)
		}
		y1 := min(y0+1, h-1)
		fy := int32((sy - float64(y0)) * 256)
		r0, r1 := pix[y0*w:(y0+1)*w], pix[y1*w:(y1+1)*w]
		row := out[y*nw : (y+1)*nw]
		for x := range row {
			x0 := xs[x]
			x1 := min(x0+1, int32(w-1))
			f := xf[x]
			top := int32(r0[x0])*(256-f) + int32(r0[x1])*f
			bot := int32(r1[x0])*(256-f) + int32(r1[x1])*f
			row[x] = byte((top*(256-fy) + bot*fy + 1<<15) >> 16)
		}
	}
	return out
}

// boxShrink writes into out (nw×nh) the average of the source pixels that
// each destination pixel covers.
func boxShrink(pix []byte, w, h int, out []byte, nw, nh int) {
	for y := range nh {
		y0, y1 := y*h/nh, (y+1)*h/nh
		for x := range nw {
			x0, x1 := x*w/nw, (x+1)*w/nw
			sum := 0
			for yy := y0; yy < y1; yy++ {
				for _, v := range pix[yy*w+x0 : yy*w+x1] {
					sum += int(v)
				}
			}
			out[y*nw+x] = byte(sum / ((y1 - y0) * (x1 - x0)))
		}
	}
}

// invertGray returns the photographic negative of pix.
func invertGray(pix []byte) []byte {
	out := make([]byte, len(pix))
	for i, v := range pix {
		out[i] = 255 - v
	}
	return out
}

// median3 applies a 3×3 median filter, which removes isolated specks
// smaller than a module while keeping edges; border pixels are copied as
// is. Each pixel's median is the median of (the largest column minimum,
// the median column median, the smallest column maximum) over its three
// vertically sorted columns, and the sorted columns slide along the row.
func median3(pix []byte, w, h int) []byte {
	out := make([]byte, len(pix))
	copy(out, pix)
	if w < 3 || h < 3 {
		return out
	}
	forRows(h-2, w*h, func(r0, r1 int) {
		for y := r0 + 1; y < r1+1; y++ {
			up, mid, dn := pix[(y-1)*w:y*w], pix[y*w:(y+1)*w], pix[(y+1)*w:(y+2)*w]
			row := out[y*w : (y+1)*w]
			sorted := func(x int) (lo, md, hi byte) {
				a, b, c := up[x], mid[x], dn[x]
				a, b = min(a, b), max(a, b)
				b, c = min(b, c), max(b, c)
				a, b = min(a, b), max(a, b)
				return a, b, c
			}
			l0, m0, h0 := sorted(0)
			l1, m1, h1 := sorted(1)
			for x := 1; x < w-1; x++ {
				l2, m2, h2 := sorted(x + 1)
				row[x] = med3(max(l0, l1, l2), med3(m0, m1, m2), min(h0, h1, h2))
				l0, m0, h0, l1, m1, h1 = l1, m1, h1, l2, m2, h2
			}
		}
	})
	return out
}

// med3 returns the median of three values.
func med3(a, b, c byte) byte {
	return max(min(a, b), min(max(a, b), c))
}

// stretchContrast maps the 1st..99th percentile of pix linearly onto
// 0..255, clamping outside. It returns nil when the image is flat.
func stretchContrast(pix []byte) []byte {
	var hist [256]int
	for _, v := range pix {
		hist[v]++
	}
	cut := len(pix) / 100
	lo, hi := 0, 255
	for n := 0; lo < 255; lo++ {
		if n += hist[lo]; n > cut {
			break
		}
	}
	for n := 0; hi > 0; hi-- {
		if n += hist[hi]; n > cut {
			break
		}
	}
	if hi-lo < 2 {
		return nil
	}
	var lut [256]byte
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = byte(max(0, min(255, v)))
	}
	out := make([]byte, len(pix))
	for i, v := range pix {
		out[i] = lut[v]
	}
	return out
}

// sharpen applies an unsharp mask: each pixel moves away from the mean of
// its 3×3 neighborhood by amount times the difference, which restores
// edges that blur or a soft focus have spread over a module. Border
// pixels are copied as is.
func sharpen(pix []byte, w, h int, amount int) []byte {
	out := make([]byte, len(pix))
	copy(out, pix)
	if w < 3 || h < 3 {
		return out
	}
	forRows(h-2, w*h, func(r0, r1 int) {
		for y := r0 + 1; y < r1+1; y++ {
			up, mid, dn := pix[(y-1)*w:y*w], pix[y*w:(y+1)*w], pix[(y+1)*w:(y+2)*w]
			row := out[y*w : (y+1)*w]
			for x := 1; x < w-1; x++ {
				sum := int(up[x-1]) + int(up[x]) + int(up[x+1]) + int(mid[x-1]) + int(mid[x+1]) +
					int(dn[x-1]) + int(dn[x]) + int(dn[x+1]) + int(mid[x])
				v := int(mid[x]) + amount*(9*int(mid[x])-sum)/9
				row[x] = byte(max(0, min(255, v)))
			}
		}
	})
	return out
}
