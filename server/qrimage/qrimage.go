// Package qrimage draws QR codes with a whole number of pixels per module
// and a 4-module quiet zone, so that every module is the same size (a
// stretched module grid makes large codes unreadable).
package qrimage

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QuietZone is the light border around the code, in modules.
const QuietZone = 4

// Limits of the requested width in pixels.
const (
	DefaultPixels = 256
	MaxPixels     = 2048
)

// Code is an encoded QR symbol.
type Code struct {
	modules [][]bool // without quiet zone; true is dark
}

// Encode encodes content at error-correction level M.
func Encode(content string) (*Code, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qrimage: %w", err)
	}
	q.DisableBorder = true
	return &Code{modules: q.Bitmap()}, nil
}

// Size returns the width in modules, quiet zone included.
func (c *Code) Size() int { return len(c.modules) + 2*QuietZone }

// Scale returns the pixels per module for a wanted width of px pixels:
// px / Size rounded down, at least 1.
func (c *Code) Scale(px int) int { return max(px/c.Size(), 1) }

// Image draws the code as a 1-bit paletted image at most px wide (but at
// least one pixel per module).
func (c *Code) Image(px int) *image.Paletted {
	scale, n := c.Scale(px), c.Size()
	img := image.NewPaletted(image.Rect(0, 0, n*scale, n*scale), color.Palette{color.White, color.Black})
	for y, row := range c.modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+QuietZone)*scale, (y+QuietZone)*scale
			for yy := y0; yy < y0+scale; yy++ {
				off := img.PixOffset(x0, yy)
				for i := 0; i < scale; i++ {
					img.Pix[off+i] = 1
				}
			}
		}
	}
	return img
}

// PNG encodes Image(px) as PNG.
func (c *Code) PNG(px int) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, c.Image(px)); err != nil {
		return nil, fmt.Errorf("qrimage: %w", err)
	}
	return b.Bytes(), nil
}

// SVG draws the code as an SVG of Size*Scale(px) pixels, one path of unit
// squares in module coordinates.
func (c *Code) SVG(px int) []byte {
	n, w := c.Size(), c.Size()*c.Scale(px)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, w, w, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range c.modules {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+QuietZone, y+QuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
