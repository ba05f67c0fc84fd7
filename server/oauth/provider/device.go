package provider

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"qrlogin/server"
	"qrlogin/server/api"
	"qrlogin/server/oauth"
)

// DeviceResponse answers a device authorization request (RFC 8628 3.2).
// VerificationURIComplete is what the device shows as a QR code; its user
// code carries 128 random bits, since the phone scans it and nobody types.
type DeviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// DeviceAuthorize starts a device grant for the client: a ticket that lives
// DeviceTTL, named by a user code in the verification URI. A client that
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
	if scope == "" {
		scope = "openid"
	}
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(supportedScopes, s) {
			return DeviceResponse{}, oerr(http.StatusBadRequest, "invalid_scope", "unknown scope %q", s)
		}
	}
	d.Name, d.App = c.Name, c.Name
	t, resp, err := p.svc.NewTicket(ctx, d, p.cfg.DeviceTTL)
	if err != nil {
		return DeviceResponse{}, err
	}
	userCode, deviceCode := server.NewRef(), server.NewSecret()
	if err := p.st.CreateRequest(ctx, oauth.Request{
		TicketID: t.ID, Ref: resp.Ref, ClientID: c.ID, Scope: scope, UserCode: userCode,
		DeviceCodeHash: server.HashToken(deviceCode), Interval: p.cfg.DeviceInterval, CreatedAt: t.CreatedAt,
	}); err != nil {
		return DeviceResponse{}, err
	}
	return DeviceResponse{
		DeviceCode: deviceCode, UserCode: userCode,
		VerificationURI:         p.issuer + api.PathDevice,
		VerificationURIComplete: api.DevicePayload(p.issuer, userCode),
		ExpiresIn:               int(p.cfg.DeviceTTL / time.Second),
		Interval:                int(p.cfg.DeviceInterval / time.Second),
	}, nil
}

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
		return TokenResponse{}, oerr(http.StatusBadRequest, "slow_down", "poll at most every %s; the interval grew by %s", r.Interval, slowDown)
	}
	t, err := p.users.TicketByRef(ctx, r.Ref)
	if err != nil {
		return TokenResponse{}, err
	}
	if t.Expired(now) {
		return TokenResponse{}, oerr(http.StatusBadRequest, "expired_token", "the device code has expired")
	}
	switch t.State {
	case server.StatePending, server.StateScanned:
		return TokenResponse{}, oerr(http.StatusBadRequest, "authorization_pending", "waiting for the person to scan and approve")
	case server.StateDenied:
		return TokenResponse{}, oerr(http.StatusBadRequest, "access_denied", "the person denied the login")
	case server.StateExpired, server.StateCancelled:
		return TokenResponse{}, oerr(http.StatusBadRequest, "expired_token", "the device code has expired")
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
	return p.issue(ctx, c, t.UserID, r.Scope, "", server.NewRef(), t.ConfirmedAt, nil)
}
