package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
)

// qrGray renders text as a QR code, size×size pixels, as a gray plane.
func qrGray(t testing.TB, text string, size int) []byte {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	img := q.Image(size)
	pix := make([]byte, size*size)
	for y := range size {
		for x := range size {
			r, _, _, _ := img.At(x, y).RGBA()
			pix[y*size+x] = byte(r >> 8)
		}
	}
	return pix
}

// y4mClip builds a stream of frames whose luma planes are ys (w×h each),
// with the given colorspace; chroma is a flat 128 and, for high bit
// depths, every sample is two little-endian bytes scaled from 8 bits.
func y4mClip(w, h int, colorspace string, ys ...[]byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C%s XYSCSS=TEST\n", w, h, colorspace)
	hdr, err := parseY4MHeader(strings.TrimSpace(b.String()))
	if err != nil {
		panic(err)
	}
	for i, y := range ys {
		if i%2 == 1 {
			b.WriteString("FRAME Ixyz\n") // frame parameters are allowed
		} else {
			b.WriteString("FRAME\n")
		}
		write := func(v byte) {
			if hdr.sampleBytes == 2 {
				s := uint16(v) << (hdr.depth - 8)
				b.WriteByte(byte(s))
				b.WriteByte(byte(s >> 8))
			} else {
				b.WriteByte(v)
			}
		}
		for _, v := range y {
			write(v)
		}
		for i := 0; i < hdr.chroma; i++ {
			write(128)
		}
	}
	return b.Bytes()
}

// TestReadY4M writes clips in every supported colorspace and checks that
// each frame's luma comes back exactly and decodes.
func TestReadY4M(t *testing.T) {
	const w, h = 123, 123 // odd, to exercise the rounding of chroma planes
	qr := qrGray(t, "y4m frame", w)
	blank := bytes.Repeat([]byte{200}, w*h)
	for _, cs := range []string{"420jpeg", "420", "420mpeg2", "420paldv", "411", "422", "444", "444alpha", "mono", "420p10", "444p12", "mono16"} {
		t.Run(cs, func(t *testing.T) {
			clip := y4mClip(w, h, cs, qr, blank, qr)
			var frames [][]byte
			err := ReadY4M(bytes.NewReader(clip), func(gray []byte, fw, fh int) bool {
				if fw != w || fh != h || len(gray) != w*h {
					t.Fatalf("frame %dx%d with %d bytes", fw, fh, len(gray))
				}
				frames = append(frames, append([]byte(nil), gray...))
				return false
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != 3 || !bytes.Equal(frames[0], qr) || !bytes.Equal(frames[1], blank) || !bytes.Equal(frames[2], qr) {
				t.Fatalf("got %d frames, luma mismatch", len(frames))
			}
			res, err := decode.DecodeGray(frames[2], w, h)
			if err != nil || res[0].Text != "y4m frame" {
				t.Fatalf("decoded %v, %v", res, err)
			}
		})
	}
}

// TestReadY4MStop checks that returning true ends the stream early.
func TestReadY4MStop(t *testing.T) {
	clip := y4mClip(16, 8, "mono", make([]byte, 128), make([]byte, 128), make([]byte, 128))
	n := 0
	err := ReadY4M(bytes.NewReader(clip), func([]byte, int, int) bool { n++; return true })
	if err != nil || n != 1 {
		t.Fatalf("got %d frames, %v; want 1, nil", n, err)
	}
}

// TestReadY4MErrors checks the messages for malformed streams.
func TestReadY4MErrors(t *testing.T) {
	good := y4mClip(8, 4, "420jpeg", make([]byte, 32))
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "empty stream"},
		{"magic", "RIFF....WAVE\n", "not a YUV4MPEG2 stream"},
		{"no size", "YUV4MPEG2 F25:1\nFRAME\n", "lacks the W or H"},
		{"bad size", "YUV4MPEG2 W-3 H4\n", "bad frame size"},
		{"huge", "YUV4MPEG2 W16384 H16384\n", "too large"},
		{"colorspace", "YUV4MPEG2 W8 H4 C420weird\n", "unsupported colorspace C420weird"},
		{"depth", "YUV4MPEG2 W8 H4 C420p20\n", "unsupported sample depth"},
		{"marker", "YUV4MPEG2 W8 H4 Cmono\nFRAMX\n", "expected FRAME"},
		{"truncated", string(good[:len(good)-5]), "frame 0 truncated"},
		{"cut header", "YUV4MPEG2 W8 H4", "header"},
		{"long line", "YUV4MPEG2 X" + strings.Repeat("a", 5000) + "\n", "longer than"},
	}
	for _, c := range cases {
		err := ReadY4M(strings.NewReader(c.data), func([]byte, int, int) bool { return false })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := ReadY4M(bytes.NewReader(good), func([]byte, int, int) bool { return false }); err != nil {
		t.Errorf("good clip: %v", err)
	}
	wantErr := errors.New("boom")
	if err := ReadY4M(iotestErrReader{wantErr}, func([]byte, int, int) bool { return false }); !errors.Is(err, wantErr) {
		t.Errorf("reader error: got %v", err)
	}
}

// allocated returns the bytes that f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadY4MFrameMemory checks that frames whose buffers would pass the
// memory limit are refused from the header, before anything is allocated
// for them, and that an 8K clip of 16-bit 4:4:4 samples is not.
func TestReadY4MFrameMemory(t *testing.T) {
	clip := "YUV4MPEG2 W8192 H8192 C444alphap16\nFRAME\n"
	var err error
	n := allocated(func() {
		err = ReadY4M(strings.NewReader(clip), func([]byte, int, int) bool { return false })
	})
	const want = "y4m: frames of 8192x8192 C444alphap16 would take 576 MiB each to read; the limit is 256 MiB"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("refusing a %d-byte clip allocated %d bytes, want under 1 MiB", len(clip), n)
	}
	if _, err := parseY4MHeader("YUV4MPEG2 W7680 H4320 C444p16"); err != nil {
		t.Errorf("8K 16-bit 4:4:4: %v", err)
	}
}

// iotestErrReader fails every read with err.
type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestReadY4MTruncations cuts a stream at every length: the reader must
// never panic, and must report an error unless the cut falls between
// frames.
func TestReadY4MTruncations(t *testing.T) {
	clip := y4mClip(6, 5, "420p10", make([]byte, 30), make([]byte, 30))
	hdrLen := bytes.IndexByte(clip, '\n') + 1
	data := (6*5 + 2*3*3) * 2 // luma and two 3×3 chroma planes, 2 bytes each
	ends := map[int]bool{hdrLen: true, hdrLen + 6 + data: true, len(clip): true}
	for n := 0; n <= len(clip); n++ {
		frames := 0
		err := ReadY4M(bytes.NewReader(clip[:n]), func([]byte, int, int) bool { frames++; return false })
		boundary := ends[n]
		if boundary != (err == nil) {
			t.Fatalf("cut at %d (boundary %v): %d frames, err %v", n, boundary, frames, err)
		}
	}
}

// FuzzReadY4M feeds arbitrary bytes to the parser, which must not panic
// and must hand out planes of the announced size.
func FuzzReadY4M(f *testing.F) {
	f.Add(y4mClip(8, 4, "420jpeg", make([]byte, 32)))
	f.Add(y4mClip(3, 3, "444alpha", make([]byte, 9)))
	f.Add([]byte("YUV4MPEG2 W2 H2 Cmono16\nFRAME\n\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ReadY4M(bytes.NewReader(data), func(gray []byte, w, h int) bool {
			if len(gray) != w*h {
				t.Fatalf("%d bytes for %dx%d", len(gray), w, h)
			}
			return false
		})
	})
}

// TestReadY4MFFmpeg reads a clip that ffmpeg made from a PNG, if ffmpeg is
// installed.
func TestReadY4MFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not on PATH; skipping the ffmpeg-made clip")
	}
	dir := t.TempDir()
	q, _ := qrcode.New("made by ffmpeg", qrcode.Medium)
	var buf bytes.Buffer
	if err := png.Encode(&buf, q.Image(240)); err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "qr.png"), filepath.Join(dir, "out.y4m")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ffmpeg, "-loglevel", "error", "-y", "-loop", "1", "-i", in, "-t", "1",
		"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, decoded := 0, 0
	err = ReadY4M(f, func(gray []byte, w, h int) bool {
		frames++
		if res, err := decode.DecodeGray(gray, w, h); err == nil && res[0].Text == "made by ffmpeg" {
			decoded++
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if frames < 2 || decoded != frames {
		t.Fatalf("%d frames, %d decoded", frames, decoded)
	}
	t.Logf("%d frames from ffmpeg, all decoded", frames)
}
