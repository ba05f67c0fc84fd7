//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64le)

package capture

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadV4L2 captures frames from a V4L2 video device such as /dev/video0
// and calls each with the luma plane of every frame (w×h bytes, row after
// row) until each returns true. The gray slice is only valid during the
// call (it is reused); copy it to keep it.
//
// It asks the driver for YUYV at the device's current size and accepts
// what the driver offers among YUYV, UYVY, GREY, YU12, NV12 and MJPEG,
// using memory-mapped streaming or, for devices without it, read().
// timeout bounds the wait for each frame (a stalled camera is an error);
// zero or less means 2 seconds. Errors name the device and say what is
// wrong, e.g. "no such device" or "not a V4L2 capture device".
func ReadV4L2(device string, timeout time.Duration, each func(gray []byte, w, h int) (stop bool)) error {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	fd, err := unix.Open(device, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
			return fmt.Errorf("v4l2: %s: no such device", device)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return fmt.Errorf("v4l2: %s: permission denied (is the user in the video group?)", device)
		case errors.Is(err, unix.EBUSY):
			return fmt.Errorf("v4l2: %s: device busy (in use by another program)", device)
		}
		return fmt.Errorf("v4l2: %s: %w", device, err)
	}
	defer unix.Close(fd)

	var cp v4l2Capability
	if err := ioctl(fd, vidiocQuerycap, unsafe.Pointer(&cp)); err != nil {
		return fmt.Errorf("v4l2: %s: not a V4L2 capture device (%v)", device, err)
	}
	caps := cp.Capabilities
	if caps&capDeviceCaps != 0 {
		caps = cp.DeviceCaps
	}
	if caps&capVideoCapture == 0 {
		return fmt.Errorf("v4l2: %s: not a V4L2 capture device (no single-planar video capture)", device)
	}
	pf, err := setFormat(fd)
	if err != nil {
		return fmt.Errorf("v4l2: %s: %w", device, err)
	}
	c := &v4l2Capture{fd: fd, device: device, pix: pf, timeout: timeout,
		gray: make([]byte, int(pf.Width)*int(pf.Height))}
	switch {
	case caps&capStreaming != 0:
		return c.stream(each)
	case caps&capReadWrite != 0:
		return c.read(each)
	}
	return fmt.Errorf("v4l2: %s: device supports neither streaming nor read()", device)
}

// setFormat requests YUYV at the current frame size, then checks that the
// format the driver settled on is one frameLuma handles.
func setFormat(fd int) (v4l2PixFormat, error) {
	f := v4l2Format{Type: bufTypeVideoCapture}
	if err := ioctl(fd, vidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return v4l2PixFormat{}, fmt.Errorf("cannot get the capture format: %w", err)
	}
	p := f.pix()
	p.PixelFormat, p.Field = fmtYUYV, fieldAny
	// A driver may refuse the change (EBUSY when streaming elsewhere);
	// then the current format is read back and used if it is usable.
	_ = ioctl(fd, vidiocSFmt, unsafe.Pointer(&f))
	if err := ioctl(fd, vidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return v4l2PixFormat{}, fmt.Errorf("cannot get the capture format: %w", err)
	}
	p = f.pix()
	switch p.PixelFormat {
	case fmtYUYV, fmtUYVY, fmtGREY, fmtYU12, fmtNV12, fmtMJPG, fmtJPEG:
	default:
		return v4l2PixFormat{}, fmt.Errorf("unsupported pixel format %s (want YUYV, UYVY, GREY, YU12, NV12 or MJPEG)", fourccString(p.PixelFormat))
	}
	if p.Width == 0 || p.Height == 0 || p.Width > maxFrameSide || p.Height > maxFrameSide ||
		int(p.Width)*int(p.Height) > maxFramePixels {
		return v4l2PixFormat{}, fmt.Errorf("unusable frame size %dx%d", p.Width, p.Height)
	}
	return *p, nil
}

// v4l2Capture is an open device with its negotiated format.
type v4l2Capture struct {
	fd      int
	device  string
	pix     v4l2PixFormat
	timeout time.Duration
	gray    []byte
}

// wait blocks until a frame can be taken or the timeout passes.
func (c *v4l2Capture) wait() error {
	deadline := time.Now().Add(c.timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return fmt.Errorf("v4l2: %s: no frame within %v", c.device, c.timeout)
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("v4l2: %s: poll: %w", c.device, err)
		}
		if n > 0 {
			if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				return fmt.Errorf("v4l2: %s: device error or disconnected", c.device)
			}
			return nil
		}
	}
}

// deliver converts a captured frame and hands it to each.
func (c *v4l2Capture) deliver(frame []byte, each func([]byte, int, int) bool) (bool, error) {
	w, h := int(c.pix.Width), int(c.pix.Height)
	if err := frameLuma(c.gray, frame, c.pix.PixelFormat, w, h, int(c.pix.BytesPerLine)); err != nil {
		return false, fmt.Errorf("v4l2: %s: %w", c.device, err)
	}
	return each(c.gray, w, h), nil
}

// stream captures with memory-mapped buffers.
func (c *v4l2Capture) stream(each func([]byte, int, int) bool) (err error) {
	req := v4l2RequestBuffers{Count: mmapBuffers, Type: bufTypeVideoCapture, Memory: memoryMmap}
	if err := ioctl(c.fd, vidiocReqbufs, unsafe.Pointer(&req)); err != nil {
		return fmt.Errorf("v4l2: %s: cannot allocate capture buffers: %w", c.device, err)
	}
	if req.Count == 0 {
		return fmt.Errorf("v4l2: %s: driver gave no capture buffers", c.device)
	}
	bufs := make([][]byte, req.Count)
	defer func() {
		for _, b := range bufs {
			if b != nil {
				_ = unix.Munmap(b)
			}
		}
		free := v4l2RequestBuffers{Type: bufTypeVideoCapture, Memory: memoryMmap}
		_ = ioctl(c.fd, vidiocReqbufs, unsafe.Pointer(&free))
	}()
	for i := range bufs {
		b := v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMmap}
		if err := ioctl(c.fd, vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("v4l2: %s: query buffer %d: %w", c.device, i, err)
		}
		m, err := unix.Mmap(c.fd, int64(uint32(b.Offset)), int(b.Length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("v4l2: %s: mmap buffer %d: %w", c.device, i, err)
		}
		bufs[i] = m
		if err := ioctl(c.fd, vidiocQbuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("v4l2: %s: queue buffer %d: %w", c.device, i, err)
		}
	}
	typ := int32(bufTypeVideoCapture)
	if err := ioctl(c.fd, vidiocStreamon, unsafe.Pointer(&typ)); err != nil {
		return fmt.Errorf("v4l2: %s: start streaming: %w", c.device, err)
	}
	defer func() { _ = ioctl(c.fd, vidiocStreamoff, unsafe.Pointer(&typ)) }()
	for {
		if err := c.wait(); err != nil {
			return err
		}
		b := v4l2Buffer{Type: bufTypeVideoCapture, Memory: memoryMmap}
		if err := ioctl(c.fd, vidiocDqbuf, unsafe.Pointer(&b)); err != nil {
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			return fmt.Errorf("v4l2: %s: dequeue frame: %w", c.device, err)
		}
		if int(b.Index) >= len(bufs) {
			return fmt.Errorf("v4l2: %s: driver returned unknown buffer %d", c.device, b.Index)
		}
		frame := bufs[b.Index][:min(int(b.BytesUsed), len(bufs[b.Index]))]
		stop, err := c.deliver(frame, each)
		if qerr := ioctl(c.fd, vidiocQbuf, unsafe.Pointer(&b)); qerr != nil && err == nil && !stop {
			err = fmt.Errorf("v4l2: %s: requeue buffer: %w", c.device, qerr)
		}
		if err != nil || stop {
			return err
		}
	}
}

// read captures with read(), for devices without streaming I/O.
func (c *v4l2Capture) read(each func([]byte, int, int) bool) error {
	size := int(c.pix.SizeImage)
	if size <= 0 {
		size = int(c.pix.BytesPerLine) * int(c.pix.Height)
	}
	if size <= 0 {
		return fmt.Errorf("v4l2: %s: driver reports no frame size", c.device)
	}
	if size+len(c.gray) > maxFrameBytes {
		return fmt.Errorf("v4l2: %s: frames of %d MiB and their %d MiB luma plane pass the %d MiB limit",
			c.device, size>>20, len(c.gray)>>20, maxFrameBytes>>20)
	}
	buf := make([]byte, size)
	for {
		if err := c.wait(); err != nil {
			return err
		}
		n, err := unix.Read(c.fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("v4l2: %s: read: %w", c.device, os.NewSyscallError("read", err))
		}
		stop, err := c.deliver(buf[:n], each)
		if err != nil || stop {
			return err
		}
	}
}
