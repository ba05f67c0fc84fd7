package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// The phone's side of one-tap login: a desktop whose key is enrolled asks
// the account's phones to let it in again, and the person taps the number
// that the desktop shows (server/api/onetap.go has the wire types).

// LoginRequests lists the account's waiting one-tap requests
// (GET /api/v1/mobile/login-requests): the desktop's enrolled name, where
// it asks from, the three numbers to choose from and the expiry. The list
// is never nil on success. A revoked device token gets unauthorized.
func (m *Mobile) LoginRequests(ctx context.Context) ([]api.LoginRequest, error) {
	var out []api.LoginRequest
	if err := m.do(ctx, call{method: http.MethodGet, path: api.PathMobileLoginRequests, out: &out}); err != nil {
		return nil, err
	}
	if out == nil {
		out = []api.LoginRequest{}
	}
	return out, nil
}

// DecideLoginRequest decides the account's one-tap request id
// (POST /api/v1/mobile/login-requests/{id}) and returns its new state:
// server.StateConfirmed when req approves with the number the desktop
// shows, server.StateDenied when it denies or says not_me (which also
// removes the desktop's enrolment and ends its sessions). An approval with
// another number denies the request and gets forbidden. An unknown id, or
// another account's, gets not_found; a request that expired, expired; one
// decided already (on any phone), conflict; too many decisions,
// rate_limited with RetryAfter; an unknown action, or approve without a
// number, invalid_request.
func (m *Mobile) DecideLoginRequest(ctx context.Context, id string, req api.DecideLoginRequest) (server.State, error) {
	var out api.StateBody
	err := m.do(ctx, call{method: http.MethodPost, path: api.PathMobileLoginRequests + "/" + url.PathEscape(id),
		in: req, out: &out})
	return out.State, err
}

// WaitLoginRequest returns the next one-tap request of the account: one
// already waiting when it is called (the first to expire, if several), else
// the first that the phone's channel (WebSocket GET /api/v1/mobile/events)
// announces. It lists the waiting requests only once the channel is open,
// so no request falls between the two. It returns ctx.Err() when ctx ends
// first, an error wrapping ErrClosed when the channel closes first, and a
// *server.Error when the server refuses the handshake or the list (a
// revoked token: unauthorized).
func (m *Mobile) WaitLoginRequest(ctx context.Context) (api.LoginRequest, error) {
	conn, err := m.c.dialEvents(ctx, call{path: api.PathMobileEvents, bearer: m.deviceToken, deviceID: m.device})
	if err != nil {
		return api.LoginRequest{}, err
	}
	defer conn.CloseNow()
	waiting, err := m.LoginRequests(ctx)
	if err != nil {
		return api.LoginRequest{}, err
	}
	if len(waiting) > 0 {
		first := waiting[0]
		for _, r := range waiting[1:] {
			if r.ExpiresAt.Before(first.ExpiresAt) {
				first = r
			}
		}
		return first, nil
	}
	var got api.LoginRequest
	err = readEvents(ctx, conn, func(ev api.MobileEvent) bool {
		if ev.Type != api.EventLoginRequest || ev.Request == nil {
			return false
		}
		got = *ev.Request
		return true
	})
	return got, err
}

// Desktops lists the desktops enrolled for one-tap login on the account
// (GET /api/v1/mobile/desktops). The list is never nil on success. A
// revoked device token gets unauthorized.
func (m *Mobile) Desktops(ctx context.Context) ([]api.EnrolledDesktop, error) {
	var out []api.EnrolledDesktop
	if err := m.do(ctx, call{method: http.MethodGet, path: api.PathMobileDesktops, out: &out}); err != nil {
		return nil, err
	}
	if out == nil {
		out = []api.EnrolledDesktop{}
	}
	return out, nil
}

// RemoveDesktop removes the account's enrolled desktop id
// (DELETE /api/v1/mobile/desktops/{id}): its key can no longer ask for a
// one-tap login, and its desktop sessions end at once. An unknown id, or
// another account's, gets not_found.
func (m *Mobile) RemoveDesktop(ctx context.Context, id string) error {
	return m.do(ctx, call{method: http.MethodDelete, path: api.PathMobileDesktops + "/" + url.PathEscape(id)})
}
