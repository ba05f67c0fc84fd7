package decode

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// TestFindPatternsMatchesGozxing pins findPatterns to gozxing's
// FinderPatternFinder.Find and MultiFinderPatternFinder.FindMulti: on
// synthetic screenshots and the black-box photos (when QRLOGIN_QR_PHOTOS
// names them), binarized both ways, it requires the same candidates, and
// from Find the same triple. The triple may differ only with more than
// maxSelect candidates, where findPatterns chooses among the most seen
// (TestSelectBestMatchesGozxing covers that choice).
func TestFindPatternsMatchesGozxing(t *testing.T) {
	var mats []*gozxing.BitMatrix
	add := func(p *plane) {
		for _, b := range []binarizer{hybrid, global} {
			if m := p.matrix(b); m != nil {
				mats = append(mats, m)
			}
		}
	}
	for _, p := range photoPlanes(t) {
		add(p)
	}
	shot, _ := screenshot(t, 1920, 1080, screenshotText, 7, 5)
	pix, w, h := grayPlane(shot)
	add(&plane{pix: pix, w: w, h: h})
	g := newGray(900, 400, 255)
	for i, s := range []string{"one", "two", "three"} {
		renderQR(g, qrBitmap(t, s, 0), placement{6, float64(150 + 300*i), 200, float64(20 * i)}, 0, 255)
	}
	add(&plane{pix: g.Pix, w: 900, h: 400})

	// FindMulti sorts its candidates in place; compare in one order.
	sorted := func(ps []*detector.FinderPattern) []*detector.FinderPattern {
		ps = slices.Clone(ps)
		slices.SortStableFunc(ps, func(a, b *detector.FinderPattern) int {
			return cmp.Or(cmp.Compare(a.GetY(), b.GetY()), cmp.Compare(a.GetX(), b.GetX()))
		})
		return ps
	}
	same := func(a, b []*detector.FinderPattern) bool {
		a, b = sorted(a), sorted(b)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].GetX() != b[i].GetX() || a[i].GetY() != b[i].GetY() || a[i].GetCount() != b[i].GetCount() ||
				a[i].GetEstimatedModuleSize() != b[i].GetEstimatedModuleSize() {
				return false
			}
		}
		return true
	}
	capped := 0 // scans with more than maxSelect candidates
	for n, m := range mats {
		for _, harder := range []bool{false, true} {
			hints := map[gozxing.DecodeHintType]any{}
			if harder {
				hints[gozxing.DecodeHintType_TRY_HARDER] = true
			}
			zf := detector.NewFinderPatternFinder(m, nil)
			zinfo, zerr := zf.Find(hints)
			f, info := findPatterns(m, harder, false)
			if !same(zf.GetPossibleCenters(), f.GetPossibleCenters()) {
				t.Fatalf("matrix %d harder=%v: candidates differ: %d vs %d", n, harder, len(zf.GetPossibleCenters()), len(f.GetPossibleCenters()))
			}
			if len(f.GetPossibleCenters()) > maxSelect {
				capped++
			} else if (zerr == nil) != (info != nil) {
				t.Fatalf("matrix %d harder=%v: gozxing err %v, ours %v", n, harder, zerr, info)
			} else if info != nil && (pt(info.GetTopLeft()) != pt(zinfo.GetTopLeft()) ||
				pt(info.GetTopRight()) != pt(zinfo.GetTopRight()) || pt(info.GetBottomLeft()) != pt(zinfo.GetBottomLeft())) {
				t.Fatalf("matrix %d harder=%v: triples differ", n, harder)
			}
			zm := multidetector.NewMultiFinderPatternFinder(m, nil)
			_, _ = zm.FindMulti(hints)
			fm, _ := findPatterns(m, harder, true)
			if !same(zm.GetPossibleCenters(), fm.GetPossibleCenters()) {
				t.Fatalf("matrix %d harder=%v multi: candidates differ: %d vs %d", n, harder, len(zm.GetPossibleCenters()), len(fm.GetPossibleCenters()))
			}
		}
	}
	t.Logf("%d matrices compared; %d scans had more than maxSelect candidates", len(mats), capped)
}

// TestSelectBestMatchesGozxing pins selectBest to gozxing's
// SelectBestPatterns on more than maxSelect candidates, and checks that
// findPatterns still chooses a triple when it caps them.
func TestSelectBestMatchesGozxing(t *testing.T) {
	// 48 finder patterns of random sizes, scattered on a grid.
	rng := rand.New(rand.NewPCG(4, 4))
	g := newGray(1700, 1200, 255)
	finder := [][]bool{}
	for y := range 7 {
		row := make([]bool, 7)
		for x := range row {
			d := max(abs(x-3), abs(y-3))
			row[x] = d != 2
		}
		finder = append(finder, row)
	}
	for i := range 48 {
		cx, cy := 100+(i%8)*200+rng.IntN(40), 100+(i/8)*190+rng.IntN(40)
		renderQR(g, finder, placement{3 + rng.Float64()*3, float64(cx), float64(cy), 0}, 0, 255)
	}
	m, err := hybridMatrix(g.Pix, 1700, 1200)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := findPatterns(m, true, true)
	cands := f.GetPossibleCenters()
	if len(cands) <= maxSelect {
		t.Fatalf("only %d candidates; the test needs more than maxSelect", len(cands))
	}
	ours := selectBest(slices.Clone(cands))
	theirs, err := f.SelectBestPatterns()
	if err != nil || len(ours) != 3 {
		t.Fatalf("gozxing %v, ours %v", err, ours)
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			t.Fatalf("pattern %d differs", i)
		}
	}
	if selectBest(cands[:2]) != nil {
		t.Error("two candidates: want nil")
	}
	if _, info := findPatterns(m, true, false); info == nil {
		t.Error("findPatterns chose no triple from the capped candidates")
	}
	t.Logf("%d candidates", len(cands))
}

func abs(v int) int { return max(v, -v) }

// BenchmarkFindPatterns scans the hybrid matrix of the 1920×1080 benchmark
// screenshot with findPatterns and with gozxing's Find ("quick") and
// FindMulti trying harder ("thorough"), for the speed-up that
// zxing_finder.go states.
func BenchmarkFindPatterns(b *testing.B) {
	img, _ := screenshot(b, 1920, 1080, screenshotText, 7, 1)
	m, err := hybridMatrix(grayPlane(img))
	if err != nil {
		b.Fatal(err)
	}
	harder := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	b.Run("quick/adapted", func(b *testing.B) {
		for b.Loop() {
			if _, info := findPatterns(m, false, false); info == nil {
				b.Fatal("no finder patterns")
			}
		}
	})
	b.Run("quick/gozxing", func(b *testing.B) {
		for b.Loop() {
			if _, err := detector.NewFinderPatternFinder(m, nil).Find(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thorough/adapted", func(b *testing.B) {
		for b.Loop() {
			findPatterns(m, true, true)
		}
	})
	b.Run("thorough/gozxing", func(b *testing.B) {
		for b.Loop() {
			_, _ = multidetector.NewMultiFinderPatternFinder(m, nil).FindMulti(harder)
		}
	})
}
