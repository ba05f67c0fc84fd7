package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotPayload is wrapped by ParsePayload's errors: the text is not a
// qrlogin QR payload.
var ErrNotPayload = errors.New("not a qrlogin QR payload")

// ValidRef reports whether s has the form of a ref: 22 to 64 characters of
// the base64url alphabet (at least 128 bits).
func ValidRef(s string) bool {
	if len(s) < 22 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Payload returns the text a QR code carries for ref on a server whose public
// base URL is base: <base>/q/<ref>.
func Payload(base, ref string) string {
	return strings.TrimRight(base, "/") + PathQRPrefix + ref
}

// ParsePayload splits a QR payload <base>/q/<ref> into the server's base URL
// and the ref. Any other text gets an error wrapping ErrNotPayload that says
// what the text is.
func ParsePayload(s string) (base, ref string, err error) {
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("%w: %s", ErrNotPayload, describe(s))
	}
	i := strings.LastIndex(u.Path, PathQRPrefix)
	if i < 0 || u.RawQuery != "" || u.Fragment != "" || !ValidRef(u.Path[i+len(PathQRPrefix):]) {
		return "", "", fmt.Errorf("%w: a link to %s", ErrNotPayload, u.Redacted())
	}
	ref = u.Path[i+len(PathQRPrefix):]
	b := *u
	b.Path = u.Path[:i]
	b.RawPath = ""
	return b.String(), ref, nil
}

// describe says in a few words what a text that is not a payload holds.
func describe(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("text %q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("text %q", s)
}

// PathDevice is the device grant's verification URI; with ?user_code= it is
// what a device (a TV, a terminal) shows as a QR code.
const PathDevice = "/device"

// DevicePayload returns the verification_uri_complete of a device grant.
func DevicePayload(base, userCode string) string {
	return strings.TrimRight(base, "/") + PathDevice + "?user_code=" + url.QueryEscape(userCode)
}

// ParseDevicePayload splits a device grant's verification_uri_complete
// <base>/device?user_code=CODE into the server's base URL and the code. Any
// other text gets an error wrapping ErrNotPayload.
func ParseDevicePayload(s string) (base, userCode string, err error) {
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, PathDevice) {
		return "", "", fmt.Errorf("%w: %s", ErrNotPayload, describe(s))
	}
	code := u.Query().Get("user_code")
	if !ValidRef(code) {
		return "", "", fmt.Errorf("%w: a link to %s", ErrNotPayload, u.Redacted())
	}
	b := *u
	b.Path, b.RawPath, b.RawQuery, b.Fragment = strings.TrimSuffix(u.Path, PathDevice), "", "", ""
	return b.String(), code, nil
}
