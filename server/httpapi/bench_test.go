package httpapi_test

import (
	"testing"

	"github.com/qrlogin/qrlogin/server/node"
)

// BenchmarkLoginHTTP runs one whole login (create, scan, confirm, redeem)
// over real HTTP on loopback against a real SQLite file.
func BenchmarkLoginHTTP(b *testing.B) {
	h := start(b, func(c *node.Config) { c.NoRateLimits = true })
	p := h.NewPhone("Bench")
	for b.Loop() {
		h.SignIn(p, h.NewTicket())
	}
}
