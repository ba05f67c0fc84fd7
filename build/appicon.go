//go:build ignore

// appicon draws build/appicon.png, the app's 512x512 icon: a rounded green
// tile holding a white card with a QR code's three finder patterns and a
// check mark. Run from the repository root: go run build/appicon.go
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const (
	size = 512
	ss   = 4 // supersampling per axis, for smooth edges
)

func main() {
	big := image.NewNRGBA(image.Rect(0, 0, size*ss, size*ss))
	s := float64(ss)
	top := color.NRGBA{0x12, 0xB8, 0x6A, 0xff}
	bottom := color.NRGBA{0x05, 0x8A, 0x4E, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	ink := color.NRGBA{0x0B, 0x5E, 0x3A, 0xff}
	for y := 0; y < size*ss; y++ {
		for x := 0; x < size*ss; x++ {
			fx, fy := float64(x)/s, float64(y)/s
			if !inRoundRect(fx, fy, 16, 16, 496, 496, 112) {
				continue
			}
			c := lerp(top, bottom, fy/size)
			if inRoundRect(fx, fy, 104, 104, 408, 408, 40) {
				c = white
			}
			for _, o := range [][2]float64{{136, 136}, {296, 136}, {136, 296}} {
				if finder(fx-o[0], fy-o[1]) {
					c = ink
				}
			}
			if check(fx, fy) {
				c = top
			}
			big.SetNRGBA(x, y, c)
		}
	}
	small := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for j := 0; j < ss; j++ {
				for i := 0; i < ss; i++ {
					p := big.NRGBAAt(x*ss+i, y*ss+j)
					al := float64(p.A)
					r, g, b, a = r+float64(p.R)*al, g+float64(p.G)*al, b+float64(p.B)*al, a+al
				}
			}
			if a == 0 {
				continue
			}
			small.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(a / (ss * ss))})
		}
	}
	f, err := os.Create("build/appicon.png")
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, small); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// finder reports whether (x, y), relative to the pattern's corner, is dark
// in a QR finder pattern of 80 px (7 modules of ~11.4 px).
func finder(x, y float64) bool {
	const m = 80.0 / 7
	if x < 0 || y < 0 || x >= 7*m || y >= 7*m {
		return false
	}
	i, j := int(x/m), int(y/m)
	ring := min(i, j, 6-i, 6-j)
	return ring != 1
}

// check reports whether (x, y) is on the check mark in the lower right.
func check(x, y float64) bool {
	return nearSegment(x, y, 300, 352, 332, 384, 14) || nearSegment(x, y, 332, 384, 388, 312, 14)
}

func nearSegment(x, y, x1, y1, x2, y2, w float64) bool {
	dx, dy := x2-x1, y2-y1
	t := ((x-x1)*dx + (y-y1)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	px, py := x1+t*dx-x, y1+t*dy-y
	return px*px+py*py <= w*w
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || y < y0 || x >= x1 || y >= y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
}

func lerp(a, b color.NRGBA, t float64) color.NRGBA {
	f := func(u, v uint8) uint8 { return uint8(float64(u) + (float64(v)-float64(u))*t) }
	return color.NRGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 0xff}
}
