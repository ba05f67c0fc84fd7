package decode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// TestBlankQuad compares the row-span fill with a point-in-quad test.
func TestBlankQuad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 50 {
		w, h := 20+rng.IntN(80), 20+rng.IntN(80)
		m, _ := gozxing.NewBitMatrix(w, h)
		_ = m.SetRegion(0, 0, w, h)
		// A random convex quad: a rotated, sheared square around a center.
		c := point{rng.Float64() * float64(w), rng.Float64() * float64(h)}
		r := 5 + rng.Float64()*40
		var q [4]point
		for i := range q {
			a := rng.Float64()*0.5 + float64(i)*1.5708
			q[i] = point{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
		}
		blankQuad(m, q)
		for y := range h {
			for x := range w {
				in := inConvexQuad(q, point{float64(x), float64(y)})
				if m.Get(x, y) == in {
					// Points exactly on an edge may go either way.
					if d := edgeDistance(q, point{float64(x), float64(y)}); d > 1e-6 {
						t.Fatalf("quad %v: (%d,%d) set=%v inside=%v", q, x, y, m.Get(x, y), in)
					}
				}
			}
		}
	}
}

// edgeDistance is the distance from p to the nearest edge of q.
func edgeDistance(q [4]point, p point) float64 {
	best := math.Inf(1)
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		dx, dy := b.x-a.x, b.y-a.y
		t := math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/(dx*dx+dy*dy)))
		best = math.Min(best, math.Hypot(p.x-a.x-t*dx, p.y-a.y-t*dy))
	}
	return best
}
