//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64le))

package capture

import (
	"fmt"
	"runtime"
	"time"
)

// ReadV4L2 captures frames from a V4L2 video device; it is only
// implemented on 64-bit Linux and reports an error elsewhere.
func ReadV4L2(device string, timeout time.Duration, each func(gray []byte, w, h int) (stop bool)) error {
	return fmt.Errorf("v4l2: %s: V4L2 capture is not supported on %s/%s", device, runtime.GOOS, runtime.GOARCH)
}
