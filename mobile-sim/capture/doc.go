// Package capture supplies frames to scan for QR codes: the whole X11
// screen (pure Go, no external tool), YUV4MPEG2 video streams (as written
// by ffmpeg -f yuv4mpegpipe) and V4L2 cameras (/dev/videoN). Video frames
// are handed over as 8-bit luma planes, the input of decode.DecodeGray.
package capture
