package decode

import (
	"math"

	"github.com/makiuchi-d/gozxing"
)

// point is an image position in pixels.
type point struct{ x, y float64 }

func pt(p gozxing.ResultPoint) point { return point{p.GetX(), p.GetY()} }

func rp(p point) gozxing.ResultPoint { return gozxing.NewResultPoint(p.x, p.y) }

// codeCorners estimates the outer corners of a code from its finder
// pattern centers (the fourth corner completes the parallelogram).
func codeCorners(tl, tr, bl point, dim int) [4]point {
	// Finder centers sit 3.5 modules in from the edges.
	f := 3.5 / (float64(dim) - 7)
	ux, uy := (tr.x-tl.x)*f, (tr.y-tl.y)*f
	vx, vy := (bl.x-tl.x)*f, (bl.y-tl.y)*f
	p0 := point{tl.x - ux - vx, tl.y - uy - vy}
	p1 := point{tr.x + ux - vx, tr.y + uy - vy}
	p3 := point{bl.x - ux + vx, bl.y - uy + vy}
	p2 := point{p1.x + p3.x - p0.x, p1.y + p3.y - p0.y}
	return [4]point{p0, p1, p2, p3}
}

// blankQuad clears (sets to white) the pixels of m inside the convex
// quadrilateral q, a row span at a time.
func blankQuad(m *gozxing.BitMatrix, q [4]point) {
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, p := range q {
		minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
	}
	w := m.GetWidth()
	var row *gozxing.BitArray
	for y := max(0, int(math.Ceil(minY))); y <= min(m.GetHeight()-1, int(math.Floor(maxY))); y++ {
		// The span where the row crosses the quad's edges.
		lo, hi := math.Inf(1), math.Inf(-1)
		fy := float64(y)
		for i := range q {
			a, b := q[i], q[(i+1)%4]
			if (a.y <= fy) == (b.y <= fy) && a.y != fy {
				continue
			}
			x := a.x
			if b.y != a.y {
				x = a.x + (fy-a.y)*(b.x-a.x)/(b.y-a.y)
			}
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		x0, x1 := max(0, int(math.Ceil(lo))), min(w-1, int(math.Floor(hi)))
		if x0 > x1 {
			continue
		}
		row = m.GetRow(y, row)
		words := row.GetBitArray()
		for x := x0; x <= x1; {
			if x%32 == 0 && x+31 <= x1 {
				words[x/32] = 0
				x += 32
				continue
			}
			words[x/32] &^= 1 << uint(x%32)
			x++
		}
		m.SetRow(y, row)
	}
}

// grow scales the quadrilateral q about its center by f.
func grow(q [4]point, f float64) [4]point {
	cx := (q[0].x + q[1].x + q[2].x + q[3].x) / 4
	cy := (q[0].y + q[1].y + q[2].y + q[3].y) / 4
	for i := range q {
		q[i] = point{cx + (q[i].x-cx)*f, cy + (q[i].y-cy)*f}
	}
	return q
}

// inConvexQuad tells whether p lies inside the convex quadrilateral q
// (either winding).
func inConvexQuad(q [4]point, p point) bool {
	var pos, neg bool
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		cross := (b.x-a.x)*(p.y-a.y) - (b.y-a.y)*(p.x-a.x)
		pos = pos || cross > 0
		neg = neg || cross < 0
	}
	return !(pos && neg)
}
