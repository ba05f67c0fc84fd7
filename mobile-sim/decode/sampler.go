package decode

import (
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// gridPoint ties a position in module coordinates (the code's top-left
// corner is 0,0 and module centers sit at n+0.5) to its image position.
type gridPoint struct {
	mod, img point
	found    bool // located in the image, not just predicted
}

// sampleAligned samples the dim×dim module grid of the code whose finder
// pattern centers are tl, tr and bl. Unlike ZXing's detector, which fits
// one perspective transform to the finders and the bottom-right alignment
// pattern, it locates every alignment pattern of the version (each
// predicted from the ones found before it) and samples each cell between
// neighboring patterns with its own transform, which follows perspective,
// lens distortion and bent paper much better on large codes. br, when not
// nil, is the bottom-right alignment pattern ZXing found.
func sampleAligned(m *gozxing.BitMatrix, tl, tr, bl point, br *point, dim int) (*gozxing.BitMatrix, error) {
	ver, err := decoder.Version_GetVersionForNumber((dim - 17) / 4)
	if err != nil {
		return nil, err
	}
	centers := ver.GetAlignmentPatternCenters()
	d := float64(dim)
	var brp *detector.AlignmentPattern
	if br != nil {
		brp = detector.NewAlignmentPattern(br.x, br.y, 1)
	}
	global := detector.Detector_createTransform(rp(tl), rp(tr), rp(bl), brp, dim)
	if len(centers) == 0 {
		return detector.Detector_sampleGrid(m, global, dim)
	}

	k := len(centers)
	grid := make([]gridPoint, k*k) // grid[j*k+i]: column i, row j
	at := func(i, j int) *gridPoint { return &grid[j*k+i] }
	for j, cy := range centers {
		for i, cx := range centers {
			g := at(i, j)
			g.mod = point{float64(cx) + 0.5, float64(cy) + 0.5}
			g.img = project(global, g.mod)
		}
	}
	// The finder pattern centers stand in for the three missing corners.
	*at(0, 0) = gridPoint{point{3.5, 3.5}, tl, true}
	*at(k-1, 0) = gridPoint{point{d - 3.5, 3.5}, tr, true}
	*at(0, k-1) = gridPoint{point{3.5, d - 3.5}, bl, true}
	if br != nil {
		*at(k-1, k-1) = gridPoint{at(k-1, k-1).mod, *br, true}
	}

	locateAlignments(m, global, grid, k)
	return sampleCells(m, grid, k, dim)
}

// locateAlignments finds the alignment patterns of a k×k grid whose
// unfound points hold predictions by the global transform, outwards from
// the top-left corner, correcting each prediction by how far its located
// neighbors were off the global transform. Patterns that cannot be found
// are then placed by all their located neighbors.
func locateAlignments(m *gozxing.BitMatrix, global *common.PerspectiveTransform, grid []gridPoint, k int) {
	at := func(i, j int) *gridPoint { return &grid[j*k+i] }
	offset := func(i, j int) (point, bool) {
		var dx, dy float64
		n := 0
		for nj := max(0, j-1); nj <= min(k-1, j+1); nj++ {
			for ni := max(0, i-1); ni <= min(k-1, i+1); ni++ {
				if q := at(ni, nj); q.found && (ni != i || nj != j) {
					p := project(global, q.mod)
					dx += q.img.x - p.x
					dy += q.img.y - p.y
					n++
				}
			}
		}
		if n == 0 {
			return point{}, false
		}
		return point{dx / float64(n), dy / float64(n)}, true
	}
	var missing [][2]int
	for s := 1; s <= 2*(k-1); s++ {
		for i := max(0, s-(k-1)); i <= min(s, k-1); i++ {
			j := s - i
			g := at(i, j)
			if g.found {
				continue
			}
			pred := project(global, g.mod)
			if off, ok := offset(i, j); ok {
				pred.x += off.x
				pred.y += off.y
			}
			if p, ok := findAlignment(m, pred, localModuleSize(global, g.mod)); ok {
				g.img, g.found = p, true
			} else {
				g.img = pred
				missing = append(missing, [2]int{i, j})
			}
		}
	}
	for _, ij := range missing {
		g := at(ij[0], ij[1])
		if off, ok := offset(ij[0], ij[1]); ok {
			p := project(global, g.mod)
			g.img = point{p.x + off.x, p.y + off.y}
		}
	}
}

// findAlignment looks for an alignment pattern within a few modules of
// pred.
func findAlignment(m *gozxing.BitMatrix, pred point, ms float64) (point, bool) {
	if !(ms > 0) || math.IsNaN(pred.x+pred.y) || math.IsInf(pred.x+pred.y, 0) {
		return point{}, false // a degenerate transform
	}
	r := math.Max(4*ms, 6)
	x0 := max(0, int(pred.x-r))
	y0 := max(0, int(pred.y-r))
	x1 := min(m.GetWidth()-1, int(pred.x+r))
	y1 := min(m.GetHeight()-1, int(pred.y+r))
	if float64(x1-x0) < 3*ms || float64(y1-y0) < 3*ms {
		return point{}, false
	}
	ap, err := detector.NewAlignmentPatternFinder(m, x0, y0, x1-x0, y1-y0, ms, nil).Find()
	if err != nil {
		return point{}, false
	}
	p := point{ap.GetX(), ap.GetY()}
	if math.Hypot(p.x-pred.x, p.y-pred.y) > r {
		return point{}, false
	}
	return p, true
}

// project maps a module-space point through t.
func project(t *common.PerspectiveTransform, p point) point {
	pt := []float64{p.x, p.y}
	t.TransformPoints(pt)
	return point{pt[0], pt[1]}
}

// localModuleSize is the size in pixels of a module near p under t.
func localModuleSize(t *common.PerspectiveTransform, p point) float64 {
	a := project(t, p)
	b := project(t, point{p.x + 1, p.y})
	c := project(t, point{p.x, p.y + 1})
	return (math.Hypot(b.x-a.x, b.y-a.y) + math.Hypot(c.x-a.x, c.y-a.y)) / 2
}
