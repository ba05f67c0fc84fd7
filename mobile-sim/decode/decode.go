// Package decode finds and decodes QR codes in images and 8-bit luma
// planes, robustly and quickly.
//
// Each frame is converted to gray once. The plain path is ZXing's (via
// gozxing): a local-threshold ("hybrid") binarization and the standard
// detector, which reads a clean screenshot or camera frame in a few
// milliseconds. Only when that fails are more expensive strategies tried,
// in order, stopping at the first that reads something: a global
// threshold; a thorough detector (every third row scanned, other finder
// pattern triples, neighboring dimensions, and a sampler that follows all
// alignment patterns) with three binarizers; copies scaled up (small
// images) or down; crops of regions that look like a code, enlarged; the
// inverted image (light codes on dark); a sharpened copy (blur); a 3×3
// median filter (specks); and a contrast stretch. See strategy.go; the
// code adapted from gozxing is in the zxing_*.go files.
//
// Every returned text has passed the QR code's own format checks and
// Reed-Solomon error correction; nothing is guessed.
package decode

import (
	"errors"
	"fmt"
	"image"
	"strings"
)

// ErrNotFound is returned (wrapped, with the strategies tried) when no QR
// code could be decoded. Test with errors.Is.
var ErrNotFound = errors.New("no QR code found")

// Result is one decoded QR code.
type Result struct {
	// Text is the decoded content (byte segments decoded as UTF-8,
	// Shift_JIS, ISO-8859-1... as the code's ECI or content indicates).
	Text string
	// Strategy names how it was read, e.g. "hybrid" for the plain path,
	// "global", "hybrid+thorough", "up2/local+thorough" or
	// "region(640,300,120x120)/up5/hybrid+thorough" (a crop, enlarged).
	// It is meant for logs and statistics, not for parsing.
	Strategy string
}

// Decode returns all QR codes that the first successful strategy finds in
// img, in the order found (most callers take the first). If none decodes,
// the error wraps ErrNotFound.
func Decode(img image.Image) ([]Result, error) {
	if img == nil {
		return nil, errors.New("decode: nil image")
	}
	pix, w, h := grayPlane(img)
	return DecodeGray(pix, w, h)
}

// DecodeGray is Decode for an 8-bit luma plane of width×height pixels,
// row after row without padding (such as the Y plane of a camera frame).
// pix is only read, never modified or retained. An empty or short plane is
// an error that does not wrap ErrNotFound.
func DecodeGray(pix []byte, width, height int) ([]Result, error) {
	return decodeGray(pix, width, height, false)
}

// DecodeGrayQuick is DecodeGray limited to the plain strategies: the
// hybrid, then the global binarizer with ZXing's detector, on the plane
// and on its inverse. It takes a few milliseconds even when nothing is
// found, for video loops where the next frame is a better retry than the
// slow fallbacks.
func DecodeGrayQuick(pix []byte, width, height int) ([]Result, error) {
	return decodeGray(pix, width, height, true)
}

func decodeGray(pix []byte, width, height int, quick bool) ([]Result, error) {
	if width <= 0 || height <= 0 || len(pix) < width*height {
		return nil, fmt.Errorf("decode: %d bytes is not a %dx%d gray plane", len(pix), width, height)
	}
	f := &frame{pix: pix[:width*height], w: width, h: height}
	var tried []string
	for _, s := range strategies(f, quick) {
		tried = append(tried, s.name)
		if codes := s.run(); len(codes) > 0 {
			res := make([]Result, 0, len(codes))
			seen := map[string]bool{}
			for _, c := range codes {
				if !seen[c.text] {
					seen[c.text] = true
					res = append(res, Result{Text: c.text, Strategy: s.name + c.via})
				}
			}
			return res, nil
		}
	}
	return nil, fmt.Errorf("%w (tried %s)", ErrNotFound, strings.Join(tried, ", "))
}
