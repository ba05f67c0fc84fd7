// Package dpop makes and checks DPoP proofs (RFC 9449): a short JWT that
// a client signs with its own key for each request, naming the request's
// method and URL and, once it holds a token bound to that key, the token's
// hash. A token bound to a key is worthless to whoever copies it without
// the key. JOSE is go-jose's; this package adds the rules of RFC 9449,
// section 4.3.
//
// Keys are ECDSA P-256 (ES256), which every platform's keyring and Web
// Crypto can hold.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Header is the request header that carries a proof; Scheme is the
// Authorization scheme of a token bound to a key ("Authorization: DPoP
// <token>").
const (
	Header = "DPoP"
	Scheme = "DPoP"
)

// typ is the proof's JOSE type (RFC 9449 section 4.2).
const typ = "dpop+jwt"

// claims are a proof's claims.
type claims struct {
	JTI string `json:"jti"`
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	IAT int64  `json:"iat"`
	ATH string `json:"ath,omitempty"`
}

// NewKey returns a new P-256 key for proofs.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), nil)
}

// Proof returns a proof for a request of method to rawURL (its query and
// fragment are left out), made at now and signed by key; accessToken, if
// not empty, is the token the request presents, whose hash the proof
// carries.
func Proof(key *ecdsa.PrivateKey, method, rawURL, accessToken string, now time.Time) (string, error) {
	htu, err := normalURL(rawURL)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(typ))
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	c := claims{JTI: newJTI(), HTM: method, HTU: htu, IAT: now.Unix()}
	if accessToken != "" {
		c.ATH = tokenHash(accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	return jws.CompactSerialize()
}

// Thumbprint returns the JWK SHA-256 thumbprint (RFC 7638) of pub,
// base64url without padding: what a bound token is bound to ("jkt").
func Thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// ErrInvalid is wrapped by every error of Checker.Check; ErrURL too when
// the proof is for another URL (htu).
var (
	ErrInvalid = errors.New("invalid DPoP proof")
	ErrURL     = errors.New("made for another URL")
)

// Checker checks proofs. A proof is accepted once: Checker remembers the
// key and jti of each proof it accepted for as long as the proof would be
// fresh, in memory, so a proof replayed to this process is refused (one
// replayed to another node of a cluster is not seen there). It is safe for
// concurrent use.
type Checker struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex // makes the look-up and the insert into seen one step
	seen   *expirable.LRU[string, struct{}]
}

// maxSeen bounds the proofs remembered; past it the oldest are forgotten
// first, which only matters to a client that makes more proofs than this
// within a window.
const maxSeen = 1 << 18

// NewChecker returns a Checker that takes a proof made at most window
// before or after now() (a clock that is off by more is refused).
func NewChecker(window time.Duration, now func() time.Time) *Checker {
	if now == nil {
		now = time.Now
	}
	return &Checker{window: window, now: now, seen: expirable.NewLRU[string, struct{}](maxSeen, nil, 2*window)}
}

// Check checks proof for a request of method to rawURL, presenting
// accessToken (empty for none), and returns the thumbprint of the key that
// signed it. It refuses, with an error that wraps ErrInvalid and says why:
// a proof that is not a compact JWS of type dpop+jwt signed with ES256 by
// the public key in its header; whose htm or htu (scheme, host and path)
// differ from the request's; whose iat is more than the window away from
// now; whose ath is not accessToken's hash (or is missing when there is a
// token); or that this Checker accepted before.
func (c *Checker) Check(proof, method, rawURL, accessToken string) (string, error) {
	if proof == "" {
		return "", fmt.Errorf("%w: the %s header is missing", ErrInvalid, Header)
	}
	jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", fmt.Errorf("%w: not a compact JWS signed with ES256", ErrInvalid)
	}
	h := jws.Signatures[0].Protected
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); t != typ {
		return "", fmt.Errorf("%w: typ is not %s", ErrInvalid, typ)
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.IsPublic() || !jwk.Valid() {
		return "", fmt.Errorf("%w: no public key in the header", ErrInvalid)
	}
	if _, ok := jwk.Key.(*ecdsa.PublicKey); !ok {
		return "", fmt.Errorf("%w: the key is not an EC key", ErrInvalid)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return "", fmt.Errorf("%w: the signature does not verify", ErrInvalid)
	}
	var cl claims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return "", fmt.Errorf("%w: the claims are not JSON", ErrInvalid)
	}
	htu, err := normalURL(rawURL)
	if err != nil {
		return "", err
	}
	now := c.now()
	switch iat := time.Unix(cl.IAT, 0); {
	case cl.JTI == "" || len(cl.JTI) > 128:
		return "", fmt.Errorf("%w: jti is missing or too long", ErrInvalid)
	case cl.HTM != method:
		return "", fmt.Errorf("%w: htm is %q, the request's method %q", ErrInvalid, cl.HTM, method)
	case !sameURL(cl.HTU, htu):
		return "", fmt.Errorf("%w: %w: htu is %q, the request's URL %q", ErrInvalid, ErrURL, cl.HTU, htu)
	case iat.Before(now.Add(-c.window)) || iat.After(now.Add(c.window)):
		return "", fmt.Errorf("%w: iat is %s away from the server's clock", ErrInvalid, now.Sub(iat).Round(time.Second))
	case accessToken != "" && cl.ATH != tokenHash(accessToken):
		return "", fmt.Errorf("%w: ath is not the hash of the token presented", ErrInvalid)
	}
	jkt, err := Thumbprint(jwk.Key)
	if err != nil {
		return "", err
	}
	key := jkt + " " + cl.JTI
	c.mu.Lock()
	replayed := c.seen.Contains(key)
	if !replayed {
		c.seen.Add(key, struct{}{})
	}
	c.mu.Unlock()
	if replayed {
		return "", fmt.Errorf("%w: this proof was used before", ErrInvalid)
	}
	return jkt, nil
}

// normalURL is rawURL as htu compares it: without query and fragment.
func normalURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("dpop: %q is not an absolute URL", rawURL)
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	return u.String(), nil
}

// sameURL compares two URLs as RFC 9449 section 4.3 asks: scheme and host
// case-insensitively (a default port and none are the same), the path as
// it is.
func sameURL(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && hostPort(ua) == hostPort(ub) && ua.EscapedPath() == ub.EscapedPath()
}

func hostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	return host + ":" + port
}

// tokenHash is ath: base64url(SHA-256(token)).
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newJTI returns a random proof id (128 bits).
func newJTI() string { return rand.Text() }
