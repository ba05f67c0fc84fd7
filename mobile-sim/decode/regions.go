package decode

import (
	"image"
	"math"
	"sort"
)

// Tuning of the region search.
const (
	busyRange  = 48 // an 8×8 block with at least this luma range is textured
	maxRegions = 6  // candidate regions decoded per frame
	minBlocks  = 3  // smallest region side, in blocks (24 px)
)

// codeRegions returns up to maxRegions rectangles of a w×h plane that look
// like they could hold a QR code, most promising first: connected areas of
// textured 8×8 blocks (luma range >= busyRange) whose bounding box is
// roughly square and well filled, preferably surrounded by flat blocks
// (the quiet zone). Each rectangle includes a margin and lies inside the
// image. It serves to crop and enlarge codes too small for the detectors
// at full resolution, such as one code in a big screenshot.
func codeRegions(pix []byte, w, h int) []image.Rectangle {
	if w < 4*blockSize || h < 4*blockSize {
		return nil
	}
	subW, subH := (w+blockSize-1)>>blockPow, (h+blockSize-1)>>blockPow
	_, lo, hi := blockStats(pix, w, h, subW, subH)
	busy := make([]bool, subW*subH)
	for i := range busy {
		busy[i] = int(hi[i])-int(lo[i]) >= busyRange
	}

	type cand struct {
		r     image.Rectangle // in blocks
		score float64
	}
	var cands []cand
	seen := make([]bool, len(busy))
	var stack []int
	for start := range busy {
		if !busy[start] || seen[start] {
			continue
		}
		// Flood-fill one 4-connected component.
		r := image.Rect(start%subW, start/subW, start%subW+1, start/subW+1)
		n := 0
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%subW, i/subW
			r = r.Union(image.Rect(x, y, x+1, y+1))
			for _, j := range [4]int{i - 1, i + 1, i - subW, i + subW} {
				if j < 0 || j >= len(busy) || seen[j] || !busy[j] {
					continue
				}
				if (j == i-1 || j == i+1) && j/subW != y {
					continue // wrapped around a row end
				}
				seen[j] = true
				stack = append(stack, j)
			}
		}
		bw, bh := r.Dx(), r.Dy()
		if bw < minBlocks || bh < minBlocks || bw*2 > subW*3/2 && bh*2 > subH*3/2 {
			continue
		}
		aspect := float64(max(bw, bh)) / float64(min(bw, bh))
		fill := float64(n) / float64(bw*bh)
		if aspect > 2.5 || fill < 0.35 {
			continue
		}
		// The quiet zone: the share of flat blocks in the ring around.
		ring, flat := 0, 0
		for y := r.Min.Y - 1; y <= r.Max.Y; y++ {
			for x := r.Min.X - 1; x <= r.Max.X; x++ {
				if x < 0 || y < 0 || x >= subW || y >= subH || image.Pt(x, y).In(r) {
					continue
				}
				ring++
				if !busy[y*subW+x] {
					flat++
				}
			}
		}
		quiet := 1.0
		if ring > 0 {
			quiet = float64(flat) / float64(ring)
		}
		cands = append(cands, cand{r, fill * quiet / aspect * math.Log(float64(n)+1)})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })

	var out []image.Rectangle
	bounds := image.Rect(0, 0, w, h)
	for _, c := range cands {
		if len(out) == maxRegions {
			break
		}
		px := image.Rect(c.r.Min.X<<blockPow, c.r.Min.Y<<blockPow, c.r.Max.X<<blockPow, c.r.Max.Y<<blockPow)
		m := max(2*blockSize, max(px.Dx(), px.Dy())/6)
		out = append(out, px.Inset(-m).Intersect(bounds))
	}
	return out
}

// crop copies rectangle r of a w-wide plane.
func crop(pix []byte, w int, r image.Rectangle) []byte {
	out := make([]byte, r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(out[(y-r.Min.Y)*r.Dx():], pix[y*w+r.Min.X:y*w+r.Max.X])
	}
	return out
}

// regionScale is the factor by which a crop of the given size is
// enlarged so a small code gets enough pixels per module, even blurred:
// about 600 px on the longer side, at most 5×, never shrunk.
func regionScale(r image.Rectangle) int {
	return max(1, min(5, int(math.Round(600/float64(max(r.Dx(), r.Dy()))))))
}
