package provider

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// DeviceResponse answers a device authorization request (RFC 8628 3.2).
// UserCode is the code as people see and type it, WDJB-MJHT (RFC 8628
// 6.1: api.UserCodeAlphabet, case-insensitive, the dash optional).
// VerificationURIComplete is what the device shows as a QR code: the
// verification URI with the user code, which the phone scans; the phone
// may instead type the code, and a browser that opens VerificationURI is
// told how.
type DeviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// DeviceAuthorize starts a device grant for the client: a ticket that lives
// DeviceTTL, named by a fresh user code (newUserCode), stored canonical; a
// code that another request holds already is drawn again. A client that
// sends credentials must send valid ones; one that sends only its client_id
// (as stock clients do) is identified by it: nothing is handed out here, and
// the token endpoint authenticates it.
func (p *Provider) DeviceAuthorize(ctx context.Context, cc ClientCredentials, scope string, d server.Desktop) (DeviceResponse, error) {
	var c oauth.Client
	var err error
	if cc.Secret != "" || cc.Basic {
		c, err = p.authClient(ctx, cc)
	} else {
		c, err = p.st.ClientByID(ctx, cc.ID)
		if errors.Is(err, server.ErrNotFound) || cc.ID == "" {
			err = invalidClient("unknown client")
		}
	}
	if err != nil {
		return DeviceResponse{}, err
	}
	if !slices.Contains(c.GrantTypes, oauth.GrantDevice) {
		return DeviceResponse{}, oerr(UnauthorizedClient, "this app is not registered for the device grant")
	}
	scope = grantedScope(scope)
	d.Name, d.App = c.Name, c.Name
	t, resp, err := p.svc.NewTicket(ctx, d, p.cfg.DeviceTTL, server.AppDevice)
	if err != nil {
		return DeviceResponse{}, err
	}
	deviceCode := server.NewSecret()
	r := oauth.Request{
		TicketID: t.ID, Ref: resp.Ref, ClientID: c.ID, Scope: scope,
		DeviceCodeHash: server.HashToken(deviceCode), Interval: p.cfg.DeviceInterval, CreatedAt: t.CreatedAt,
	}
	for try := 1; ; try++ {
		r.UserCode = newUserCode()
		err = p.st.CreateRequest(ctx, r)
		if err == nil || !errors.Is(err, server.ErrConflict) || try == userCodeTries {
			break
		}
	}
	if err != nil {
		return DeviceResponse{}, err
	}
	shown := displayUserCode(r.UserCode)
	return DeviceResponse{
		DeviceCode: deviceCode, UserCode: shown,
		VerificationURI:         p.issuer + api.PathDevice,
		VerificationURIComplete: api.DevicePayload(p.issuer, shown),
		ExpiresIn:               int(p.cfg.DeviceTTL / time.Second),
		Interval:                int(p.cfg.DeviceInterval / time.Second),
	}, nil
}

// userCodeTries is how many user codes DeviceAuthorize draws before it
// gives up on a conflict. A draw collides with a stored code with odds of
// (codes stored) / 20^8: one in 25,600 with a million stored, so a second
// collision in a row means a fault of another kind.
const userCodeTries = 3

// slowDown is how much a device that polls too fast must add to its interval
// (RFC 8628 3.5).
const slowDown = 5 * time.Second

func (p *Provider) deviceToken(ctx context.Context, c oauth.Client, deviceCode string) (TokenResponse, error) {
	if deviceCode == "" {
		return TokenResponse{}, invalidRequest("device_code is required")
	}
	r, err := p.st.RequestByDeviceCode(ctx, server.HashToken(deviceCode))
	if errors.Is(err, server.ErrNotFound) || err == nil && r.ClientID != c.ID {
		return TokenResponse{}, invalidGrant("unknown device_code")
	}
	if err != nil {
		return TokenResponse{}, err
	}
	now := p.now().UTC()
	tooFast, err := p.st.PollDevice(ctx, r.TicketID, now, slowDown)
	if err != nil {
		return TokenResponse{}, err
	}
	if tooFast {
		return TokenResponse{}, oerr(SlowDown, "poll at most every %s; the interval grew by %s", r.Interval, slowDown)
	}
	t, err := p.users.TicketByRef(ctx, r.Ref)
	if err != nil {
		return TokenResponse{}, err
	}
	if t.Expired(now) {
		return TokenResponse{}, oerr(ExpiredToken, "the device code has expired")
	}
	switch t.State {
	case server.StatePending, server.StateScanned:
		return TokenResponse{}, oerr(AuthorizationPending, "waiting for the person to scan and approve")
	case server.StateDenied:
		return TokenResponse{}, oerr(AccessDenied, "the person denied the login")
	case server.StateExpired, server.StateCancelled:
		return TokenResponse{}, oerr(ExpiredToken, "the device code has expired")
	case server.StateRedeemed:
		return TokenResponse{}, invalidGrant("the device code was already used")
	}
	t, err = p.svc.Consume(ctx, t)
	if errors.Is(err, server.ErrExpired) || errors.Is(err, server.ErrConflict) {
		return TokenResponse{}, invalidGrant("the device code was already used")
	}
	if err != nil {
		return TokenResponse{}, err
	}
	g, err := p.newGrant(ctx, c.ID, r.Scope, t, now.Add(p.cfg.AccessTTL))
	if errors.Is(err, server.ErrConflict) {
		return TokenResponse{}, oerr(AccessDenied, "the phone that approved the login has logged out")
	}
	if err != nil {
		return TokenResponse{}, err
	}
	return p.issue(ctx, c, t.UserID, r.Scope, "", g.ID, t.ConfirmedAt, nil)
}

// RefForUserCode implements service.Apps. code may be in any form that
// api.NormalizeUserCode accepts; one that cannot be a user code is
// server.ErrNotFound, like an unknown one.
func (p *Apps) RefForUserCode(ctx context.Context, code string) (string, error) {
	canonical, ok := api.NormalizeUserCode(code)
	if !ok {
		return "", server.Errorf(server.CodeNotFound, "no such user code")
	}
	r, err := p.st.RequestByUserCode(ctx, canonical)
	if err != nil {
		return "", err
	}
	return r.Ref, nil
}

// displayUserCode is a stored (canonical) user code as people see it:
// WDJB-MJHT.
func displayUserCode(code string) string { return api.FormatUserCode(code) }
