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

// TestFindPatternsMatchesGozxing runs the run-skipping scan and gozxing's
// own Find and FindMulti on many binarized images and requires identical
// candidates and results.
func TestFindPatternsMatchesGozxing(t *testing.T) {
	var mats []*gozxing.BitMatrix
	add := func(pix []byte, w, h int) {
		for _, b := range []binarizer{hybrid, global} {
			p := &plane{pix: pix, w: w, h: h}
			if m := p.matrix(b); m != nil {
				mats = append(mats, m)
			}
		}
	}
	if blackboxDir(t) != "" {
		for i, c := range blackboxCases(t) {
			if testing.Short() && i%3 != 0 {
				continue // a third of the set in -short mode
			}
			img, err := Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			add(grayPlane(img))
		}
	}
	shot, _ := screenshot(t, 1920, 1080, screenshotText, 7, 5)
	add(grayPlane(shot))
	g := newGray(900, 400, 255)
	for i, s := range []string{"one", "two", "three"} {
		renderQR(g, qrBitmap(t, s, 0), placement{6, float64(150 + 300*i), 200, float64(20 * i)}, 0, 255)
	}
	add(g.Pix, 900, 400)

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
	for n, m := range mats {
		for _, harder := range []bool{false, true} {
			hints := map[gozxing.DecodeHintType]interface{}{}
			if harder {
				hints[gozxing.DecodeHintType_TRY_HARDER] = true
			}
			zf := detector.NewFinderPatternFinder(m, nil)
			zinfo, zerr := zf.Find(hints)
			f, info := findPatterns(m, harder, false)
			if (zerr == nil) != (info != nil) {
				t.Fatalf("matrix %d harder=%v: gozxing err %v, ours %v", n, harder, zerr, info)
			}
			if !same(zf.GetPossibleCenters(), f.GetPossibleCenters()) {
				t.Fatalf("matrix %d harder=%v: candidates differ: %d vs %d", n, harder, len(zf.GetPossibleCenters()), len(f.GetPossibleCenters()))
			}
			if info != nil && (pt(info.GetTopLeft()) != pt(zinfo.GetTopLeft()) || pt(info.GetTopRight()) != pt(zinfo.GetTopRight()) ||
				pt(info.GetBottomLeft()) != pt(zinfo.GetBottomLeft())) {
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
	t.Logf("%d matrices compared", len(mats))
}

// TestSelectBestMatchesGozxing compares selectBest with gozxing's
// SelectBestPatterns on many candidates, and checks that findPatterns
// still chooses a triple when it caps them.
func TestSelectBestMatchesGozxing(t *testing.T) {
	// 48 finder patterns of random sizes, scattered on a grid.
	rng := rand.New(rand.NewPCG(4, 4))
	g := newGray(1700, 1200, 255)
	finder := [][]bool{}
	for y := 0; y < 7; y++ {
		row := make([]bool, 7)
		for x := range row {
			d := max(abs(x-3), abs(y-3))
			row[x] = d != 2
		}
		finder = append(finder, row)
	}
	for i := 0; i < 48; i++ {
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
