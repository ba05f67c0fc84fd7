package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// Register creates an account (POST /api/v1/accounts) and returns it.
// A taken username gets a conflict error; a weak or malformed field,
// invalid_request; registration switched off, forbidden.
func (c *Client) Register(ctx context.Context, req api.RegisterRequest) (api.User, error) {
	var out api.UserBody
	err := c.do(ctx, call{method: http.MethodPost, path: api.PathAccounts, in: req, out: &out})
	return out.User, err
}

// MobileLogin logs a phone in (POST /api/v1/mobile/login). The answer's
// device token is bound to req.Device.ID; use both with Client.Mobile.
// Wrong credentials get unauthorized.
func (c *Client) MobileLogin(ctx context.Context, req api.MobileLoginRequest) (api.MobileLoginResponse, error) {
	var out api.MobileLoginResponse
	err := c.do(ctx, call{method: http.MethodPost, path: api.PathMobileLogin, in: req, out: &out})
	return out, err
}

// Mobile is a logged-in phone: every call sends its device token as a bearer
// and its device id in X-Device-Id. It is safe for concurrent use.
type Mobile struct {
	c                   *Client
	deviceToken, device string
}

// Mobile returns the phone whose device token and device id are given (as
// MobileLogin returned them).
func (c *Client) Mobile(deviceToken, deviceID string) *Mobile {
	return &Mobile{c: c, deviceToken: deviceToken, device: deviceID}
}

func (m *Mobile) do(ctx context.Context, cl call) error {
	cl.bearer, cl.deviceID = m.deviceToken, m.device
	return m.c.do(ctx, cl)
}

// Scan binds the ticket that the QR payload names to this phone's account
// (POST /api/v1/mobile/scan) and returns what the server recorded about the
// desktop, with the single-use scan token that Confirm needs. A ticket
// already scanned gets conflict; an expired or rotated QR, expired; an
// unknown one, not_found; text that is no payload, invalid_request.
func (m *Mobile) Scan(ctx context.Context, qrPayload string) (api.ScanResponse, error) {
	var out api.ScanResponse
	err := m.do(ctx, call{method: http.MethodPost, path: api.PathMobileScan,
		in: api.ScanRequest{QRPayload: qrPayload}, out: &out})
	return out, err
}

// Confirm approves or denies the scanned ticket (POST /api/v1/mobile/confirm)
// and returns its new state: server.StateConfirmed or server.StateDenied. A
// missing or wrong match code where the scan said match_required gets forbidden (the
// third wrong one denies the ticket); a used or expired scan token, expired.
func (m *Mobile) Confirm(ctx context.Context, req api.ConfirmRequest) (server.State, error) {
	var out api.StateBody
	err := m.do(ctx, call{method: http.MethodPost, path: api.PathMobileConfirm, in: req, out: &out})
	return out.State, err
}

// Sessions lists the account's live desktop sessions
// (GET /api/v1/mobile/sessions). The list is never nil on success.
func (m *Mobile) Sessions(ctx context.Context) ([]api.Session, error) {
	var out api.SessionsBody
	if err := m.do(ctx, call{method: http.MethodGet, path: api.PathMobileSessions, out: &out}); err != nil {
		return nil, err
	}
	if out.Sessions == nil {
		out.Sessions = []api.Session{}
	}
	return out.Sessions, nil
}

// RevokeSession ends the account's desktop session id
// (DELETE /api/v1/mobile/sessions/{id}); that desktop is told at once. An
// unknown id gets not_found.
func (m *Mobile) RevokeSession(ctx context.Context, id string) error {
	return m.do(ctx, call{method: http.MethodDelete, path: api.PathMobileSessions + "/" + url.PathEscape(id)})
}

// Grants lists the third-party apps' live grants on the account
// (GET /api/v1/mobile/grants), the most recently used first. The list is
// never nil on success.
func (m *Mobile) Grants(ctx context.Context) ([]api.Grant, error) {
	var out api.GrantsBody
	if err := m.do(ctx, call{method: http.MethodGet, path: api.PathMobileGrants, out: &out}); err != nil {
		return nil, err
	}
	if out.Grants == nil {
		out.Grants = []api.Grant{}
	}
	return out.Grants, nil
}

// RevokeGrant ends the account's grant id (DELETE
// /api/v1/mobile/grants/{id}): every token issued through it stops working
// at once, and an app that registered a back-channel logout URI is told. An
// unknown id, or another account's, gets not_found.
func (m *Mobile) RevokeGrant(ctx context.Context, id string) error {
	return m.do(ctx, call{method: http.MethodDelete, path: api.PathMobileGrants + "/" + url.PathEscape(id)})
}

// Logout revokes the device token, every desktop session that this phone
// confirmed and every third-party grant it approved
// (POST /api/v1/mobile/logout). The Mobile is useless afterwards.
func (m *Mobile) Logout(ctx context.Context) error {
	return m.do(ctx, call{method: http.MethodPost, path: api.PathMobileLogout})
}

// Events listens on the phone's own channel (WebSocket
// GET /api/v1/mobile/events) and calls fn, on Events' goroutine, for each
// event (session_created, session_revoked). It runs until ctx ends, when it
// returns ctx.Err(), or until the channel closes, when it returns an error
// wrapping ErrClosed. A refused handshake returns a *server.Error (a revoked
// token: unauthorized).
func (m *Mobile) Events(ctx context.Context, fn func(api.MobileEvent)) error {
	conn, err := m.c.dialEvents(ctx, call{path: api.PathMobileEvents, bearer: m.deviceToken, deviceID: m.device})
	if err != nil {
		return err
	}
	return readEvents(ctx, conn, func(ev api.MobileEvent) bool {
		fn(ev)
		return false
	})
}
