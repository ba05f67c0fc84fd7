package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
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

// DevicePayload returns the verification_uri_complete of a device grant:
// <base>/device?user_code=CODE, the code as given (people see it as
// FormatUserCode writes it), escaped.
func DevicePayload(base, userCode string) string {
	return strings.TrimRight(base, "/") + PathDevice + "?user_code=" + url.QueryEscape(userCode)
}

// ParseDevicePayload splits a device grant's verification_uri_complete
// <base>/device?user_code=CODE into the server's base URL and the code,
// canonical (NormalizeUserCode). Any other text, a code that cannot be one
// included, gets an error wrapping ErrNotPayload.
func ParseDevicePayload(s string) (base, userCode string, err error) {
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, PathDevice) {
		return "", "", fmt.Errorf("%w: %s", ErrNotPayload, describe(s))
	}
	code, ok := NormalizeUserCode(u.Query().Get("user_code"))
	if !ok {
		return "", "", fmt.Errorf("%w: a link to %s", ErrNotPayload, u.Redacted())
	}
	b := *u
	b.Path, b.RawPath, b.RawQuery, b.Fragment = strings.TrimSuffix(u.Path, PathDevice), "", "", ""
	return b.String(), code, nil
}

// Scanned is a QR payload of either kind, as ParseAnyPayload reads it:
// exactly one of Ref and UserCode is set.
type Scanned struct {
	// Base is the base URL of the server that the payload names.
	Base string
	// Ref is the ticket's ref of a payload <base>/q/<ref>.
	Ref string
	// UserCode is the canonical user code (NormalizeUserCode) of a device
	// grant's payload <base>/device?user_code=CODE.
	UserCode string
}

// Device reports whether the payload is a device grant's.
func (p Scanned) Device() bool { return p.UserCode != "" }

// ParseAnyPayload reads a scanned text as either kind of qrlogin payload: a
// ticket's <base>/q/<ref> (ParsePayload) or a device grant's
// verification_uri_complete (ParseDevicePayload). Any other text gets
// ParsePayload's error, which wraps ErrNotPayload and says what the text is.
func ParseAnyPayload(s string) (Scanned, error) {
	base, ref, err := ParsePayload(s)
	if err == nil {
		return Scanned{Base: base, Ref: ref}, nil
	}
	if base, code, derr := ParseDevicePayload(s); derr == nil {
		return Scanned{Base: base, UserCode: code}, nil
	}
	return Scanned{}, err
}

// User codes (RFC 8628 section 6.1) are typed by people, so they are short
// and case-insensitive and avoid look-alikes: UserCodeLen letters of
// UserCodeAlphabet, 20 consonants (no vowels, so no words; no digits, so no
// 0/O or 1/I), shown as two groups of four: WDJB-MJHT. That is 20^8 ≈
// 2^34.5 codes; the guessing budgets make up for the short length
// (docs/security.md, "Device grant").
const (
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	UserCodeLen      = 8
)

// maxUserCodeInput bounds the text NormalizeUserCode reads: a code with
// generous separators, never a page of text.
const maxUserCodeInput = 64

// NormalizeUserCode returns the canonical form of a user code as a person
// may type it: the UserCodeLen letters of UserCodeAlphabet in upper case,
// without separators. Letters may come in any case; dashes (any Unicode
// dash) and white space anywhere are ignored, so "wdjb-mjht", "WDJB MJHT"
// and "WDJBMJHT" are all "WDJBMJHT". ok is false for anything else: a
// letter outside the alphabet, a digit, too few or too many letters.
func NormalizeUserCode(s string) (code string, ok bool) {
	if len(s) > maxUserCodeInput {
		return "", false
	}
	b := make([]byte, 0, UserCodeLen)
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || !strings.ContainsRune(UserCodeAlphabet, r) || len(b) == UserCodeLen {
			return "", false
		}
		b = append(b, byte(r))
	}
	if len(b) != UserCodeLen {
		return "", false
	}
	return string(b), true
}

// FormatUserCode writes a canonical user code as people see it, in two
// groups of four: "WDJBMJHT" is "WDJB-MJHT". Text that is not a canonical
// code is returned as it is.
func FormatUserCode(code string) string {
	if c, ok := NormalizeUserCode(code); !ok || c != code {
		return code
	}
	return code[:UserCodeLen/2] + "-" + code[UserCodeLen/2:]
}
