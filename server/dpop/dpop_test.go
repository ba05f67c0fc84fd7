package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func proof(t *testing.T, k *ecdsa.PrivateKey, method, u, token string, at time.Time) string {
	t.Helper()
	p, err := Proof(k, method, u, token, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A proof made for the request is accepted once, and names its key.
func TestCheckAccepts(t *testing.T) {
	k := newKey(t)
	c := NewChecker(time.Minute, func() time.Time { return t0 })
	p := proof(t, k, "GET", "https://login.example/api/v1/me?x=1", "tok", t0.Add(-30*time.Second))
	jkt, err := c.Check(p, "GET", "HTTPS://Login.Example:443/api/v1/me", "tok")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Thumbprint(&k.PublicKey)
	if jkt != want || len(jkt) != 43 {
		t.Errorf("jkt %q, want the key's thumbprint %q", jkt, want)
	}
	if _, err := c.Check(p, "GET", "https://login.example/api/v1/me", "tok"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "used before") {
		t.Errorf("the same proof again: %v, want refused as a replay", err)
	}
}

// Each rule of RFC 9449 section 4.3 refuses a proof that breaks it.
func TestCheckRefuses(t *testing.T) {
	k, other := newKey(t), newKey(t)
	const u = "https://login.example/api/v1/me"
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, (&jose.SignerOptions{}).WithType(typ))
	hsJWS, _ := hs.Sign([]byte(`{"jti":"a","htm":"GET","htu":"` + u + `","iat":1893499200}`))
	hsProof, _ := hsJWS.CompactSerialize()
	noTyp, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, &jose.SignerOptions{EmbedJWK: true})
	noTypJWS, _ := noTyp.Sign([]byte(`{"jti":"a","htm":"GET","htu":"` + u + `","iat":1893499200}`))
	noTypProof, _ := noTypJWS.CompactSerialize()
	good := proof(t, k, "GET", u, "tok", t0)
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"b","htm":"GET","htu":"`+u+`","iat":1893499200,"ath":"x"}`)) + "." + parts[2]
	// A proof signed by one key with another's public key in its header.
	swapped := func() string {
		p := proof(t, other, "GET", u, "tok", t0)
		h := strings.Split(proof(t, k, "GET", u, "tok", t0), ".")[0]
		ps := strings.Split(p, ".")
		return h + "." + ps[1] + "." + ps[2]
	}()

	for _, tc := range []struct {
		name, proof, method, url, token, says string
	}{
		{"missing", "", "GET", u, "tok", "missing"},
		{"garbage", "not.a.jws", "GET", u, "tok", "not a compact JWS"},
		{"HS256", hsProof, "GET", u, "tok", "not a compact JWS"},
		{"no typ", noTypProof, "GET", u, "tok", "typ"},
		{"forged payload", forged, "GET", u, "tok", "signature"},
		{"key swapped", swapped, "GET", u, "tok", "signature"},
		{"other method", proof(t, k, "POST", u, "tok", t0), "GET", u, "tok", "htm"},
		{"other path", proof(t, k, "GET", "https://login.example/api/v1/logout", "tok", t0), "GET", u, "tok", "htu"},
		{"other host", proof(t, k, "GET", "https://evil.example/api/v1/me", "tok", t0), "GET", u, "tok", "htu"},
		{"http for https", proof(t, k, "GET", "http://login.example/api/v1/me", "tok", t0), "GET", u, "tok", "htu"},
		{"old", proof(t, k, "GET", u, "tok", t0.Add(-61*time.Second)), "GET", u, "tok", "iat"},
		{"future", proof(t, k, "GET", u, "tok", t0.Add(61*time.Second)), "GET", u, "tok", "iat"},
		{"other token", proof(t, k, "GET", u, "tok", t0), "GET", u, "stolen", "ath"},
		{"no ath", proof(t, k, "GET", u, "", t0), "GET", u, "tok", "ath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker(time.Minute, func() time.Time { return t0 })
			_, err := c.Check(tc.proof, tc.method, tc.url, tc.token)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Check: %v, want ErrInvalid saying %q", err, tc.says)
			}
		})
	}
}

// A proof without a token (the request that gets one) has no ath to check.
func TestCheckWithoutToken(t *testing.T) {
	k := newKey(t)
	c := NewChecker(time.Minute, func() time.Time { return t0 })
	if _, err := c.Check(proof(t, k, "POST", "http://127.0.0.1:8080/api/v1/tickets/r/redeem", "", t0), "POST", "http://127.0.0.1:8080/api/v1/tickets/r/redeem", ""); err != nil {
		t.Fatal(err)
	}
}

// Fifty copies of one proof sent at once: exactly one is accepted.
func TestCheckReplayRace(t *testing.T) {
	k := newKey(t)
	c := NewChecker(time.Minute, func() time.Time { return t0 })
	p := proof(t, k, "GET", "https://login.example/x", "", t0)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.Check(p, "GET", "https://login.example/x", ""); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("%d of 50 copies accepted, want 1", ok.Load())
	}
}

// A key on another curve is refused when signing and when checking.
func TestOnlyP256(t *testing.T) {
	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Proof(k384, "GET", "https://login.example/x", "", t0); err == nil {
		t.Error("a P-384 key signed an ES256 proof")
	}
}
