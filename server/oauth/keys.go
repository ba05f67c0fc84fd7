package oauth

import "time"

// SigningKey is a key the provider signs its tokens with (ID tokens and
// back-channel logout tokens): an ECDSA P-256 private key, PKCS#8 in PEM.
// Its key ID (the JWS kid) is derived from its public key and not stored.
//
// Keys rotate. A new key is stored some minutes before it signs, so that
// every node sharing the store publishes it first: it signs from ActiveFrom.
// The key it replaces retires then: its RetiredAt is the new key's
// ActiveFrom, and it stays zero on the newest key. A retired key is still
// published until the last token it signed has expired, then dropped.
type SigningKey struct {
	PEM        []byte
	CreatedAt  time.Time
	ActiveFrom time.Time
	RetiredAt  time.Time
}
