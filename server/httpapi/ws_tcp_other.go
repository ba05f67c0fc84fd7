//go:build !linux

package httpapi

import (
	"errors"
	"net"
	"time"
)

// setUserTimeout returns errors.ErrUnsupported: only Linux has
// TCP_USER_TIMEOUT as this package uses it.
func setUserTimeout(net.Conn, time.Duration) error { return errors.ErrUnsupported }
