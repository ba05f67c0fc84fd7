package service

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qrlogin/qrlogin/server"
)

// Field limits.
const (
	minPassword = 8
	maxPassword = 256
	maxName     = 64  // display names
	maxLabel    = 128 // device names, os, app, platform
	maxClientID = 128
)

// CanonicalUsername returns u as the store compares it (ASCII letters in
// lower case: the store folds case), and whether u has the form of a
// username at all. Limits keyed on a username use this form, so that ALICE
// and alice share one budget.
func CanonicalUsername(u string) (string, bool) {
	if !validUsername(u) {
		return "", false
	}
	return strings.ToLower(u), true
}

// validUsername reports whether u is 3 to 32 of [A-Za-z0-9_.-].
func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 32 {
		return false
	}
	for _, c := range u {
		if !(c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}

// cleanLabel trims s and checks it is at most max runes with no control
// characters. field names it in the error.
func cleanLabel(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", server.Errorf(server.CodeInvalid, "%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", server.Errorf(server.CodeInvalid, "%s is longer than %d characters", field, max)
	}
	for _, c := range s {
		if unicode.IsControl(c) || c == utf8.RuneError {
			return "", server.Errorf(server.CodeInvalid, "%s holds a control character", field)
		}
	}
	return s, nil
}

// Mask hides all of a display name but its first and last characters:
// "Alice" -> "A***e", "Bo" -> "B*", "X" -> "*".
func Mask(name string) string {
	r := []rune(name)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + "***" + string(r[len(r)-1])
}
