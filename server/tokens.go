package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Sizes of the random values the server chooses, in bytes. Refs are shorter
// (they go in the QR code, and are public); secrets and tokens are longer.
const (
	refBytes    = 16 // 128 bits
	secretBytes = 32 // 256 bits
)

// NewRef returns a new random ref or id: 128 bits from crypto/rand,
// base64url without padding.
func NewRef() string { return randomString(refBytes) }

// NewSecret returns a new random secret or token: 256 bits from crypto/rand,
// base64url without padding.
func NewSecret() string { return randomString(secretBytes) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand's contract since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a secret or token: what the store keeps.
func HashToken(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
