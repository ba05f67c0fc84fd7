package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxY4MLine bounds a YUV4MPEG2 header line; see doc.go for the limits on
// frames.
const maxY4MLine = 4096

// ReadY4M parses a YUV4MPEG2 stream ("YUV4MPEG2 W.. H.. F.. I.. A.. C..",
// then "FRAME[ params]\n" and the planes of each frame) and calls each with
// the luma (Y) plane of every frame, w×h bytes row after row, until the
// stream ends or each returns true. The gray slice is only valid during
// the call (it is reused); copy it to keep it.
//
// Supported colorspaces (C parameter): 420jpeg (the default), 420,
// 420mpeg2, 420paldv, 411, 422, 444, 444alpha and mono, and their
// high-bit-depth forms such as 420p10 or mono16, whose samples are two
// bytes (little-endian) and are scaled down to 8 bits. Interlaced streams
// are passed on as they are (both fields in one plane).
//
// The end of the stream after a complete frame returns nil; a bad header,
// frames too large (over 16384 pixels a side, 64 Mi pixels, or 256 MiB for
// a frame and its luma plane), an unsupported colorspace, a malformed
// frame marker or a truncated frame returns an error that says which,
// before any frame's memory is allocated when it is the header's fault.
func ReadY4M(r io.Reader, each func(gray []byte, w, h int) (stop bool)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	line, err := readY4MLine(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("y4m: empty stream")
		}
		return fmt.Errorf("y4m: header: %w", err)
	}
	hdr, err := parseY4MHeader(line)
	if err != nil {
		return err
	}
	frameBytes := hdr.frameBytes()
	raw := make([]byte, frameBytes)
	var gray []byte
	if hdr.sampleBytes == 2 {
		gray = make([]byte, hdr.w*hdr.h)
	}
	for n := 0; ; n++ {
		line, err := readY4MLine(br)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("y4m: frame %d header: %w", n, err)
		}
		if line != "FRAME" && !strings.HasPrefix(line, "FRAME ") {
			return fmt.Errorf("y4m: frame %d: expected FRAME, got %.20q", n, line)
		}
		if _, err := io.ReadFull(br, raw); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("y4m: frame %d truncated (%d-byte frames): %w", n, frameBytes, err)
		}
		y := raw[:hdr.w*hdr.h]
		if hdr.sampleBytes == 2 {
			// Little-endian samples of depth bits: keep the top 8.
			for i := range gray {
				v := int(raw[2*i]) | int(raw[2*i+1])<<8
				gray[i] = byte(min(255, v>>(hdr.depth-8)))
			}
			y = gray
		}
		if each(y, hdr.w, hdr.h) {
			return nil
		}
	}
}

// y4mHeader is what ReadY4M needs from a stream header.
type y4mHeader struct {
	w, h        int
	colorspace  string // as given, e.g. "420p10"
	depth       int    // bits per sample
	sampleBytes int    // 1 or 2
	chroma      int    // samples in the planes after luma (chroma, alpha)
}

// frameBytes is the size of one frame's planes.
func (h y4mHeader) frameBytes() int {
	return (h.w*h.h + h.chroma) * h.sampleBytes
}

// memory is what ReadY4M allocates for the frames: one frame's planes, and
// for samples of two bytes the 8-bit luma plane made from them. With the
// frame at most maxFramePixels, it cannot overflow even a 32-bit int.
func (h y4mHeader) memory() int {
	n := h.frameBytes()
	if h.sampleBytes == 2 {
		n += h.w * h.h
	}
	return n
}

// parseY4MHeader parses the stream header line (without its newline).
func parseY4MHeader(line string) (y4mHeader, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		return y4mHeader{}, fmt.Errorf("y4m: not a YUV4MPEG2 stream (starts with %.12q)", line)
	}
	h := y4mHeader{colorspace: "420jpeg"}
	for _, f := range fields[1:] {
		val := f[1:]
		switch f[0] {
		case 'W', 'H':
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 || n > maxFrameSide {
				return y4mHeader{}, fmt.Errorf("y4m: bad frame size %q", f)
			}
			if f[0] == 'W' {
				h.w = n
			} else {
				h.h = n
			}
		case 'C':
			h.colorspace = val
		}
	}
	if h.w == 0 || h.h == 0 {
		return y4mHeader{}, errors.New("y4m: header lacks the W or H parameter")
	}
	if h.w*h.h > maxFramePixels {
		return y4mHeader{}, fmt.Errorf("y4m: frame size %dx%d too large", h.w, h.h)
	}
	base, depth := splitDepth(h.colorspace)
	if depth < 8 || depth > 16 {
		return y4mHeader{}, fmt.Errorf("y4m: unsupported sample depth in C%s", h.colorspace)
	}
	h.depth, h.sampleBytes = depth, 1
	if depth > 8 {
		h.sampleBytes = 2
	}
	// Chroma planes round odd sizes up.
	halfW, halfH, quarterW := (h.w+1)/2, (h.h+1)/2, (h.w+3)/4
	switch base {
	case "420", "420jpeg", "420mpeg2", "420paldv":
		h.chroma = 2 * halfW * halfH
	case "422":
		h.chroma = 2 * halfW * h.h
	case "411":
		h.chroma = 2 * quarterW * h.h
	case "444":
		h.chroma = 2 * h.w * h.h
	case "444alpha":
		h.chroma = 3 * h.w * h.h
	case "mono":
		h.chroma = 0
	default:
		return y4mHeader{}, fmt.Errorf("y4m: unsupported colorspace C%s", h.colorspace)
	}
	if n := h.memory(); n > maxFrameBytes {
		return y4mHeader{}, fmt.Errorf("y4m: frames of %dx%d C%s would take %d MiB each to read; the limit is %d MiB",
			h.w, h.h, h.colorspace, n>>20, maxFrameBytes>>20)
	}
	return h, nil
}

// splitDepth splits a colorspace such as "420p10" or "mono16" into its
// base name and bits per sample (8 when not given).
func splitDepth(cs string) (string, int) {
	if i := strings.LastIndexByte(cs, 'p'); i > 0 && i < len(cs)-1 {
		if d, err := strconv.Atoi(cs[i+1:]); err == nil {
			return cs[:i], d
		}
	}
	if strings.HasPrefix(cs, "mono") && len(cs) > 4 {
		if d, err := strconv.Atoi(cs[4:]); err == nil {
			return "mono", d
		}
	}
	return cs, 8
}

// readY4MLine reads one newline-terminated header line of at most
// maxY4MLine bytes. It returns io.EOF with an empty line at a clean end of
// stream and io.ErrUnexpectedEOF for a line cut short.
func readY4MLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxY4MLine {
			return "", fmt.Errorf("line longer than %d bytes", maxY4MLine)
		}
		switch {
		case err == nil:
			return string(bytes.TrimSuffix(buf, []byte{'\n'})), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) == 0:
			return "", io.EOF
		case errors.Is(err, io.EOF):
			return string(buf), io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}
