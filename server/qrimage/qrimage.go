// Package qrimage draws QR codes with a whole number of pixels per module
// and a 4-module quiet zone, so that every module is the same size (a
// stretched module grid makes large codes unreadable).
package qrimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"strings"
	"sync"

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
				for i := range scale {
					img.Pix[off+i] = 1
				}
			}
		}
	}
	return img
}

// PNG encodes Image(px) as a 1-bit grayscale PNG. It packs each row
// straight from the module grid: image/png reads a 1-bit image pixel by
// pixel through ColorIndexAt, which made it most of the cost of a QR image.
func (c *Code) PNG(px int) ([]byte, error) {
	scale, n := c.Scale(px), c.Size()
	w := n * scale
	rowLen := 1 + (w+7)/8 // a filter byte (0: none), then the bits; 1 is white
	raw := make([]byte, rowLen*w)
	for y := range n {
		row := raw[y*scale*rowLen : (y*scale+1)*rowLen]
		for x := range w {
			if !c.dark(x/scale, y) {
				row[1+x/8] |= 0x80 >> (x % 8)
			}
		}
		for k := 1; k < scale; k++ { // the module row's other pixel rows
			copy(raw[(y*scale+k)*rowLen:], row)
		}
	}
	var idat bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&idat)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("qrimage: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("qrimage: %w", err)
	}
	out := bytes.NewBuffer(make([]byte, 0, idat.Len()+64))
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(w))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, grayscale; no compression, filter or interlace options
	chunk(out, "IHDR", ihdr)
	chunk(out, "IDAT", idat.Bytes())
	chunk(out, "IEND", nil)
	return out.Bytes(), nil
}

// dark reports whether the module at (x, y), quiet zone included, is dark.
func (c *Code) dark(x, y int) bool {
	x, y = x-QuietZone, y-QuietZone
	return y >= 0 && y < len(c.modules) && x >= 0 && x < len(c.modules) && c.modules[y][x]
}

// zlibWriters reuses zlib writers, whose set-up is costly.
var zlibWriters = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return zw
}}

// chunk writes one PNG chunk: length, type, data, CRC of type and data.
func chunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	out.WriteString(typ)
	out.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
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
