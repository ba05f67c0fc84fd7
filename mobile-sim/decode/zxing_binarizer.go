// Adapted from gozxing: the hybrid binarizer.
//
// hybridMatrix and its helpers blackPoints, blockStats, blackWord, atMost8,
// geLanes and clampInt adapt HybridBinarizer's GetBlackMatrix,
// calculateBlackPoints, calculateThresholdForBlock, thresholdBlock and cap
// in gozxing v0.1.1's hybrid_binarizer.go, a port of ZXing's Java class
// com.google.zxing.common.HybridBinarizer. The output is gozxing's, bit for
// bit (TestHybridMatchesGozxing); blockStats also serves codeRegions.
//
// Why: gozxing works a pixel at a time: it sums each 8×8 block pixel by
// pixel, keeps the black points in a [][]int (a slice per block row) and
// sets each black pixel with BitMatrix.Set. Here a block's sum, minimum
// and maximum are taken eight pixels at a time in 64-bit words, a row's
// pixels are compared with their thresholds 32 at a time and stored with
// SetRow, and the rows are split across CPUs. On the 1920×1080 benchmark
// screenshot (BenchmarkHybridMatrix) that is 2.8 ms instead of 8 ms on one
// CPU, 1.8 ms instead of 7 ms on two, with 13-23 allocations (394 kB)
// instead of 141 (543 kB).
//
// gozxing is Copyright (c) 2018 Daisuke MAKIUCHI, MIT License (its text:
// LICENSE-gozxing). ZXing's
// HybridBinarizer is Copyright 2009 ZXing authors, Apache License 2.0.

package decode

import (
	"encoding/binary"

	"github.com/makiuchi-d/gozxing"
)

// Block geometry of ZXing's HybridBinarizer.
const (
	blockPow      = 3
	blockSize     = 1 << blockPow
	minDimension  = blockSize * 5
	minDynamicRng = 24
)

// SWAR constants: the high and low 7 bits of each byte lane, and a byte
// broadcast multiplier.
const (
	laneHi    = 0x8080808080808080
	laneLo    = 0x7f7f7f7f7f7f7f7f
	broadcast = 0x0101010101010101
)

// hybridMatrix binarizes a w×h luma plane exactly like gozxing's
// HybridBinarizer (local thresholds from 8×8 block black points averaged
// over 5×5 blocks, falling back to the global histogram binarizer for
// images under 40 pixels). It works on the plane directly, eight pixels at
// a time in 64-bit words, which makes it several times faster.
func hybridMatrix(pix []byte, w, h int) (*gozxing.BitMatrix, error) {
	if w < minDimension || h < minDimension {
		return globalMatrix(pix, w, h)
	}
	subW := (w + blockSize - 1) >> blockPow
	subH := (h + blockSize - 1) >> blockPow
	black := blackPoints(pix, w, h, subW, subH)

	// Per-block thresholds: the mean black point of the 5×5 blocks around.
	// ZXing shifts the last block column and row inwards to stay inside
	// the image, so they overlap their neighbors; the overlap needs no
	// care because the 5×5 window is capped at the border, which gives
	// the last three blocks of a row or column the same threshold.
	thr := make([]byte, subW*subH)
	forRows(subH, w*h, func(b0, b1 int) {
		for by := b0; by < b1; by++ {
			top := clampInt(by, 2, subH-3)
			for bx := range subW {
				left := clampInt(bx, 2, subW-3)
				sum := 0
				for z := -2; z <= 2; z++ {
					r := black[(top+z)*subW+left-2 : (top+z)*subW+left+3]
					sum += int(r[0]) + int(r[1]) + int(r[2]) + int(r[3]) + int(r[4])
				}
				thr[by*subW+bx] = byte(sum / 25)
			}
		}
	})

	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	forRows(h, w*h, func(y0, y1 int) {
		// Each range has its own row buffer; SetRow copies it into the
		// range's own rows of m.
		row := gozxing.NewBitArray(w)
		var tail [32]byte
		full := w &^ 31
		for y := y0; y < y1; y++ {
			t := thr[min(y>>blockPow, subH-1)*subW:]
			line := pix[y*w : (y+1)*w]
			for x := 0; x < full; x += 32 {
				b := x >> blockPow
				row.SetBulk(x, blackWord(line[x:x+32], t[b], t[b+1], t[b+2], t[b+3]))
			}
			if full < w {
				// Pad the last word with white; blocks past the last
				// one reuse its threshold.
				for i := range tail {
					tail[i] = 0xff
				}
				copy(tail[:], line[full:])
				var bt [4]byte
				for i := range bt {
					bt[i] = t[min(full>>blockPow+i, subW-1)]
				}
				row.SetBulk(full, blackWord(tail[:], bt[0], bt[1], bt[2], bt[3]))
			}
			m.SetRow(y, row)
		}
	})
	return m, nil
}

// blackWord returns a word whose bit i is set when lum[i] is at most the
// threshold of its 8-pixel block (t0 for pixels 0-7, t1 for 8-15, ...).
func blackWord(lum []byte, t0, t1, t2, t3 byte) uint32 {
	lum = lum[:32]
	return atMost8(binary.LittleEndian.Uint64(lum[0:]), t0) |
		atMost8(binary.LittleEndian.Uint64(lum[8:]), t1)<<8 |
		atMost8(binary.LittleEndian.Uint64(lum[16:]), t2)<<16 |
		atMost8(binary.LittleEndian.Uint64(lum[24:]), t3)<<24
}

// atMost8 returns an 8-bit mask of the byte lanes of a that are <= t.
func atMost8(a uint64, t byte) uint32 {
	if t == 0xff {
		return 0xff
	}
	ge := geLanes(a, uint64(t+1)*broadcast) ^ laneHi
	return uint32(((ge >> 7) * 0x0102040810204080) >> 56)
}

// geLanes returns laneHi bits set in the byte lanes where a >= b
// (unsigned), computed without borrows crossing lanes.
func geLanes(a, b uint64) uint64 {
	d := (a | laneHi) - (b & laneLo) // lane msb: low 7 bits of a >= those of b
	return ((^(a ^ b) & d) | (a &^ b)) & laneHi
}

// blackPoints computes ZXing's per-block black point estimates: the block
// mean, or for flat blocks (range <= 24) half the minimum, raised to the
// neighbors' level where that is higher.
func blackPoints(pix []byte, w, h, subW, subH int) []byte {
	mean, lo, hi := blockStats(pix, w, h, subW, subH)
	// The flat blocks go in order, since each looks at the black points
	// already set above and to its left.
	out := mean
	for by := range subH {
		for bx := range subW {
			i := by*subW + bx
			mn := int(lo[i])
			if int(hi[i])-mn > minDynamicRng {
				continue
			}
			avg := mn / 2 // assume background unless the neighbors differ
			if by > 0 && bx > 0 {
				nb := (int(out[i-subW]) + 2*int(out[i-1]) + int(out[i-subW-1])) / 4
				if mn < nb {
					avg = nb
				}
			}
			out[i] = byte(avg)
		}
	}
	return out
}

// blockStats returns the mean, minimum and maximum of each 8×8 block of a
// w×h plane (w, h >= 8), subW×subH blocks row by row; the last block
// column and row are shifted inwards to stay inside the image, as in
// ZXing.
func blockStats(pix []byte, w, h, subW, subH int) (mean, lo, hi []byte) {
	const lo16 = 0x00ff00ff00ff00ff
	mean = make([]byte, subW*subH)
	lo = make([]byte, subW*subH)
	hi = make([]byte, subW*subH)
	maxY, maxX := h-blockSize, w-blockSize
	forRows(subH, w*h, func(b0, b1 int) {
		for by := b0; by < b1; by++ {
			yo := min(by<<blockPow, maxY)
			for bx := range subW {
				o := yo*w + min(bx<<blockPow, maxX)
				first := binary.LittleEndian.Uint64(pix[o : o+8])
				l, u, sums := first, first, (first&lo16)+((first>>8)&lo16)
				for yy := 1; yy < blockSize; yy++ {
					o += w
					v := binary.LittleEndian.Uint64(pix[o : o+8])
					sums += (v & lo16) + ((v >> 8) & lo16)
					mask := (geLanes(v, u) >> 7) * 0xff
					u = v&mask | u&^mask
					mask = (geLanes(l, v) >> 7) * 0xff
					l = v&mask | l&^mask
				}
				mn, mx := byte(255), byte(0)
				for i := 0; i < 64; i += 8 {
					mn = min(mn, byte(l>>i))
					mx = max(mx, byte(u>>i))
				}
				i := by*subW + bx
				mean[i] = byte((sums * 0x0001000100010001) >> 48 >> (2 * blockPow))
				lo[i], hi[i] = mn, mx
			}
		}
	})
	return mean, lo, hi
}

// clampInt is ZXing's cap: v limited to [lo, hi].
func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
