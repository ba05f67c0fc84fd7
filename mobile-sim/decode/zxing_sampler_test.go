package decode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
	"github.com/skip2/go-qrcode"
)

// TestSampleCellsMatchesGozxing pins sampleCells, through sampleAligned,
// to gozxing's DefaultGridSampler: given the finder patterns, dimension and
// alignment pattern that gozxing's Detector uses, codes of versions 1 to 6
// (one alignment pattern at most) must sample to Detector's module grid.
// The inputs are synthetic codes under rotation and perspective, the
// black-box photos when QRLOGIN_QR_PHOTOS names them, and random pixels
// under random grids, where any change in where a module is read shows.
// Larger versions differ on purpose: there every alignment pattern is
// located and each cell between them sampled with its own transform.
func TestSampleCellsMatchesGozxing(t *testing.T) {
	type input struct {
		name string
		p    *plane
	}
	var inputs []input
	for i, p := range photoPlanes(t) {
		inputs = append(inputs, input{fmt.Sprintf("photo %d", i), p})
	}
	for v, n := range []int{10, 20, 35, 55, 75, 100} { // versions 1-6 at level M
		bm := qrBitmap(t, strings.Repeat("sampler", n/7+1)[:n], qrcode.Medium)
		if got := (len(bm) - 8 - 17) / 4; got != v+1 {
			t.Fatalf("%d bytes: version %d, want %d", n, got, v+1)
		}
		for _, angle := range []float64{0, 10, 33} {
			g := newGray(500, 500, 240)
			renderQR(g, bm, placement{4.3, 250, 250, angle}, 20, 240)
			inputs = append(inputs, input{fmt.Sprintf("version %d at %v°", v+1, angle), &plane{pix: g.Pix, w: 500, h: 500}})
		}
		// Perspective: the code's square onto a trapezoid.
		k := float64(len(bm))
		toSquare := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
			120, 90, 420, 130, 400, 400, 90, 430, 0, 0, k, 0, k, k, 0, k)
		g := newGray(500, 500, 240)
		renderWarped(g, bm, func(x, y float64) (float64, float64, bool) {
			p := []float64{x, y}
			toSquare.TransformPoints(p)
			return p[0], p[1], true
		}, 20, 240)
		inputs = append(inputs, input{fmt.Sprintf("version %d in perspective", v+1), &plane{pix: g.Pix, w: 500, h: 500}})
	}

	compared, aligned := 0, 0
	for _, in := range inputs {
		m := in.p.matrix(hybrid)
		if m == nil {
			continue
		}
		det, err := detector.NewDetector(m).Detect(nil)
		if err != nil {
			continue // nothing to compare with
		}
		dim := det.GetBits().GetWidth()
		pts := det.GetPoints() // bottom-left, top-left, top-right[, alignment]
		if dim > 41 || (dim > 21 && len(pts) < 4) {
			continue // sampleAligned differs on purpose: it locates the alignment patterns itself
		}
		var br *point
		if len(pts) == 4 {
			p := pt(pts[3])
			br = &p
			aligned++
		}
		bits, err := sampleAligned(m, pt(pts[1]), pt(pts[2]), pt(pts[0]), br, dim)
		if err != nil {
			t.Fatalf("%s: %v; gozxing sampled a %dx%d grid", in.name, err, dim, dim)
		}
		if d := matrixDiff(bits, det.GetBits()); d != "" {
			t.Fatalf("%s: module %s", in.name, d)
		}
		compared++
	}
	t.Logf("%d of %d images compared, %d through sampleCells", compared, len(inputs), aligned)
	if aligned < 15 {
		t.Errorf("only %d synthetic or photo codes of versions 2-6 compared; the test needs more", aligned)
	}

	// Random pixels under random grids, all inside the image: every
	// module's sampling position shows.
	rng := rand.New(rand.NewPCG(3, 3))
	m, _ := gozxing.NewSquareBitMatrix(400)
	for y := range 400 {
		for x := range 400 {
			if rng.IntN(2) == 0 {
				m.Set(x, y)
			}
		}
	}
	for n := range 60 {
		dim := 21 + 4*(n%6)
		ms := 3 + rng.Float64()*(240/float64(dim)-3)
		sin, cos := math.Sincos((rng.Float64()*40 - 20) * math.Pi / 180)
		at := func(u, v float64) point { // module position to pixels
			u, v = (u-float64(dim)/2)*ms, (v-float64(dim)/2)*ms
			return point{200 + cos*u - sin*v, 200 + sin*u + cos*v}
		}
		tl, tr, bl := at(3.5, 3.5), at(float64(dim)-3.5, 3.5), at(3.5, float64(dim)-3.5)
		var br *point
		var ap *detector.AlignmentPattern
		if dim > 21 {
			p := at(float64(dim)-6.5, float64(dim)-6.5)
			p.x += (rng.Float64()*2 - 1) * ms // perspective
			p.y += (rng.Float64()*2 - 1) * ms
			br, ap = &p, detector.NewAlignmentPattern(p.x, p.y, ms)
		}
		want, err := detector.Detector_sampleGrid(m, detector.Detector_createTransform(rp(tl), rp(tr), rp(bl), ap, dim), dim)
		if err != nil {
			t.Fatalf("grid %d: gozxing: %v", n, err)
		}
		got, err := sampleAligned(m, tl, tr, bl, br, dim)
		if err != nil {
			t.Fatalf("grid %d (%dx%d): %v", n, dim, dim, err)
		}
		if d := matrixDiff(got, want); d != "" {
			t.Fatalf("grid %d (%dx%d): module %s", n, dim, dim, d)
		}
	}
}
