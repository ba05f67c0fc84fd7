package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"math/bits"
	"os"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// quietXGB silences xgb's logging to stderr (such as "Could not get
// authority info" when there is no ~/.Xauthority, which is normal under
// Xvfb); Screen reports failures in its errors instead.
var quietXGB sync.Once

// Screen grabs the whole screen of the X11 display (e.g. ":99"; "" means
// $DISPLAY) over the X protocol, as an *image.RGBA of the root window's
// size. It needs no external tool; it works with Xvfb and with servers
// that require a MIT-MAGIC-COOKIE-1 from $XAUTHORITY.
func Screen(display string) (image.Image, error) {
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, errors.New("capture: no X display given and DISPLAY is not set")
	}
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("capture: cannot connect to X display %q: %w", display, err)
	}
	defer c.Close()
	setup := xproto.Setup(c)
	if c.DefaultScreen < 0 || c.DefaultScreen >= len(setup.Roots) {
		return nil, fmt.Errorf("capture: X display %q has no screen %d", display, c.DefaultScreen)
	}
	scr := setup.Roots[c.DefaultScreen]
	w, h := int(scr.WidthInPixels), int(scr.HeightInPixels)
	reply, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(scr.Root),
		0, 0, uint16(w), uint16(h), ^uint32(0)).Reply()
	if err != nil {
		return nil, fmt.Errorf("capture: GetImage on the root window of %q: %w", display, err)
	}
	var format *xproto.Format
	for i := range setup.PixmapFormats {
		if setup.PixmapFormats[i].Depth == reply.Depth {
			format = &setup.PixmapFormats[i]
		}
	}
	var visual *xproto.VisualInfo
	for _, d := range scr.AllowedDepths {
		for i := range d.Visuals {
			if d.Visuals[i].VisualId == reply.Visual {
				visual = &d.Visuals[i]
			}
		}
	}
	if format == nil || visual == nil {
		return nil, fmt.Errorf("capture: X display %q: no pixmap format or visual for depth %d", display, reply.Depth)
	}
	return zpixmapRGBA(reply.Data, pixelLayout{
		width: w, height: h,
		bpp: int(format.BitsPerPixel), pad: int(format.ScanlinePad),
		msbFirst: setup.ImageByteOrder == xproto.ImageOrderMSBFirst,
		masks:    [3]uint32{visual.RedMask, visual.GreenMask, visual.BlueMask},
	})
}

// pixelLayout describes a ZPixmap image from the X server.
type pixelLayout struct {
	width, height int
	bpp, pad      int       // bits per pixel and scanline padding in bits
	msbFirst      bool      // pixel bytes are big-endian
	masks         [3]uint32 // red, green and blue bits of a pixel
}

// zpixmapRGBA converts ZPixmap pixels of a TrueColor visual (8, 16, 24 or
// 32 bits per pixel) to an opaque *image.RGBA.
func zpixmapRGBA(data []byte, l pixelLayout) (*image.RGBA, error) {
	switch l.bpp {
	case 8, 16, 24, 32:
	default:
		return nil, fmt.Errorf("capture: unsupported %d bits per pixel", l.bpp)
	}
	if l.pad < 8 || l.pad%8 != 0 {
		return nil, fmt.Errorf("capture: unsupported scanline pad %d", l.pad)
	}
	stride := (l.width*l.bpp + l.pad - 1) / l.pad * l.pad / 8
	if l.width <= 0 || l.height <= 0 || len(data) < stride*l.height {
		return nil, fmt.Errorf("capture: %d bytes of pixels for %dx%d at %d bpp", len(data), l.width, l.height, l.bpp)
	}
	var shift, width [3]int
	for i, m := range l.masks {
		if m == 0 {
			return nil, errors.New("capture: visual has an empty color mask (not TrueColor)")
		}
		shift[i] = bits.TrailingZeros32(m)
		width[i] = bits.OnesCount32(m)
	}
	img := image.NewRGBA(image.Rect(0, 0, l.width, l.height))
	bpp := l.bpp / 8
	for y := 0; y < l.height; y++ {
		src := data[y*stride:]
		dst := img.Pix[y*img.Stride:]
		for x := 0; x < l.width; x++ {
			var v uint32
			p := src[x*bpp : x*bpp+bpp]
			for i := range p {
				if l.msbFirst {
					v = v<<8 | uint32(p[i])
				} else {
					v |= uint32(p[i]) << (8 * i)
				}
			}
			for c := range 3 {
				dst[4*x+c] = scaleChannel((v&l.masks[c])>>shift[c], width[c])
			}
			dst[4*x+3] = 0xff
		}
	}
	return img, nil
}

// scaleChannel widens an n-bit channel value to 8 bits.
func scaleChannel(v uint32, n int) byte {
	switch {
	case n == 8:
		return byte(v)
	case n > 8:
		return byte(v >> (n - 8))
	}
	return byte(v * 255 / (1<<n - 1))
}
