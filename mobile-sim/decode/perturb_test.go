package decode

import (
	"bytes"
	"image"
	"math"
	"testing"

	"github.com/qrlogin/qrlogin/mobile-sim/decode/internal/qrphotos"
)

// TestBlackboxPerturbed degrades every black-box image in ways the set
// itself does not cover (rotation, shrinking, JPEG, blur, inversion) and
// requires no misread and a read rate well above the plain path's. It is
// a guard against strategies that only fit the original images; it is
// skipped in -short mode and under the race detector, where it is slow.
func TestBlackboxPerturbed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("slow: skipped in -short mode and under the race detector")
	}
	cases := qrphotos.Require(t)
	perturbations := []struct {
		name  string
		floor int // reads required out of len(cases)
		f     func(p []byte, w, h int) ([]byte, int, int)
	}{
		{"rotate-30", 90, func(p []byte, w, h int) ([]byte, int, int) { return rotateGray(p, w, h, 30) }},
		{"shrink-0.6", 85, func(p []byte, w, h int) ([]byte, int, int) {
			return scaleGray(p, w, h, w*6/10, h*6/10), w * 6 / 10, h * 6 / 10
		}},
		{"jpeg-q25", 93, func(p []byte, w, h int) ([]byte, int, int) {
			img := jpegRoundTrip(t, &image.Gray{Pix: p, Stride: w, Rect: image.Rect(0, 0, w, h)}, 25)
			q, _, _ := grayPlane(img)
			return q, w, h
		}},
		{"blur", 85, func(p []byte, w, h int) ([]byte, int, int) {
			g := &image.Gray{Pix: append([]byte(nil), p...), Stride: w, Rect: image.Rect(0, 0, w, h)}
			boxBlur(g, 1)
			return g.Pix, w, h
		}},
		{"invert", 93, func(p []byte, w, h int) ([]byte, int, int) { return invertGray(p), w, h }},
	}
	planes := make([][]byte, len(cases))
	sizes := make([][2]int, len(cases))
	for i, c := range cases {
		img, err := Load(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		pix, w, h := grayPlane(img)
		planes[i], sizes[i] = pix, [2]int{w, h}
	}
	for _, p := range perturbations {
		plain, read, misread := 0, 0, 0
		for i, c := range cases {
			pix, w, h := p.f(planes[i], sizes[i][0], sizes[i][1])
			want := c.Want
			if fix, ok := labelErrata[c.Name]; ok {
				want = []byte(fix)
			}
			if res, err := DecodeGrayQuick(pix, w, h); err == nil && bytes.Equal([]byte(res[0].Text), want) {
				plain++
			}
			res, err := DecodeGray(pix, w, h)
			if err != nil {
				continue
			}
			if bytes.Equal([]byte(res[0].Text), want) {
				read++
			} else {
				misread++
				t.Errorf("%s %s: MISREAD by %s: %q", p.name, c.Name, res[0].Strategy, res[0].Text)
			}
		}
		t.Logf("%-10s read %d/%d (plain path %d), misread %d", p.name, read, len(cases), plain, misread)
		if read < p.floor {
			t.Errorf("%s: read %d, want >= %d", p.name, read, p.floor)
		}
	}
}

// rotateGray rotates a plane by deg degrees about its center with
// bilinear sampling into a canvas that holds the whole result, filling
// the corners with light gray.
func rotateGray(pix []byte, w, h int, deg float64) ([]byte, int, int) {
	s, c := math.Sincos(deg * math.Pi / 180)
	nw := int(math.Abs(float64(w)*c) + math.Abs(float64(h)*s))
	nh := int(math.Abs(float64(w)*s) + math.Abs(float64(h)*c))
	out := make([]byte, nw*nh)
	at := func(x, y int) float64 { return float64(pix[y*w+x]) }
	for y := range nh {
		for x := range nw {
			dx, dy := float64(x)-float64(nw)/2, float64(y)-float64(nh)/2
			u := c*dx + s*dy + float64(w)/2
			v := -s*dx + c*dy + float64(h)/2
			if u < 0 || v < 0 || u >= float64(w-1) || v >= float64(h-1) {
				out[y*nw+x] = 200
				continue
			}
			x0, y0 := int(u), int(v)
			fx, fy := u-float64(x0), v-float64(y0)
			out[y*nw+x] = byte(at(x0, y0)*(1-fx)*(1-fy) + at(x0+1, y0)*fx*(1-fy) +
				at(x0, y0+1)*(1-fx)*fy + at(x0+1, y0+1)*fx*fy)
		}
	}
	return out, nw, nh
}
