package oauthtest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// RunKeys runs the signing keys' part of the suite (Run runs it too); open returns a new,
// empty store for each test. What it fixes where the interface leaves a
// choice: a key's RetiredAt as given to InitSigningKeys or AddSigningKey is
// not stored (a new key is the newest, never retired), and keys are stored
// byte for byte, whatever their PEM holds.
func RunKeys(t *testing.T, open func(t *testing.T) OAuthAndCoreStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s OAuthAndCoreStore)
	}{
		{"InitSigningKeys", testInitSigningKeys},
		{"AddSigningKey", testAddSigningKey},
		{"DropSigningKeys", testDropSigningKeys},
		{"AddSigningKeyRace", testAddSigningKeyRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// The first key is made once per store: each round needs a new one.
	t.Run("InitSigningKeysRace", func(t *testing.T) {
		for round := range rounds {
			testInitSigningKeysRace(t, round, open(t))
		}
	})
}

// signingKey is a key made at t0+n minutes that signs from n+2 minutes on,
// in a zone other than UTC.
func signingKey(n int) oauth.SigningKey {
	cet := time.FixedZone("CET", 3600)
	made := t0.Add(time.Duration(n)*time.Minute + 123456*time.Microsecond).In(cet)
	return oauth.SigningKey{
		PEM:       fmt.Appendf(nil, "-----BEGIN PRIVATE KEY-----\n\x00\xff key %d\n-----END PRIVATE KEY-----\n", n),
		CreatedAt: made, ActiveFrom: made.Add(2 * time.Minute),
	}
}

// retired is k retired at t.
func retired(k oauth.SigningKey, t time.Time) oauth.SigningKey {
	k.RetiredAt = t
	return k
}

// wantKeys checks that s holds want, in that order.
func wantKeys(t *testing.T, what string, s OAuthAndCoreStore, want ...oauth.SigningKey) {
	t.Helper()
	got, err := s.SigningKeys(ctx)
	must(t, what+": SigningKeys", err)
	sameKeys(t, what, got, want)
}

func sameKeys(t *testing.T, what string, got, want []oauth.SigningKey) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range want {
		same(t, fmt.Sprintf("%s: key %d", what, i), got[i], want[i])
	}
}

// InitSigningKeys stores the first key once, returns the stored keys ever
// after without calling create, and stores nothing when create fails.
func testInitSigningKeys(t *testing.T, s OAuthAndCoreStore) {
	wantKeys(t, "a new store", s)
	boom := errors.New("no entropy")
	if keys, err := s.InitSigningKeys(ctx, func() (oauth.SigningKey, error) { return oauth.SigningKey{}, boom }); !errors.Is(err, boom) || keys != nil {
		t.Fatalf("InitSigningKeys with a failing create: %+v %v, want the error", keys, err)
	}
	wantKeys(t, "after a failing create", s)

	first := signingKey(0)
	calls := 0
	keys, err := s.InitSigningKeys(ctx, func() (oauth.SigningKey, error) {
		calls++
		return retired(first, t0), nil // RetiredAt is not stored
	})
	must(t, "InitSigningKeys", err)
	if calls != 1 {
		t.Fatalf("create ran %d times, want once", calls)
	}
	sameKeys(t, "InitSigningKeys", keys, []oauth.SigningKey{first})
	wantKeys(t, "SigningKeys", s, first)

	next := signingKey(1)
	must(t, "AddSigningKey", s.AddSigningKey(ctx, next))
	keys, err = s.InitSigningKeys(ctx, func() (oauth.SigningKey, error) {
		t.Error("create called again")
		return signingKey(9), nil
	})
	must(t, "InitSigningKeys again", err)
	sameKeys(t, "InitSigningKeys again", keys, []oauth.SigningKey{retired(first, next.ActiveFrom), next})
}

// Racing first calls all get the one key, which create made once.
func testInitSigningKeysRace(t *testing.T, round int, s OAuthAndCoreStore) {
	var calls atomic.Int32
	got := make([][]oauth.SigningKey, racers)
	race(t, s, func(i int) {
		keys, err := s.InitSigningKeys(ctx, func() (oauth.SigningKey, error) {
			calls.Add(1)
			return signingKey(i), nil
		})
		if err != nil {
			t.Errorf("round %d: racing InitSigningKeys: %v", round, err)
		}
		got[i] = keys
	})
	if n := calls.Load(); n != 1 {
		t.Fatalf("round %d: create ran %d times, want once", round, n)
	}
	if len(got[0]) != 1 {
		t.Fatalf("round %d: racer 0 got %d keys, want 1", round, len(got[0]))
	}
	for i := range got {
		sameKeys(t, fmt.Sprintf("round %d: racer %d", round, i), got[i], got[0])
	}
	wantKeys(t, fmt.Sprintf("round %d: after the race", round), s, got[0]...)
}

// AddSigningKey retires the keys not yet retired at the new key's
// ActiveFrom, and refuses a key that would not become active after every
// stored one.
func testAddSigningKey(t *testing.T, s OAuthAndCoreStore) {
	k0, k1, k2 := signingKey(0), signingKey(1), signingKey(2)
	must(t, "AddSigningKey to an empty store", s.AddSigningKey(ctx, retired(k0, t0)))
	wantKeys(t, "one key", s, k0)
	must(t, "AddSigningKey", s.AddSigningKey(ctx, k1))
	wantKeys(t, "a rotation", s, retired(k0, k1.ActiveFrom), k1)

	// Neither at nor before the newest ActiveFrom.
	for _, at := range []time.Time{k1.ActiveFrom, k1.ActiveFrom.Add(-time.Microsecond), k0.ActiveFrom, t0.Add(-time.Hour)} {
		k := signingKey(7)
		k.ActiveFrom = at
		wantCode(t, fmt.Sprintf("AddSigningKey active at %v", at), s.AddSigningKey(ctx, k), server.ErrConflict)
	}
	wantKeys(t, "after refused rotations", s, retired(k0, k1.ActiveFrom), k1)

	// The next rotation retires the newest key and leaves a retired key's
	// time alone.
	must(t, "AddSigningKey", s.AddSigningKey(ctx, k2))
	wantKeys(t, "a second rotation", s, retired(k0, k1.ActiveFrom), retired(k1, k2.ActiveFrom), k2)
}

// DropSigningKeys deletes the keys retired before t, not at t, and never
// the newest.
func testDropSigningKeys(t *testing.T, s OAuthAndCoreStore) {
	if n, err := s.DropSigningKeys(ctx, t0); err != nil || n != 0 {
		t.Fatalf("DropSigningKeys on an empty store: %d %v", n, err)
	}
	k0, k1, k2 := signingKey(0), signingKey(1), signingKey(2)
	for _, k := range []oauth.SigningKey{k0, k1, k2} {
		must(t, "AddSigningKey", s.AddSigningKey(ctx, k))
	}
	r0, r1 := retired(k0, k1.ActiveFrom), retired(k1, k2.ActiveFrom)
	drop := func(at time.Time, want int) {
		t.Helper()
		n, err := s.DropSigningKeys(ctx, at)
		must(t, "DropSigningKeys", err)
		if n != want {
			t.Fatalf("DropSigningKeys(%v): %d, want %d", at, n, want)
		}
	}
	drop(r0.RetiredAt, 0)
	wantKeys(t, "nothing retired before", s, r0, r1, k2)
	drop(r0.RetiredAt.Add(time.Microsecond), 1)
	wantKeys(t, "the first dropped", s, r1, k2)
	drop(t0.Add(1000*time.Hour), 1)
	wantKeys(t, "all retired dropped", s, k2)
	drop(t0.Add(1000*time.Hour), 0)
	wantKeys(t, "the newest stays", s, k2)
}

// Racing rotations (keys becoming active in any order) leave a chain: each
// key retired when the next by ActiveFrom becomes active, the last not
// retired. A rotation that lost its place is ErrConflict.
func testAddSigningKeyRace(t *testing.T, s OAuthAndCoreStore) {
	for round := range rounds {
		race(t, s, func(i int) {
			k := signingKey(round*racers + (i*7)%racers)
			if err := s.AddSigningKey(ctx, k); err != nil && !errors.Is(err, server.ErrConflict) {
				t.Errorf("round %d: racing AddSigningKey: %v", round, err)
			}
		})
	}
	keys, err := s.SigningKeys(ctx)
	must(t, "SigningKeys", err)
	if len(keys) == 0 {
		t.Fatal("no key stored")
	}
	for i, k := range keys {
		var want time.Time
		if i+1 < len(keys) {
			want = keys[i+1].ActiveFrom
			if !want.After(k.ActiveFrom) {
				t.Errorf("key %d active at %v, the next at %v", i, k.ActiveFrom, want)
			}
		}
		checkTime(t, fmt.Sprintf("key %d of %d retired", i, len(keys)), k.RetiredAt, want)
	}
}
