package decode

import (
	"fmt"

	"github.com/makiuchi-d/gozxing"
)

// attempt is one decoding strategy; run returns the codes it read.
type attempt struct {
	name string
	run  func() []code
}

// frame is the gray image being decoded.
type frame struct {
	pix  []byte
	w, h int
}

// binarizer selects how a plane is turned black and white.
type binarizer int

const (
	hybrid binarizer = iota // ZXing's 8×8-block local thresholds
	global                  // ZXing's single histogram threshold
	local                   // mean of a window a tenth of the image wide
)

var binarizerNames = [...]string{hybrid: "hybrid", global: "global", local: "local"}

// plane is a gray image with lazily computed binarizations.
type plane struct {
	pix      []byte
	w, h     int
	matrices [len(binarizerNames)]*gozxing.BitMatrix
}

// matrix returns p binarized by b (nil if that fails).
func (p *plane) matrix(b binarizer) *gozxing.BitMatrix {
	if p.matrices[b] == nil {
		switch b {
		case hybrid:
			p.matrices[b], _ = hybridMatrix(p.pix, p.w, p.h)
		case global:
			p.matrices[b], _ = globalMatrix(p.pix, p.w, p.h)
		case local:
			r := max(8, min(64, min(p.w, p.h)/10))
			p.matrices[b] = localMeanMatrix(p.pix, p.w, p.h, r, 10)
		}
	}
	return p.matrices[b]
}

// Frame sizes that change the plan.
const (
	smallSide = 1024    // up to this long side, a 2× enlargement is tried
	hugeSide  = 1600    // beyond this, smaller copies come first
	filterMax = 4 << 20 // filters run on a halved copy of larger frames
)

// strategies lists the attempts for f, cheapest and most likely first;
// with quick set, only the plain ones on the image and its inverse. Derived planes are computed
// only when an attempt needs them, and shared by the attempts on them.
//
// The order: the plain path, on the image and on its inverse (light codes
// on dark); for huge frames, halved and quartered copies (cheap, and they
// average out noise in big modules); the thorough reads at full size; a
// 2× enlargement of small frames or a halved copy of medium ones;
// enlarged crops of code-like regions; then thorough reads of the
// inverted, sharpened, median-filtered and contrast-stretched image (for
// frames over 4 MP, of the halved copy).
func strategies(f *frame, quick bool) []attempt {
	var list []attempt
	// add appends attempts on one plane: quick reads with the hybrid and
	// global binarizers, and/or thorough reads with all binarizers.
	add := func(prefix string, p func() *plane, quick, thorough bool) {
		if quick {
			for _, b := range []binarizer{hybrid, global} {
				list = append(list, attempt{prefix + binarizerNames[b], func() []code {
					return readPlane(p(), b, false)
				}})
			}
		}
		if thorough {
			for _, b := range []binarizer{hybrid, global, local} {
				list = append(list, attempt{prefix + binarizerNames[b] + "+thorough", func() []code {
					return readPlane(p(), b, true)
				}})
			}
		}
	}
	full := once(func() *plane { return &plane{pix: f.pix, w: f.w, h: f.h} })
	add("", full, true, false)
	// Light codes on dark (dark mode apps) are common and this is cheap.
	inverted := once(func() *plane { return &plane{pix: invertGray(f.pix), w: f.w, h: f.h} })
	add("invert/", inverted, true, false)
	if quick {
		return list
	}

	long, short := max(f.w, f.h), min(f.w, f.h)
	scaled := func(num, den int) func() *plane {
		return once(func() *plane {
			w, h := max(1, f.w*num/den), max(1, f.h*num/den)
			return &plane{pix: scaleGray(f.pix, f.w, f.h, w, h), w: w, h: h}
		})
	}
	down2, down4 := scaled(1, 2), scaled(1, 4)
	if long > hugeSide {
		add("down2/", down2, true, true)
		if long > 2*hugeSide {
			add("down4/", down4, true, true)
		}
	}
	add("", full, false, true)
	switch {
	case long <= smallSide:
		add("up2/", scaled(2, 1), false, true)
		if short >= 160 {
			add("down2/", down2, false, true)
		}
	case long <= hugeSide:
		add("down2/", down2, false, true)
	}
	if long >= 480 {
		list = append(list, attempt{"region", func() []code { return readRegions(f) }})
	}

	base, prefix := full, ""
	if f.w*f.h > filterMax {
		base, prefix = down2, "down2/"
	} else {
		add("invert/", inverted, false, true)
	}
	filtered := func(fn func(p *plane) []byte) func() *plane {
		return once(func() *plane {
			p := base()
			return &plane{pix: fn(p), w: p.w, h: p.h}
		})
	}
	if prefix != "" {
		add(prefix+"invert/", filtered(func(p *plane) []byte { return invertGray(p.pix) }), true, true)
	}
	add(prefix+"sharpen/", filtered(func(p *plane) []byte { return sharpen(p.pix, p.w, p.h, 2) }), false, true)
	add(prefix+"median3/", filtered(func(p *plane) []byte { return median3(p.pix, p.w, p.h) }), false, true)
	add(prefix+"stretch/", filtered(func(p *plane) []byte { return stretchContrast(p.pix) }), false, true)
	return list
}

// once memoizes a plane constructor.
func once(mk func() *plane) func() *plane {
	var p *plane
	return func() *plane {
		if p == nil {
			p = mk()
		}
		return p
	}
}

// readPlane binarizes p and reads it. A panic while detecting or
// decoding (gozxing indexes its matrices freely and is not hardened
// against every input) counts as a failed attempt rather than crashing
// the caller.
func readPlane(p *plane, b binarizer, thorough bool) (codes []code) {
	if p.pix == nil {
		return nil
	}
	m := p.matrix(b)
	if m == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			codes = nil
		}
	}()
	return readMatrix(m, thorough)
}

// readRegions crops the regions that look like a code, enlarges small
// ones and reads each thoroughly with each binarizer until one reads. The codes' text is
// what counts; their corners are not mapped back to the frame.
func readRegions(f *frame) []code {
	var found []code
	for _, r := range codeRegions(f.pix, f.w, f.h) {
		s := regionScale(r)
		w, h := r.Dx()*s, r.Dy()*s
		pix := crop(f.pix, f.w, r)
		if s > 1 {
			pix = scaleGray(pix, r.Dx(), r.Dy(), w, h)
		}
		p := &plane{pix: pix, w: w, h: h}
		for _, b := range []binarizer{hybrid, global, local} {
			codes := readPlane(p, b, true)
			for _, c := range codes {
				c.via = fmt.Sprintf("(%d,%d,%dx%d)/up%d/%s+thorough", r.Min.X, r.Min.Y, r.Dx(), r.Dy(), s, binarizerNames[b])
				found = append(found, c)
			}
			if len(codes) > 0 {
				break
			}
		}
	}
	return found
}
