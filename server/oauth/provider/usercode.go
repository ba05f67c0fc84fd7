package provider

import (
	"crypto/rand"

	"github.com/qrlogin/qrlogin/server/api"
)

// newUserCode draws a user code, canonical (api.NormalizeUserCode): each
// of its api.UserCodeLen letters uniform over api.UserCodeAlphabet, from
// crypto/rand. Random bytes of 240 and above are thrown away, so that the
// 240 kept (12 times the alphabet's 20 letters) map to every letter equally
// often: there is no modulo bias.
func newUserCode() string {
	const n = len(api.UserCodeAlphabet)
	const keep = 256 / n * n // 240
	code := make([]byte, 0, api.UserCodeLen)
	var buf [2 * api.UserCodeLen]byte // enough, almost always, in one read
	for len(code) < api.UserCodeLen {
		rand.Read(buf[:]) // never fails (crypto/rand)
		for _, b := range buf {
			if int(b) < keep && len(code) < api.UserCodeLen {
				code = append(code, api.UserCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(code)
}
