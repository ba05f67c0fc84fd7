package client

import (
	"context"
	"errors"
	"net/http"

	"github.com/qrlogin/qrlogin/server/api"
)

// The desktop's side of one-tap login: a desktop whose key was enrolled by
// a QR login redeemed with a proof (see WithDPoP) asks the account's
// phones to let it in again, shows the number, and follows the answer as a
// ticket (server/api/onetap.go has the wire types).

// ErrNoKey is returned, before anything is sent, by the calls that only a
// Client with a key can make (DesktopKey, DesktopLogin): it was made
// without WithDPoP.
var ErrNoKey = errors.New("client: no DPoP key: one-tap login needs WithDPoP")

// DesktopKey returns the account that this Client's key is enrolled for
// (GET /api/v1/desktop/key, with a proof from the key): its masked name
// and avatar, which a logged-out desktop may show, and the name the
// desktop was enrolled under. A key that was never enrolled, was removed
// (the phone's "Not me", or its list of desktops) or lapsed gets
// not_found. Without WithDPoP it returns ErrNoKey.
func (c *Client) DesktopKey(ctx context.Context) (api.DesktopKeyInfo, error) {
	var out api.DesktopKeyInfo
	if c.key == nil {
		return out, ErrNoKey
	}
	err := c.do(ctx, call{method: http.MethodGet, path: api.PathDesktopKey, proof: bindProof, out: &out})
	return out, err
}

// DesktopLogin asks the phones of the account that this Client's key is
// enrolled for to let the desktop described by req in
// (POST /api/v1/desktop/login, with a proof from the key). The answer is
// a ticket that starts scanned: show Number, follow Ref with PollSecret by
// Watch as a QR code's ticket, Redeem it (with a proof from the same key,
// the only one that may) once confirmed, or Cancel it. A key that is not
// enrolled gets not_found; a request while another waits, conflict; a
// fourth within ten minutes, rate_limited with RetryAfter. Without
// WithDPoP it returns ErrNoKey.
func (c *Client) DesktopLogin(ctx context.Context, req api.DesktopLoginRequest) (api.DesktopLoginResponse, error) {
	var out api.DesktopLoginResponse
	if c.key == nil {
		return out, ErrNoKey
	}
	err := c.do(ctx, call{method: http.MethodPost, path: api.PathDesktopLogin, proof: bindProof, in: req, out: &out})
	return out, err
}
