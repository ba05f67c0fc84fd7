package decode

import (
	"math"
	"slices"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Limits of the thorough search, which bound its cost on cluttered
// images.
const (
	maxCenters   = 12  // finder pattern candidates considered
	maxFailures  = 6   // triples that may fail to decode per matrix
	maxCodes     = 8   // codes read from one matrix
	cornerGrowth = 1.2 // a read code's area, enlarged by this, is done
)

// code is one decoded symbol: its text and where it lies in the matrix
// it was read from (corners clockwise from top-left, in pixels).
type code struct {
	text    string
	corners [4]point
	via     string // how, if the attempt's name does not say it all
}

// readMatrix finds and decodes the QR codes in a binarized image; only
// texts that passed the decoder's format and Reed-Solomon checks are
// returned.
//
// Quick mode is ZXing's own detector: the row-skipping finder pattern
// scan, the best-looking triple of finder patterns, one perspective
// transform; after each success the code's area is blanked in m (which is
// modified) and the scan repeats, so several codes are all found.
//
// Thorough mode scans every third row for finder patterns without
// stopping early, then tries the plausible triples best first, each with
// ZXing's sampler and then sampleAligned at the likely dimensions,
// skipping triples that overlap a code already read.
func readMatrix(m *gozxing.BitMatrix, thorough bool) []code {
	var found []code
	if !thorough {
		for len(found) < maxCodes {
			_, info := findPatterns(m, false, false)
			if info == nil {
				break
			}
			c, ok := decodeTriple(m, info, false)
			if !ok {
				break
			}
			found = append(found, c)
			blankQuad(m, grow(c.corners, cornerGrowth))
		}
		return found
	}
	finder, _ := findPatterns(m, true, true)
	failures := 0
	for _, t := range candidateTriples(finder.GetPossibleCenters()) {
		if failures >= maxFailures || len(found) >= maxCodes {
			break
		}
		if overlapsFound(t, found) {
			continue
		}
		c, ok := decodeTriple(m, t, true)
		if !ok {
			failures++
			continue
		}
		found = append(found, c)
	}
	return found
}

// overlapsFound tells whether any finder pattern of t lies inside a code
// already read.
func overlapsFound(t *detector.FinderPatternInfo, found []code) bool {
	for _, c := range found {
		q := grow(c.corners, cornerGrowth)
		for _, p := range []*detector.FinderPattern{t.GetTopLeft(), t.GetTopRight(), t.GetBottomLeft()} {
			if inConvexQuad(q, pt(p)) {
				return true
			}
		}
	}
	return false
}

// decodeTriple samples and decodes the code whose finder patterns are
// info: with ZXing's detector, and if extra is set also with
// sampleAligned at the likely dimensions.
func decodeTriple(m *gozxing.BitMatrix, info *detector.FinderPatternInfo, extra bool) (code, bool) {
	tl, tr, bl := pt(info.GetTopLeft()), pt(info.GetTopRight()), pt(info.GetBottomLeft())
	zdim := 0
	var br *point
	if det, err := detector.NewDetector(m).ProcessFinderPatternInfo(info); err == nil {
		zdim = det.GetBits().GetWidth()
		if pts := det.GetPoints(); len(pts) > 3 {
			p := pt(pts[3])
			br = &p
		}
		if c, ok := decodeBits(det.GetBits(), tl, tr, bl, zdim); ok {
			return c, true
		}
	}
	if !extra {
		return code{}, false
	}
	for _, dim := range candidateDims(info, zdim) {
		// ZXing's bottom-right alignment pattern belongs to its dimension.
		starts := []*point{nil}
		if dim == zdim && br != nil {
			starts = []*point{br, nil}
		}
		for _, start := range starts {
			bits, err := sampleAligned(m, tl, tr, bl, start, dim)
			if err != nil {
				continue
			}
			if c, ok := decodeBits(bits, tl, tr, bl, dim); ok {
				return c, true
			}
		}
	}
	return code{}, false
}

// decodeBits runs the QR decoder (format information, Reed-Solomon error
// correction, and the mirrored reading) on a sampled module grid.
func decodeBits(bits *gozxing.BitMatrix, tl, tr, bl point, dim int) (code, bool) {
	res, err := decoder.NewDecoder().Decode(bits, nil)
	if err != nil {
		return code{}, false
	}
	return code{text: res.GetText(), corners: codeCorners(tl, tr, bl, dim)}, true
}

// candidateDims returns the dimensions to try for a triple: ZXing's
// estimate (when it made one), the estimate from the finder patterns'
// own module sizes, and their neighbors, nearest first.
func candidateDims(info *detector.FinderPatternInfo, zdim int) []int {
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	ms := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	est := (gozxing.ResultPoint_Distance(tl, tr)+gozxing.ResultPoint_Distance(tl, bl))/(2*ms) + 7
	own := int(math.Round((est-17)/4))*4 + 17
	var dims []int
	add := func(d int) {
		if d < 21 || d > 177 {
			return
		}
		if slices.Contains(dims, d) {
			return
		}
		dims = append(dims, d)
	}
	if zdim > 0 {
		add(zdim)
	}
	add(own)
	for _, base := range []int{zdim, own} {
		if base > 0 {
			add(base - 4)
			add(base + 4)
		}
	}
	return dims
}

// candidateTriples returns plausible finder pattern triples among the
// candidates, best first: similar module sizes, a roughly right angle at
// the top-left pattern, and sides of plausible and similar length
// (perspective is allowed to stretch one side up to twice the other).
func candidateTriples(centers []*detector.FinderPattern) []*detector.FinderPatternInfo {
	cs := append([]*detector.FinderPattern(nil), centers...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].GetCount() > cs[j].GetCount() })
	if len(cs) > maxCenters {
		cs = cs[:maxCenters]
	}
	type scored struct {
		info  *detector.FinderPatternInfo
		score float64
	}
	var out []scored
	for i := 0; i < len(cs); i++ {
		for j := i + 1; j < len(cs); j++ {
			for k := j + 1; k < len(cs); k++ {
				a, b, c := cs[i], cs[j], cs[k]
				lo := math.Min(a.GetEstimatedModuleSize(), math.Min(b.GetEstimatedModuleSize(), c.GetEstimatedModuleSize()))
				hi := math.Max(a.GetEstimatedModuleSize(), math.Max(b.GetEstimatedModuleSize(), c.GetEstimatedModuleSize()))
				if hi > 1.6*lo {
					continue
				}
				blp, tlp, trp := gozxing.ResultPoint_OrderBestPatterns(a, b, c)
				bl, tl, tr := pt(blp), pt(tlp), pt(trp)
				ux, uy := tr.x-tl.x, tr.y-tl.y
				vx, vy := bl.x-tl.x, bl.y-tl.y
				du, dv := math.Hypot(ux, uy), math.Hypot(vx, vy)
				ms := (lo + hi) / 2
				if du/ms < 10 || dv/ms < 10 || du/ms > 200 || dv/ms > 200 {
					continue
				}
				cos := (ux*vx + uy*vy) / (du * dv)
				ratio := math.Max(du, dv) / math.Min(du, dv)
				if math.Abs(cos) > 0.5 || ratio > 2 {
					continue
				}
				score := math.Abs(cos) + (ratio - 1) + (hi/lo - 1)
				out = append(out, scored{detector.NewFinderPatternInfo(
					blp.(*detector.FinderPattern), tlp.(*detector.FinderPattern), trp.(*detector.FinderPattern)), score})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score < out[j].score })
	infos := make([]*detector.FinderPatternInfo, len(out))
	for i, s := range out {
		infos[i] = s.info
	}
	return infos
}
