package provider

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/testclock"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// Every user code is UserCodeLen letters of the alphabet, canonical, and
// over a few thousand draws every letter turns up.
func TestNewUserCode(t *testing.T) {
	seen := map[rune]int{}
	for range 2000 {
		c := newUserCode()
		if n, ok := api.NormalizeUserCode(c); !ok || n != c || len(c) != api.UserCodeLen {
			t.Fatalf("newUserCode() = %q: not a canonical code", c)
		}
		for _, r := range c {
			seen[r]++
		}
	}
	for _, r := range api.UserCodeAlphabet {
		if seen[r] == 0 {
			t.Errorf("letter %c never drawn in 16,000", r)
		}
	}
	if len(seen) != len(api.UserCodeAlphabet) {
		t.Errorf("letters drawn: %v", seen)
	}
}

// collidingStore answers conflict to the first collisions CreateRequest
// calls, as a store does for a user code another request holds, and
// records the codes tried.
type collidingStore struct {
	oauth.Store
	collisions int
	tried      []string
}

func (s *collidingStore) CreateRequest(ctx context.Context, r oauth.Request) error {
	s.tried = append(s.tried, r.UserCode)
	if len(s.tried) <= s.collisions {
		return server.Errorf(server.CodeConflict, "the request exists")
	}
	return s.Store.CreateRequest(ctx, r)
}

// newDeviceFixture returns a provider over the fixture's database, or over
// wrap of it if wrap is not nil, and the store it uses. The database holds
// the device-grant app "tv" (named "TV App").
func newDeviceFixture(t *testing.T, wrap func(oauth.Store) oauth.Store) (*Provider, oauth.Store) {
	t.Helper()
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC())
	p, db := newPurgeFixture(t, clk)
	if err := db.CreateClient(ctx, oauth.Client{ID: "tv", Name: "TV App", Public: true,
		GrantTypes: []string{oauth.GrantDevice, oauth.GrantRefresh}, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	var st oauth.Store = db
	if wrap != nil {
		st = wrap(db)
		p = newTestProvider(t, db, st, clk.Now, nil, Config{})
	}
	return p, st
}

var displayed = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// The device response shows the code as WDJB-MJHT, the verification URI
// carries it, the store holds it canonical, and the phone finds the grant
// by it in any case, with or without the dash.
func TestDeviceAuthorizeUserCode(t *testing.T) {
	ctx := context.Background()
	p, st := newDeviceFixture(t, nil)
	resp, err := p.DeviceAuthorize(ctx, ClientCredentials{ID: "tv"}, "openid", server.Desktop{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !displayed.MatchString(resp.UserCode) {
		t.Fatalf("user_code %q, want XXXX-XXXX", resp.UserCode)
	}
	if want := api.DevicePayload(p.issuer, resp.UserCode); resp.VerificationURIComplete != want {
		t.Errorf("verification_uri_complete %q, want %q", resp.VerificationURIComplete, want)
	}
	if resp.VerificationURI != p.issuer+api.PathDevice {
		t.Errorf("verification_uri %q", resp.VerificationURI)
	}
	canonical := strings.ReplaceAll(resp.UserCode, "-", "")
	r, err := st.RequestByUserCode(ctx, canonical)
	if err != nil || r.UserCode != canonical {
		t.Fatalf("stored request by %q: %+v, %v", canonical, r, err)
	}
	for _, typed := range []string{resp.UserCode, canonical, strings.ToLower(resp.UserCode), canonical[:4] + " " + strings.ToLower(canonical[4:])} {
		ref, err := p.RefForUserCode(ctx, typed)
		if err != nil || ref != r.Ref {
			t.Errorf("RefForUserCode(%q) = %q, %v, want %q", typed, ref, err, r.Ref)
		}
	}
	for _, bad := range []string{"", "not a code", "AbCdEfGhIjKlMnOpQrStUv"} {
		if _, err := p.RefForUserCode(ctx, bad); server.ErrorCode(err) != server.CodeNotFound {
			t.Errorf("RefForUserCode(%q): %v, want not_found", bad, err)
		}
	}
	app, err := p.App(ctx, r.TicketID)
	if err != nil || app == nil || app.UserCode != resp.UserCode || app.Name != "TV App" {
		t.Errorf("App of the device ticket = %+v, %v; want the code shown as %s", app, err, resp.UserCode)
	}
}

// A user code that another request holds is drawn again; a store that
// keeps refusing is given up on.
func TestDeviceAuthorizeRedrawsOnCollision(t *testing.T) {
	ctx := context.Background()
	var cs *collidingStore
	p, _ := newDeviceFixture(t, func(db oauth.Store) oauth.Store {
		cs = &collidingStore{Store: db, collisions: 2}
		return cs
	})
	resp, err := p.DeviceAuthorize(ctx, ClientCredentials{ID: "tv"}, "", server.Desktop{})
	if err != nil {
		t.Fatalf("after two collisions: %v", err)
	}
	if len(cs.tried) != 3 || cs.tried[0] == cs.tried[1] || api.FormatUserCode(cs.tried[2]) != resp.UserCode {
		t.Errorf("codes tried %q, answered %q", cs.tried, resp.UserCode)
	}
	cs.tried, cs.collisions = nil, userCodeTries
	if _, err := p.DeviceAuthorize(ctx, ClientCredentials{ID: "tv"}, "", server.Desktop{}); server.ErrorCode(err) != server.CodeConflict {
		t.Errorf("a store that always collides: %v, want conflict", err)
	}
	if len(cs.tried) != userCodeTries {
		t.Errorf("tried %d codes, want %d", len(cs.tried), userCodeTries)
	}
}
