package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/qrlogin/qrlogin/server/api"
)

// CreateTicket asks for a new ticket (POST /api/v1/tickets) for the desktop
// described by dev, which the phone will be shown. The answer's PollSecret
// and MatchCode are for this desktop alone: never show the secret, and show
// the code only when a scanned event says match_required.
func (c *Client) CreateTicket(ctx context.Context, dev api.DesktopDevice) (api.CreateTicketResponse, error) {
	var out api.CreateTicketResponse
	err := c.do(ctx, call{method: http.MethodPost, path: api.PathTickets,
		in: api.CreateTicketRequest{Device: dev}, out: &out})
	return out, err
}

// Redeem trades a confirmed ticket for the desktop's session
// (POST /api/v1/tickets/{ref}/redeem), where ref is the one CreateTicket
// returned. It works once: before confirmation it gets conflict, afterwards
// expired. With WithDPoP it sends a proof, and the session is bound to the
// key (TokenType api.TokenDPoP) if the server takes it; a proof it refuses
// gets invalid_request.
func (c *Client) Redeem(ctx context.Context, ref, pollSecret string) (api.RedeemResponse, error) {
	var out api.RedeemResponse
	err := c.do(ctx, call{method: http.MethodPost, path: ticketPath(ref, "redeem"), bearer: pollSecret,
		proof: bindProof, out: &out})
	return out, err
}

// Cancel ends a ticket that is not final yet
// (POST /api/v1/tickets/{ref}/cancel); a watching desktop gets cancelled.
func (c *Client) Cancel(ctx context.Context, ref, pollSecret string) error {
	return c.do(ctx, call{method: http.MethodPost, path: ticketPath(ref, "cancel"), bearer: pollSecret})
}

// Me returns the account of a desktop session (GET /api/v1/me); a revoked or
// expired session gets unauthorized, and so does a session bound to a key
// (see WithDPoP) that is not this Client's.
func (c *Client) Me(ctx context.Context, sessionToken string) (api.User, error) {
	var out api.UserBody
	err := c.do(ctx, call{method: http.MethodGet, path: api.PathMe, bearer: sessionToken, proof: sessionProof, out: &out})
	return out.User, err
}

// Logout ends a desktop session (POST /api/v1/logout); a session that
// ended, or is bound to another key, gets unauthorized.
func (c *Client) Logout(ctx context.Context, sessionToken string) error {
	return c.do(ctx, call{method: http.MethodPost, path: api.PathLogout, bearer: sessionToken, proof: sessionProof})
}

// WatchSession listens on a desktop session's channel (WebSocket
// GET /api/v1/session/events) and calls fn, on WatchSession's goroutine, for
// each event. It returns nil after delivering {"type":"revoked"} (the phone
// logged out or revoked this session), ctx.Err() when ctx ends, an error
// wrapping ErrClosed when the channel closes before that, and a
// *server.Error when the server refuses the handshake (an ended session, or
// one bound to another key: unauthorized).
func (c *Client) WatchSession(ctx context.Context, sessionToken string, fn func(api.SessionEvent)) error {
	conn, err := c.dialEvents(ctx, call{path: api.PathSessionEvents, bearer: sessionToken, proof: sessionProof})
	if err != nil {
		return err
	}
	return readEvents(ctx, conn, func(ev api.SessionEvent) bool {
		fn(ev)
		return ev.Type == api.EventRevoked
	})
}

// QRImageURL returns the address of the PNG of the QR code that carries ref
// (GET /q/{ref}.png), px pixels wide at most; px <= 0 leaves the server's
// default. It holds no secret: an <img> may load it.
func (c *Client) QRImageURL(ref string, px int) string {
	u := c.base + api.PathQRPrefix + url.PathEscape(ref) + ".png"
	if px > 0 {
		u += "?px=" + strconv.Itoa(px)
	}
	return u
}

// ticketPath returns /api/v1/tickets/{ref}/{action}.
func ticketPath(ref, action string) string {
	return api.PathTickets + "/" + url.PathEscape(ref) + "/" + action
}
