package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"qrlogin/server/oauth"
)

// signer signs ID tokens with the server's ES256 key, which is made once
// and kept in the store, so tokens stay verifiable across restarts.
type signer struct {
	key *ecdsa.PrivateKey
	kid string
	s   jose.Signer
}

func loadSigner(ctx context.Context, st oauth.Store) (*signer, error) {
	p, err := st.SigningKey(ctx, func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: signing key: %w", err)
	}
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("oauth: signing key: not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("oauth: signing key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("oauth: signing key: not ECDSA")
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("oauth: signer: %w", err)
	}
	return &signer{key: key, kid: kid, s: s}, nil
}

// JWKS returns the public key set.
func (g *signer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &g.key.PublicKey, KeyID: g.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// idClaims are an ID token's claims.
type idClaims struct {
	jwt.Claims
	Nonce             string `json:"nonce,omitempty"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
}

// sign returns the signed ID token.
func (g *signer) sign(c idClaims, now time.Time) (string, error) {
	c.IssuedAt = jwt.NewNumericDate(now)
	return jwt.Signed(g.s).Claims(c).Serialize()
}
