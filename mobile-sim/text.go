package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text that mobile-sim did not write itself (a QR code's text, anything the
// server sends: names, messages, states, sessions; error texts that quote
// them; file names) goes through printable before it reaches a terminal, or
// through printJSON for -json output, so that a code or a server cannot
// clear the screen, retitle the window, plant links or reorder what is
// shown.

// unsafeRune reports whether r must not reach a terminal as it is: the C0
// controls (tab and newline included: they would break the layout and
// could forge lines), DEL, the C1 controls (U+0080–U+009F, where 8-bit CSI
// and OSC live), the Unicode bidi controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), and the line and paragraph separators
// U+2028 and U+2029.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// printable returns s with every unsafe rune (see unsafeRune) and every
// byte that is not UTF-8 written visibly as an escape: ASCII controls and
// stray bytes as \xNN (ESC is \x1b), the others as \uNNNN (U+202E is
// \u202e). The rest, the readable part, is kept as it is.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// printJSON writes v to w as JSON (indented when indent is set) and a
// newline. The unsafe runes that encoding/json leaves as they are (DEL, C1
// and bidi controls; it escapes the C0 ones and U+2028, U+2029 itself) are
// written as \u escapes, so the output is safe on a terminal and decodes
// to the same values.
func printJSON(w io.Writer, v any, indent bool) error {
	var data []byte
	var err error
	if indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range string(data) { // json.Marshal writes valid UTF-8
		if r >= 0x7f && unsafeRune(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	b.WriteByte('\n')
	_, err = io.WriteString(w, b.String())
	return err
}
