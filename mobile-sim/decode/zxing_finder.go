// Adapted from gozxing: the finder pattern scan.
//
// findPatterns adapts FinderPatternFinder.Find in gozxing v0.1.1's
// qrcode/detector/finder_pattern_finder.go and the scan of
// MultiFinderPatternFinder.FindMulti in
// multi/qrcode/detector/multi_finder_pattern_finder.go, ports of ZXing's
// Java classes com.google.zxing.qrcode.detector.FinderPatternFinder and
// com.google.zxing.multi.qrcode.detector.MultiFinderPatternFinder;
// selectBest adapts FinderPatternFinder.SelectBestPatterns, and
// confirmedCount the count in FinderPatternFinder.FindRowSkip. Candidate
// confirmation (HandlePossibleCenter and its cross checks) is still
// gozxing's, called through its exported API.
//
// Why: gozxing's scan calls BitMatrix.Get for every pixel of every row it
// visits. findPatterns reads a row's bits a word at a time (runEnd) and
// skips through runs of equal pixels, stepping pixel by pixel only where
// ZXing's state machine changes state. On the benchmark screenshot's
// hybrid matrix (BenchmarkFindPatterns, one CPU) a scan takes 0.65 ms
// instead of 1.25 ms (Find) or 1.6 ms (FindMulti trying harder;
// findPatterns stops before FindMulti's choice of triples, which
// readMatrix makes its own way).
// SelectBestPatterns tries every triple of the finder's own list, which
// took seconds on noisy images with hundreds of candidates; selectBest
// takes a list, so findPatterns can choose among the maxSelect candidates
// seen most (mostSeen, in finder.go). The candidates are gozxing's, and so
// is the triple when there are at most maxSelect candidates
// (TestFindPatternsMatchesGozxing, TestSelectBestMatchesGozxing).
//
// gozxing is Copyright (c) 2018 Daisuke MAKIUCHI, MIT License (its text:
// LICENSE-gozxing). ZXing's
// FinderPatternFinder is Copyright 2007 and MultiFinderPatternFinder
// Copyright 2009 ZXing authors, Apache License 2.0.

package decode

import (
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// findPatterns is gozxing's FinderPatternFinder.Find (multi false) or
// MultiFinderPatternFinder.FindMulti's scan (multi true), step for step,
// but reading each row's bits a word at a time and skipping through runs
// of equal pixels instead of calling BitMatrix.Get per pixel. Candidate
// confirmation and row skipping are gozxing's own code, so the candidates
// are identical; the best triple is chosen as gozxing chooses it
// (selectBest), but among the maxSelect candidates seen most when there
// are more. Quick mode (harder false) skips rows as ZXing does; multi scans every
// row it visits to the end and never stops early. It returns f, whose
// GetPossibleCenters lists the candidates, and for single mode the best
// triple (nil if none).
func findPatterns(m *gozxing.BitMatrix, harder, multi bool) (*detector.FinderPatternFinder, *detector.FinderPatternInfo) {
	f := detector.NewFinderPatternFinder(m, nil)
	maxI, maxJ := m.GetHeight(), m.GetWidth()
	iSkip := (3 * maxI) / (4 * detector.FinderPatternFinder_MAX_MODULES)
	if iSkip < detector.FinderPatternFinder_MIN_SKIP || harder {
		iSkip = detector.FinderPatternFinder_MIN_SKIP
	}
	var row *gozxing.BitArray
	sc := make([]int, 5) // black/white/black/white/black run lengths
	hasSkipped, done := false, false
	for i := iSkip - 1; i < maxI && !done; i += iSkip {
		row = m.GetRow(i, row)
		words := row.GetBitArray()
		clear(sc)
		state := 0
		for j := 0; j < maxJ; {
			black := words[j>>5]>>(j&31)&1 != 0
			end := runEnd(words, j, maxJ, black)
			// ZXing's per-pixel step, until the state's parity matches
			// the pixel color; the rest of the run then only counts.
			for ; j < end && (state&1 == 0) != black; j++ {
				if black {
					state++ // from a white state to the next black one
					sc[state]++
					continue
				}
				if state != 4 {
					state++
					sc[state]++
					continue
				}
				if detector.FinderPatternFinder_foundPatternCross(sc) && f.HandlePossibleCenter(sc, i, j) {
					if !multi {
						iSkip = 2
						if hasSkipped {
							done = f.HaveMultiplyConfirmedCenters()
						} else {
							rowSkip := f.FindRowSkip()
							hasSkipped = confirmedCount(f) >= 2 // as FindRowSkip decides
							if rowSkip > sc[2] {
								// Jump down towards the third pattern.
								i += rowSkip - sc[2] - iSkip
								j = maxJ - 1 // abandon the row
							}
						}
					}
					state = 0
					clear(sc)
					continue
				}
				detector.FinderPatternFinder_ShiftCounts2(sc)
				state = 3
			}
			if j < end {
				sc[state] += end - j
				j = end
			}
		}
		if detector.FinderPatternFinder_foundPatternCross(sc) && f.HandlePossibleCenter(sc, i, maxJ) && !multi {
			iSkip = sc[0]
			if hasSkipped {
				done = f.HaveMultiplyConfirmedCenters()
			}
		}
	}
	if multi {
		return f, nil
	}
	var fps []*detector.FinderPattern
	if cands := f.GetPossibleCenters(); len(cands) > maxSelect {
		fps = selectBest(mostSeen(cands, maxSelect))
	} else if best, err := f.SelectBestPatterns(); err == nil {
		fps = best
	}
	if fps == nil {
		return f, nil
	}
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(fps[0], fps[1], fps[2])
	return f, detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern))
}

// selectBest is gozxing's FinderPatternFinder.SelectBestPatterns on a given
// list (which it sorts): of the triples with module sizes within 1.4× of
// each other, the one closest to an isosceles right triangle, or nil.
func selectBest(cs []*detector.FinderPattern) []*detector.FinderPattern {
	sort.Slice(cs, func(i, j int) bool { return cs[j].GetEstimatedModuleSize() > cs[i].GetEstimatedModuleSize() })
	sq := func(a, b *detector.FinderPattern) float64 {
		x, y := a.GetX()-b.GetX(), a.GetY()-b.GetY()
		return x*x + y*y
	}
	distortion := math.MaxFloat64
	var best []*detector.FinderPattern
	for i := 0; i < len(cs)-2; i++ {
		for j := i + 1; j < len(cs)-1; j++ {
			ij := sq(cs[i], cs[j])
			for k := j + 1; k < len(cs); k++ {
				if cs[k].GetEstimatedModuleSize() > cs[i].GetEstimatedModuleSize()*1.4 {
					continue
				}
				d := [3]float64{ij, sq(cs[j], cs[k]), sq(cs[i], cs[k])}
				slices.Sort(d[:])
				a, b, c := d[0], d[1], d[2]
				if dist := math.Abs(c-2*b) + math.Abs(c-2*a); dist < distortion {
					distortion = dist
					best = []*detector.FinderPattern{cs[i], cs[j], cs[k]}
				}
			}
		}
	}
	return best
}

// confirmedCount is the number of candidates seen often enough to count.
func confirmedCount(f *detector.FinderPatternFinder) int {
	n := 0
	for _, c := range f.GetPossibleCenters() {
		if c.GetCount() >= detector.FinderPatternFinder_CENTER_QUORUM {
			n++
		}
	}
	return n
}

// runEnd returns the end (exclusive) of the run of pixels of the given
// color that starts at j, at most maxJ.
func runEnd(words []uint32, j, maxJ int, black bool) int {
	for j < maxJ {
		w := words[j>>5]
		if !black {
			w = ^w
		}
		w >>= j & 31 // bits from j on; a 0 ends the run
		if w != ^uint32(0)>>(j&31) {
			return min(maxJ, j+bits.TrailingZeros32(^w))
		}
		j = (j | 31) + 1
	}
	return maxJ
}
