package provider

import (
	"cmp"
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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/qrlogin/qrlogin/server/oauth"
)

// Signing keys. Tokens are signed with ES256 keys kept in the store
// (oauth.SigningKey), so that they stay verifiable across restarts and
// every node sharing the store signs with the same keys. The first start
// makes the first key. RotateKey adds the next, which every node loads
// within Config.KeyReload and publishes in its JWKS at once, but which
// signs only KeyActivation after it was made; the key before it retires
// then, and stays published until the tokens it signed have expired.

const (
	// DefaultKeyReload is Config.KeyReload's default.
	DefaultKeyReload = 30 * time.Second
	// MaxKeyReload is the longest Config.KeyReload may be.
	MaxKeyReload = time.Minute
	// KeyActivation is how long after RotateKey adds a key it starts
	// signing: longer than a node takes to load it (MaxKeyReload at most)
	// plus the time a client may cache the JWKS (its max-age, 5 minutes),
	// with a minute to spare for clocks that differ. So every node
	// publishes the key, and every client that honours the JWKS's max-age
	// has it, before the first token it signs.
	KeyActivation = 7 * time.Minute
	// DefaultAccessTTL is Config.AccessTTL's default: the life of an ID
	// token on a node that does not set it, as qrlogin-server's do not.
	DefaultAccessTTL = time.Hour
)

// keyKeep is how long a key stays published after it retires: the longest
// life of a token it may have signed, an ID token's (accessTTL) or a
// back-channel logout token's.
func keyKeep(accessTTL time.Duration) time.Duration { return max(accessTTL, logoutTTL) }

// signer signs tokens with the signing keys it loaded from the store.
// Signing never waits for a reload: refresh replaces the loaded keys at
// once, and an error keeps the ones loaded before.
type signer struct {
	st   oauth.Store
	now  func() time.Time
	keep time.Duration               // keyKeep of the node's AccessTTL
	mu   sync.Mutex                  // one refresh at a time
	keys atomic.Pointer[[]loadedKey] // by activeFrom, the earliest first; never empty
}

// loadedKey is a stored key, parsed.
type loadedKey struct {
	kid                   string
	key                   *ecdsa.PrivateKey
	activeFrom, retiredAt time.Time
}

// loadSigner checks cfg's key settings, filling in their defaults, and loads
// the signing keys, making the first one if the store has none. cfg's
// AccessTTL must be set.
func loadSigner(ctx context.Context, st oauth.Store, cfg *Config, now func() time.Time) (*signer, error) {
	if cfg.KeyReload == 0 {
		cfg.KeyReload = DefaultKeyReload
	}
	if cfg.KeyReload < 0 || cfg.KeyReload > MaxKeyReload {
		return nil, fmt.Errorf("oauth: the key reload interval must be positive and at most %v", MaxKeyReload)
	}
	stored, err := st.InitSigningKeys(ctx, func() (oauth.SigningKey, error) {
		// The first key signs at once: no node can have signed before it.
		return newKey(now(), 0)
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: signing keys: %w", err)
	}
	keys, err := parseKeys(stored)
	if len(keys) == 0 {
		return nil, err
	}
	g := &signer{st: st, now: now, keep: keyKeep(cfg.AccessTTL)}
	g.keys.Store(&keys)
	return g, nil
}

// newKey makes a key that signs from now+delay.
func newKey(now time.Time, delay time.Duration) (oauth.SigningKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return oauth.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return oauth.SigningKey{}, err
	}
	now = now.UTC()
	return oauth.SigningKey{
		PEM:       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		CreatedAt: now, ActiveFrom: now.Add(delay),
	}, nil
}

// parseKey returns the private key in p and its key ID: the first 12 bytes
// of the SHA-256 of its public key (PKIX, DER), base64url.
func parseKey(p []byte) (*ecdsa.PrivateKey, string, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, "", errors.New("oauth: signing key: not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("oauth: signing key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, "", errors.New("oauth: signing key: not ECDSA P-256")
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("oauth: signing key: %w", err)
	}
	sum := sha256.Sum256(pub)
	return key, base64.RawURLEncoding.EncodeToString(sum[:12]), nil
}

// parseKeys parses the stored keys, in their order (by ActiveFrom): it
// returns those that parse, and an error naming each that does not (a key
// that does not parse does not take the others down), or saying that none
// is stored.
func parseKeys(stored []oauth.SigningKey) ([]loadedKey, error) {
	if len(stored) == 0 {
		return nil, errors.New("oauth: no signing key is stored")
	}
	keys := make([]loadedKey, 0, len(stored))
	var errs []error
	for i, s := range stored {
		key, kid, err := parseKey(s.PEM)
		if err != nil {
			errs = append(errs, fmt.Errorf("stored key %d of %d (created %s): %w", i+1, len(stored), s.CreatedAt.Format(time.RFC3339), err))
			continue
		}
		keys = append(keys, loadedKey{kid: kid, key: key, activeFrom: s.ActiveFrom, retiredAt: s.RetiredAt})
	}
	return keys, errors.Join(errs...)
}

// current is the key of keys that signs at now: the last to have become
// active, or the earliest if none has yet (clocks that differ from the one
// that made the first key).
func current(keys []loadedKey, now time.Time) loadedKey {
	cur := keys[0]
	for _, k := range keys[1:] {
		if !k.activeFrom.After(now) {
			cur = k
		}
	}
	return cur
}

// published reports whether k is in the JWKS at now: unless it retired
// more than keep before.
func (k loadedKey) published(now time.Time, keep time.Duration) bool {
	return k.retiredAt.IsZero() || !now.After(k.retiredAt.Add(keep))
}

// refresh reloads the keys from the store. When it cannot read them, or
// none parses, it keeps the keys it had; when some do not parse, it loads
// the others. Either way it returns the error.
func (g *signer) refresh(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	stored, err := g.st.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("oauth: signing keys: %w", err)
	}
	keys, err := parseKeys(stored)
	if len(keys) > 0 {
		g.keys.Store(&keys)
	}
	return err
}

// JWKS returns the public keys that verify the tokens that may still be
// valid, and the keys about to sign: the signing key first.
func (g *signer) JWKS() jose.JSONWebKeySet {
	now, keys := g.now(), *g.keys.Load()
	cur := current(keys, now)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicJWK(cur)}}
	for _, k := range keys {
		if k.kid != cur.kid && k.published(now, g.keep) {
			set.Keys = append(set.Keys, publicJWK(k))
		}
	}
	return set
}

// publicJWK is k's public key as a JWK.
func publicJWK(k loadedKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: string(jose.ES256), Use: "sig"}
}

// idClaims are an ID token's claims.
type idClaims struct {
	jwt.Claims
	Nonce             string `json:"nonce,omitempty"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	SessionID         string `json:"sid,omitempty"` // the grant: what a back-channel logout names
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
}

// sign returns the signed ID token, issued at now.
func (g *signer) sign(c idClaims, now time.Time) (string, error) {
	c.IssuedAt = jwt.NewNumericDate(now)
	return g.signJWT(c, "JWT", now)
}

// signJWT signs claims as a JWT whose header's typ is typ ("JWT" for an ID
// token, "logout+jwt" for a logout token), with the key that signs at now;
// the header's kid names it. The token must expire within the node's
// AccessTTL or a logout token's life: a retired key stays published only
// that long.
func (g *signer) signJWT(claims any, typ string, now time.Time) (string, error) {
	k := current(*g.keys.Load(), now)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("oauth: signer: %w", err)
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

// RefreshKeys reloads this node's signing keys from the store, so that it
// publishes a key that RotateKey added (on any node) and signs with it once
// it is active; and it deletes from the store the retired keys that no
// unexpired token needs. On an error the node keeps signing and publishing
// the keys it had (all but those that do not parse). Run it every
// Config.KeyReload (reloadKeys does).
func (p *Provider) RefreshKeys(ctx context.Context) error {
	if err := p.sig.refresh(ctx); err != nil {
		return err
	}
	now := p.now()
	if !slices.ContainsFunc(*p.sig.keys.Load(), func(k loadedKey) bool { return !k.published(now, p.sig.keep) }) {
		return nil
	}
	n, err := p.st.DropSigningKeys(ctx, now.Add(-p.sig.keep))
	if err != nil {
		return fmt.Errorf("oauth: dropping retired signing keys: %w", err)
	}
	if n > 0 {
		p.log.Info("dropped retired signing keys", "count", n)
	}
	return nil
}

// reloadKeys runs RefreshKeys every Config.KeyReload until ctx ends,
// logging its failures: as errors once they have lasted long enough that a
// rotated key may sign on other nodes while this one does not publish it
// (KeyActivation less MaxKeyReload), so that the operator sees the ID
// tokens of the other nodes about to fail here.
func (p *Provider) reloadKeys(ctx context.Context) {
	t := time.NewTicker(p.cfg.KeyReload)
	defer t.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := p.RefreshKeys(ctx)
		switch {
		case err == nil || ctx.Err() != nil:
			failingSince = time.Time{}
		case failingSince.IsZero():
			failingSince = time.Now()
			fallthrough
		case time.Since(failingSince) < KeyActivation-MaxKeyReload:
			p.log.Warn("cannot reload the signing keys; keeping those loaded", "err", err)
		default:
			p.log.Error("signing keys not reloaded for a long time: a rotated key may be signing on other nodes while this node does not publish it", "since", failingSince, "err", err)
		}
	}
}

// KeyInfo describes a stored signing key, for operators.
type KeyInfo struct {
	KID        string
	CreatedAt  time.Time
	ActiveFrom time.Time // when it starts signing
	RetiredAt  time.Time // when it stops signing; zero for the newest key
	// DropAfter is when it leaves the JWKS, and then the store: RetiredAt
	// plus the longest life of a token it signed. Zero for the newest key.
	DropAfter time.Time
}

// RotateKey adds a new signing key to st, made at now. It signs from
// now+KeyActivation, on every node, and the key signing until then retires
// at that time. A store without keys is an error: the first start of a
// node makes the first key.
func RotateKey(ctx context.Context, st oauth.Store, now time.Time) (KeyInfo, error) {
	if stored, err := st.SigningKeys(ctx); err != nil || len(stored) == 0 {
		return KeyInfo{}, cmp.Or(err, errors.New("oauth: no signing key yet: the server makes the first when it first starts"))
	}
	k, err := newKey(now, KeyActivation)
	if err != nil {
		return KeyInfo{}, err
	}
	_, kid, err := parseKey(k.PEM)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := st.AddSigningKey(ctx, k); err != nil {
		return KeyInfo{}, fmt.Errorf("oauth: adding a signing key: %w", err)
	}
	return KeyInfo{KID: kid, CreatedAt: k.CreatedAt, ActiveFrom: k.ActiveFrom}, nil
}

// Keys describes st's signing keys, by ActiveFrom, the earliest first, as
// nodes whose ID tokens live accessTTL treat them.
func Keys(ctx context.Context, st oauth.Store, accessTTL time.Duration) ([]KeyInfo, error) {
	stored, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(stored))
	for i, s := range stored {
		_, kid, err := parseKey(s.PEM)
		if err != nil {
			return nil, err
		}
		out[i] = KeyInfo{KID: kid, CreatedAt: s.CreatedAt, ActiveFrom: s.ActiveFrom, RetiredAt: s.RetiredAt}
		if !s.RetiredAt.IsZero() {
			out[i].DropAfter = s.RetiredAt.Add(keyKeep(accessTTL))
		}
	}
	return out, nil
}
