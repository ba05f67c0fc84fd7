package capture

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// fourcc builds a V4L2 pixel format code.
func fourcc(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// fourccString spells a pixel format code, e.g. "YUYV".
func fourccString(f uint32) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '?'
		}
	}
	return string(b)
}

// V4L2 pixel formats ReadV4L2 can take luma from, most preferred first.
var (
	fmtYUYV = fourcc("YUYV") // packed 4:2:2, Y at even bytes
	fmtUYVY = fourcc("UYVY") // packed 4:2:2, Y at odd bytes
	fmtGREY = fourcc("GREY") // 8-bit luma only
	fmtYU12 = fourcc("YU12") // planar 4:2:0, Y plane first
	fmtNV12 = fourcc("NV12") // Y plane, then interleaved CbCr
	fmtMJPG = fourcc("MJPG") // motion JPEG
	fmtJPEG = fourcc("JPEG")
)

// frameLuma extracts the w×h luma plane of one captured frame of the
// given pixel format and bytes per line into dst (len w*h), decoding JPEG
// formats. It fails for unknown formats and short or corrupt frames, and
// for a JPEG frame whose header gives another size than w×h before
// decoding it, so that a frame cannot make it allocate more than its size
// calls for.
func frameLuma(dst, frame []byte, format uint32, w, h, bytesPerLine int) error {
	switch format {
	case fmtMJPG, fmtJPEG:
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(frame))
		if err != nil {
			return fmt.Errorf("corrupt %s frame: %w", fourccString(format), err)
		}
		if cfg.Width != w || cfg.Height != h {
			return fmt.Errorf("JPEG frame is %dx%d, expected %dx%d", cfg.Width, cfg.Height, w, h)
		}
		img, err := jpeg.Decode(bytes.NewReader(frame))
		if err != nil {
			return fmt.Errorf("corrupt %s frame: %w", fourccString(format), err)
		}
		return imageLuma(dst, img, w, h)
	}
	step, offset := 1, 0
	switch format {
	case fmtYUYV:
		step = 2
	case fmtUYVY:
		step, offset = 2, 1
	case fmtGREY, fmtYU12, fmtNV12:
	default:
		return fmt.Errorf("unsupported pixel format %s", fourccString(format))
	}
	if bytesPerLine < w*step {
		bytesPerLine = w * step
	}
	if len(frame) < (h-1)*bytesPerLine+w*step {
		return fmt.Errorf("short %s frame: %d bytes for %dx%d", fourccString(format), len(frame), w, h)
	}
	for y := 0; y < h; y++ {
		row := frame[y*bytesPerLine+offset:]
		out := dst[y*w : (y+1)*w]
		if step == 1 {
			copy(out, row)
			continue
		}
		for x := range out {
			out[x] = row[2*x]
		}
	}
	return nil
}

// imageLuma copies the luma of a decoded JPEG frame of w×h pixels (as its
// header said) into dst.
func imageLuma(dst []byte, img image.Image, w, h int) error {
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			copy(dst[y*w:(y+1)*w], m.Y[y*m.YStride:])
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(dst[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
	default:
		return fmt.Errorf("unexpected JPEG color model %T", img)
	}
	return nil
}
