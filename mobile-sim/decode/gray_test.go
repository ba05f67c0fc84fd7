package decode

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestGrayPlane checks every fast path against the generic conversion
// (luma composited onto white), including sub-images, odd widths and
// transparency.
func TestGrayPlane(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	const w, h = 37, 23
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	gray := image.NewGray(image.Rect(0, 0, w, h))
	ycc := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Transparent, color.Black, color.RGBA{200, 30, 30, 255}, color.White})
	cmyk := image.NewCMYK(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if rng.IntN(3) == 0 {
				a = uint8(rng.IntN(256))
			}
			c := color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a}
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			gray.SetGray(x, y, color.Gray{uint8(rng.IntN(256))})
			pal.SetColorIndex(x, y, uint8(rng.IntN(4)))
			cmyk.SetCMYK(x, y, color.CMYK{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))})
		}
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	sub := image.Rect(3, 2, 30, 21)
	imgs := map[string]image.Image{
		"rgba": rgba, "nrgba": nrgba, "gray": gray, "ycbcr": ycc, "paletted": pal, "cmyk": cmyk,
		"rgba-sub":  rgba.SubImage(sub),
		"nrgba-sub": nrgba.SubImage(sub),
		"gray-sub":  gray.SubImage(sub),
		"ycbcr-sub": ycc.SubImage(sub),
		"pal-sub":   pal.SubImage(sub),
	}
	for name, img := range imgs {
		pix, pw, ph := grayPlane(img)
		b := img.Bounds()
		if pw != b.Dx() || ph != b.Dy() || len(pix) != pw*ph {
			t.Fatalf("%s: got %dx%d (%d bytes), want %v", name, pw, ph, len(pix), b)
		}
		for y := range ph {
			for x := range pw {
				want := int(lumaOf(img.At(b.Min.X+x, b.Min.Y+y)))
				if _, ok := img.(*image.YCbCr); ok {
					want = int(img.(*image.YCbCr).Y[img.(*image.YCbCr).YOffset(b.Min.X+x, b.Min.Y+y)])
				}
				if got := int(pix[y*pw+x]); got < want-2 || got > want+2 {
					t.Fatalf("%s (%d,%d): luma %d, want %d±2 for %v", name, x, y, got, want, img.At(b.Min.X+x, b.Min.Y+y))
				}
			}
		}
	}
	if pix, w, h := grayPlane(image.NewRGBA(image.Rect(5, 5, 5, 9))); pix != nil || w != 0 || h != 0 {
		t.Errorf("empty image: got %d bytes, %dx%d", len(pix), w, h)
	}
}

// TestTransparentBackground checks that a code drawn on a transparent
// background (dark modules, transparent light ones) decodes.
func TestTransparentBackground(t *testing.T) {
	bm := qrBitmap(t, "transparent", 0)
	img := image.NewNRGBA(image.Rect(0, 0, len(bm)*4, len(bm)*4))
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			if bm[y/4][x/4] {
				img.SetNRGBA(x, y, color.NRGBA{20, 20, 60, 255})
			}
		}
	}
	res, err := Decode(img)
	if err != nil || res[0].Text != "transparent" {
		t.Fatalf("got %v, %v", res, err)
	}
}

// TestGrayPlane16 pins the fast paths for 16-bit images (what image/png
// returns for 16-bit PNGs: screenshots from `import -window root`) to the
// generic conversion, byte for byte, on random pixels of every alpha,
// premultiplied colors brighter than their alpha included, on odd widths,
// sub-images and an image large enough to be converted in parallel.
func TestGrayPlane16(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 8))
	channel := func() uint16 { return uint16(rng.Uint32()) }
	alpha := func() uint16 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return channel()
		}
		return 0xffff
	}
	for _, r := range []image.Rectangle{image.Rect(0, 0, 37, 23), image.Rect(-5, 7, 608, 457)} {
		rgba64, nrgba64, gray16 := image.NewRGBA64(r), image.NewNRGBA64(r), image.NewGray16(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				rgba64.SetRGBA64(x, y, color.RGBA64{channel(), channel(), channel(), alpha()})
				nrgba64.SetNRGBA64(x, y, color.NRGBA64{channel(), channel(), channel(), alpha()})
				gray16.SetGray16(x, y, color.Gray16{channel()})
			}
		}
		sub := image.Rect(r.Min.X+3, r.Min.Y+2, r.Max.X-4, r.Max.Y-1)
		imgs := map[string]image.Image{
			"rgba64": rgba64, "nrgba64": nrgba64, "gray16": gray16,
			"rgba64-sub":  rgba64.SubImage(sub),
			"nrgba64-sub": nrgba64.SubImage(sub),
			"gray16-sub":  gray16.SubImage(sub),
		}
		for name, img := range imgs {
			pix, w, h := grayPlane(img)
			want := atGray(img)
			if b := img.Bounds(); w != b.Dx() || h != b.Dy() || len(pix) != len(want) {
				t.Fatalf("%s %v: got %dx%d (%d bytes), want %v", name, r, w, h, len(pix), b)
			}
			for i := range want {
				if pix[i] != want[i] {
					p := img.Bounds().Min.Add(image.Pt(i%w, i/w))
					t.Fatalf("%s %v at %v: luma %d, want %d for %v", name, r, p, pix[i], want[i], img.At(p.X, p.Y))
				}
			}
		}
	}
}
