package decode

import (
	"encoding/binary"
	"image"
	"image/color"
)

// grayPlane converts img to an 8-bit luma plane of width*height bytes, row
// after row without padding. Transparent pixels are composited onto white,
// so a code drawn on a transparent background reads as dark on light. The
// returned slice may alias img's pixels (for a tightly packed *image.Gray);
// callers must not modify it.
func grayPlane(img image.Image) (pix []byte, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, 0, 0
	}
	switch m := img.(type) {
	case *image.Gray:
		if m.Stride == w {
			return m.Pix[:w*h], w, h
		}
		pix = make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(pix[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
		return pix, w, h
	case *image.YCbCr:
		pix = make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(pix[y*w:(y+1)*w], m.Y[y*m.YStride:])
		}
		return pix, w, h
	case *image.RGBA:
		return rgbaGray(m.Pix, m.Stride, w, h, true), w, h
	case *image.NRGBA:
		return rgbaGray(m.Pix, m.Stride, w, h, false), w, h
	case *image.Paletted:
		return palettedGray(m, w, h), w, h
	case *image.RGBA64:
		return rgba64Gray(m.Pix, m.Stride, w, h, true), w, h
	case *image.NRGBA64:
		return rgba64Gray(m.Pix, m.Stride, w, h, false), w, h
	case *image.Gray16:
		return gray16Gray(m, w, h), w, h
	}
	return atGray(img), w, h
}

// atGray is the generic conversion behind grayPlane, for any image: the
// lumaOf of each pixel's At, row after row. It is slow (an interface call
// and a color allocation per pixel); the fast paths give the same bytes
// (image.RGBA64, NRGBA64, Gray16) or nearly (the 8-bit types).
func atGray(img image.Image) []byte {
	b := img.Bounds()
	pix := make([]byte, b.Dx()*b.Dy())
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			pix[i] = lumaOf(img.At(x, y))
			i++
		}
	}
	return pix
}

// lumaOf is the BT.601 luma of c composited onto white, 0..255.
func lumaOf(c color.Color) byte {
	return luma16(c.RGBA())
}

// luma16 is the BT.601 luma of a premultiplied 16-bit color composited
// onto white, 0..255: lumaOf for the values of color.Color's RGBA method.
func luma16(r, g, b, a uint32) byte {
	y := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	y += 0xffff - a
	return byte(y >> 8)
}

// rgbaGray converts 4-byte RGBA rows to luma composited onto white.
// premul tells whether the color channels are premultiplied by alpha
// (image.RGBA) or not (image.NRGBA). Pixels are converted two at a time,
// one per 32-bit lane of a 64-bit word: for premultiplied colors the
// composite is luma + 255 - alpha; for straight ones it is
// luma*alpha/255 + 255 - alpha.
func rgbaGray(src []byte, stride, w, h int, premul bool) []byte {
	pix := make([]byte, w*h)
	forRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src[y*stride : y*stride+4*w]
			out := pix[y*w : (y+1)*w]
			if premul {
				premulRow(out, row)
			} else {
				straightRow(out, row)
			}
		}
	})
	return pix
}

const (
	chan0 = 0x000000ff000000ff // the first byte of each 32-bit lane
	pair  = 1<<32 | 1          // a 1 in each 32-bit lane
)

// premulRow converts one row of premultiplied RGBA to luma.
func premulRow(out, row []byte) {
	x := 0
	for ; x+2 <= len(out); x += 2 {
		v := binary.LittleEndian.Uint64(row[4*x:])
		l := 77*(v&chan0) + 150*(v>>8&chan0) + 29*(v>>16&chan0) + 128*pair
		l = l>>8&chan0 + 255*pair - v>>24&chan0
		out[x] = byte(l)
		out[x+1] = byte(l >> 32)
	}
	if x < len(out) {
		v := uint64(binary.LittleEndian.Uint32(row[4*x:]))
		out[x] = byte((77*(v&0xff)+150*(v>>8&0xff)+29*(v>>16&0xff)+128)>>8 + 255 - v>>24)
	}
}

// straightRow converts one row of non-premultiplied RGBA to luma: pairs of
// opaque pixels like premulRow, others one by one.
func straightRow(out, row []byte) {
	const alphas = 0xff000000ff000000
	x := 0
	for ; x+2 <= len(out); x += 2 {
		v := binary.LittleEndian.Uint64(row[4*x:])
		if v&alphas != alphas {
			out[x] = straightLuma(row[4*x : 4*x+4])
			out[x+1] = straightLuma(row[4*x+4 : 4*x+8])
			continue
		}
		l := (77*(v&chan0) + 150*(v>>8&chan0) + 29*(v>>16&chan0) + 128*pair) >> 8
		out[x] = byte(l)
		out[x+1] = byte(l >> 32)
	}
	if x < len(out) {
		out[x] = straightLuma(row[4*x : 4*x+4])
	}
}

// straightLuma is the luma of one non-premultiplied RGBA pixel composited
// onto white.
func straightLuma(p []byte) byte {
	l := (77*uint32(p[0]) + 150*uint32(p[1]) + 29*uint32(p[2]) + 128) >> 8
	a := uint32(p[3])
	return byte((l*a+127)/255 + 255 - a)
}

// palettedGray converts a paletted image through a 256-entry luma table.
func palettedGray(m *image.Paletted, w, h int) []byte {
	var lut [256]byte
	for i := range lut {
		lut[i] = 0xff // indices outside the palette: treat as background
	}
	for i, c := range m.Palette {
		if i < len(lut) {
			lut[i] = lumaOf(c)
		}
	}
	pix := make([]byte, w*h)
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+w]
		out := pix[y*w : (y+1)*w]
		for x, v := range row {
			out[x] = lut[v]
		}
	}
	return pix
}

// rgba64Gray converts 8-byte rows of 16-bit RGBA (big-endian channels, as
// in image.RGBA64 and image.NRGBA64) to luma composited onto white, giving
// exactly what lumaOf gives for each pixel's color. premul tells whether
// the color channels are premultiplied by alpha (image.RGBA64) or not
// (image.NRGBA64); straight ones are premultiplied as color.NRGBA64's
// RGBA method does.
func rgba64Gray(src []byte, stride, w, h int, premul bool) []byte {
	pix := make([]byte, w*h)
	forRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src[y*stride : y*stride+8*w]
			out := pix[y*w : (y+1)*w]
			if premul {
				premul64Row(out, row)
			} else {
				straight64Row(out, row)
			}
		}
	})
	return pix
}

// premul64Row converts one row of premultiplied 16-bit RGBA to luma.
func premul64Row(out, row []byte) {
	for x := range out {
		p := row[8*x : 8*x+8 : 8*x+8]
		out[x] = luma16(uint32(binary.BigEndian.Uint16(p[0:])), uint32(binary.BigEndian.Uint16(p[2:])),
			uint32(binary.BigEndian.Uint16(p[4:])), uint32(binary.BigEndian.Uint16(p[6:])))
	}
}

// straight64Row converts one row of non-premultiplied 16-bit RGBA to luma.
// An opaque pixel needs no premultiplying: c*0xffff/0xffff is c.
func straight64Row(out, row []byte) {
	for x := range out {
		p := row[8*x : 8*x+8 : 8*x+8]
		r, g, b := uint32(binary.BigEndian.Uint16(p[0:])), uint32(binary.BigEndian.Uint16(p[2:])), uint32(binary.BigEndian.Uint16(p[4:]))
		a := uint32(binary.BigEndian.Uint16(p[6:]))
		if a != 0xffff {
			r, g, b = r*a/0xffff, g*a/0xffff, b*a/0xffff
		}
		out[x] = luma16(r, g, b, a)
	}
}

// gray16Gray converts a 16-bit gray image to 8 bits by keeping the high
// byte of each (big-endian) sample, which is what lumaOf gives for a
// color.Gray16: its luma is the sample itself, fully opaque.
func gray16Gray(m *image.Gray16, w, h int) []byte {
	pix := make([]byte, w*h)
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+2*w]
		out := pix[y*w : (y+1)*w]
		for x := range out {
			out[x] = row[2*x]
		}
	}
	return pix
}
