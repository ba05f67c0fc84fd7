package capture

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"strings"
	"testing"
)

// TestFrameLuma packs a known luma plane in each pixel format (with
// padded lines) and checks that frameLuma gets it back.
func TestFrameLuma(t *testing.T) {
	const w, h, pad = 10, 6, 4
	luma := make([]byte, w*h)
	for i := range luma {
		luma[i] = byte(i * 7)
	}
	packed := func(yFirst bool) ([]byte, int) {
		bpl := 2*w + pad
		f := make([]byte, bpl*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := y*bpl + 2*x
				if yFirst {
					f[o], f[o+1] = luma[y*w+x], 0x80
				} else {
					f[o], f[o+1] = 0x80, luma[y*w+x]
				}
			}
		}
		return f, bpl
	}
	planar := func(extra int) ([]byte, int) {
		bpl := w + pad
		f := make([]byte, bpl*h+extra)
		for y := 0; y < h; y++ {
			copy(f[y*bpl:], luma[y*w:(y+1)*w])
		}
		return f, bpl
	}
	yuyv, yuyvBPL := packed(true)
	uyvy, uyvyBPL := packed(false)
	grey, greyBPL := planar(0)
	nv12, nv12BPL := planar((w + pad) * h / 2)
	for name, c := range map[string]struct {
		frame  []byte
		format uint32
		bpl    int
	}{
		"YUYV":               {yuyv, fmtYUYV, yuyvBPL},
		"UYVY":               {uyvy, fmtUYVY, uyvyBPL},
		"GREY":               {grey, fmtGREY, greyBPL},
		"NV12":               {nv12, fmtNV12, nv12BPL},
		"YU12":               {nv12, fmtYU12, nv12BPL},
		"GREY packed, bpl 0": {luma, fmtGREY, 0},
	} {
		dst := make([]byte, w*h)
		if err := frameLuma(dst, c.frame, c.format, w, h, c.bpl); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(dst, luma) {
			t.Errorf("%s: luma mismatch", name)
		}
	}
	dst := make([]byte, w*h)
	if err := frameLuma(dst, yuyv[:len(yuyv)-pad-1], fmtYUYV, w, h, yuyvBPL); err == nil || !strings.Contains(err.Error(), "short YUYV frame") {
		t.Errorf("short frame: %v", err)
	}
	if err := frameLuma(dst, yuyv, fourcc("RGB3"), w, h, yuyvBPL); err == nil || !strings.Contains(err.Error(), "unsupported pixel format RGB3") {
		t.Errorf("unknown format: %v", err)
	}
}

// TestFrameLumaMJPEG decodes a JPEG frame and rejects a corrupt one.
func TestFrameLumaMJPEG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 32, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i % 2 * 255)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 32*16)
	if err := frameLuma(dst, buf.Bytes(), fmtMJPG, 32, 16, 0); err != nil {
		t.Fatal(err)
	}
	if err := frameLuma(dst, buf.Bytes(), fmtMJPG, 64, 16, 0); err == nil {
		t.Error("size mismatch: want an error")
	}
	if err := frameLuma(dst, buf.Bytes()[:40], fmtMJPG, 32, 16, 0); err == nil || !strings.Contains(err.Error(), "corrupt MJPG frame") {
		t.Errorf("corrupt frame: %v", err)
	}
}

// TestFrameLumaMJPEGHeaderSize checks that a JPEG frame whose header
// claims a size other than the negotiated one is refused before it is
// decoded: decoding would allocate for the claimed size.
func TestFrameLumaMJPEGHeaderSize(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 32, 16)), nil); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	sof := bytes.Index(frame, []byte{0xff, 0xc0}) // length, precision, height, width
	binary.BigEndian.PutUint16(frame[sof+5:], 16000)
	binary.BigEndian.PutUint16(frame[sof+7:], 16000)
	dst := make([]byte, 32*16)
	var err error
	n := allocated(func() { err = frameLuma(dst, frame, fmtMJPG, 32, 16, 0) })
	if want := "JPEG frame is 16000x16000, expected 32x16"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("refusing a %d-byte frame allocated %d bytes, want under 1 MiB", len(frame), n)
	}
}

// TestFourcc round-trips a pixel format code.
func TestFourcc(t *testing.T) {
	if got := fourccString(fourcc("YUYV")); got != "YUYV" {
		t.Errorf("got %q", got)
	}
	if got := fourccString(0); got != "????" {
		t.Errorf("got %q", got)
	}
}
