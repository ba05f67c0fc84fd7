//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64le)

package capture

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI of the V4L2 calls used here (linux/videodev2.h, 64-bit
// little-endian, to which the build constraint limits this file).
const (
	bufTypeVideoCapture = 1
	memoryMmap          = 1
	fieldAny            = 0

	capVideoCapture = 0x00000001
	capReadWrite    = 0x01000000
	capStreaming    = 0x04000000
	capDeviceCaps   = 0x80000000

	vidiocQuerycap  = 0x80685600 // _IOR('V', 0, struct v4l2_capability)
	vidiocGFmt      = 0xc0d05604 // _IOWR('V', 4, struct v4l2_format)
	vidiocSFmt      = 0xc0d05605 // _IOWR('V', 5, struct v4l2_format)
	vidiocReqbufs   = 0xc0145608 // _IOWR('V', 8, struct v4l2_requestbuffers)
	vidiocQuerybuf  = 0xc0585609 // _IOWR('V', 9, struct v4l2_buffer)
	vidiocQbuf      = 0xc058560f // _IOWR('V', 15, struct v4l2_buffer)
	vidiocDqbuf     = 0xc0585611 // _IOWR('V', 17, struct v4l2_buffer)
	vidiocStreamon  = 0x40045612 // _IOW('V', 18, int)
	vidiocStreamoff = 0x40045613 // _IOW('V', 19, int)

	mmapBuffers = 4
)

type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// v4l2PixFormat is the v4l2_pix_format member of v4l2_format's union.
type v4l2PixFormat struct {
	Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
	Colorspace, Priv, Flags, YcbcrEnc, Quantization, XferFunc  uint32
}

type v4l2Format struct {
	Type uint32
	Fmt  [25]uint64 // the 200-byte union, 8-byte aligned as in C
}

func (f *v4l2Format) pix() *v4l2PixFormat { return (*v4l2PixFormat)(unsafe.Pointer(&f.Fmt)) }

type v4l2RequestBuffers struct {
	Count, Type, Memory, Capabilities uint32
	Flags                             uint8
	Reserved                          [3]uint8
}

type v4l2Buffer struct {
	Index, Type, BytesUsed, Flags, Field uint32
	_                                    uint32
	Timestamp                            unix.Timeval
	Timecode                             [16]byte
	Sequence, Memory                     uint32
	Offset                               uint64 // union m; the u32 offset is its low half (little-endian)
	Length, Reserved2, RequestFD         uint32
	_                                    uint32
}

// Compile-time checks of the structure sizes the ioctl numbers encode.
var (
	_ [104 - unsafe.Sizeof(v4l2Capability{})]byte
	_ [unsafe.Sizeof(v4l2Capability{}) - 104]byte
	_ [208 - unsafe.Sizeof(v4l2Format{})]byte
	_ [unsafe.Sizeof(v4l2Format{}) - 208]byte
	_ [20 - unsafe.Sizeof(v4l2RequestBuffers{})]byte
	_ [unsafe.Sizeof(v4l2RequestBuffers{}) - 20]byte
	_ [88 - unsafe.Sizeof(v4l2Buffer{})]byte
	_ [unsafe.Sizeof(v4l2Buffer{}) - 88]byte
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}
