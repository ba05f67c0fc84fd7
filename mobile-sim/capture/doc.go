// Package capture supplies frames to scan for QR codes: the whole X11
// screen (pure Go, no external tool), YUV4MPEG2 video streams (as written
// by ffmpeg -f yuv4mpegpipe) and cameras, which ffmpeg reads and turns
// into such a stream. Video frames are handed over as 8-bit luma planes,
// the input of decode.DecodeGray.
package capture

// Limits on frames, from clips and cameras alike, so that a corrupt header
// cannot ask for absurd allocations.
const (
	maxFrameSide   = 16384    // pixels on either side
	maxFramePixels = 64 << 20 // pixels of a frame (8192×8192)
	// maxFrameBytes bounds the buffers one frame takes: the frame as it
	// arrives and the 8-bit luma plane made from it, where that is a copy.
	// An 8K (7680×4320) frame of 16-bit 4:4:4 samples takes 190 MiB, and
	// its luma plane 32 MiB more.
	maxFrameBytes = 256 << 20
)
