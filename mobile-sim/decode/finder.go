package decode

import (
	"slices"

	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// maxSelect bounds the candidates the best triple is chosen from; the
// choice tries every triple, so noise-like images with hundreds of false
// candidates would otherwise take seconds.
const maxSelect = 40

// mostSeen returns the n candidates seen on the most rows.
func mostSeen(cands []*detector.FinderPattern, n int) []*detector.FinderPattern {
	cs := slices.Clone(cands)
	slices.SortStableFunc(cs, func(a, b *detector.FinderPattern) int { return b.GetCount() - a.GetCount() })
	return cs[:n]
}
