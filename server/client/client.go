// Package client is the Go client of the scan-to-log-in protocol
// (docs/protocol.md), shared by mobile-sim and the desktop app.
//
// Errors: a call that the server answered with a failure returns a
// *server.Error, so callers test codes with errors.Is(err, server.ErrExpired)
// and show Message to a person. The code and message come from the error body
// or, where the body is not the protocol's (a proxy's page), the code from the
// HTTP status and a message naming it (a gateway's 502, 503 or 504 also
// wraps ErrUnavailable); rate_limited errors carry RetryAfter
// from the Retry-After header. A call that got no answer (the server is
// unreachable, the connection dropped, ctx ended) returns the transport's
// error as it is, never a *server.Error, so errors.As(err, new(*server.Error))
// tells "the server said no" from "the server could not be reached".
//
// Tokens and secrets are sent only in Authorization headers, never in URLs.
package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// maxBody bounds how much of an answer the client reads.
const maxBody = 1 << 20

// Client talks to one qrlogin server. It is safe for concurrent use.
type Client struct {
	base         string
	hc           *http.Client
	userAgent    string
	longPollOnly bool
	outage       time.Duration     // see WithOutageLimit
	key          *ecdsa.PrivateKey // see WithDPoP; nil: no proofs
	now          func() time.Time  // this computer's clock
	skew         atomic.Int64      // the server's clock minus now, in ns (learnClock)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests, WebSocket handshakes
// included, with hc. Its Timeout, if any, must exceed the 25 s that a
// long-poll may last. The default is http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithUserAgent sets the User-Agent of every request, which the server shows
// the phone when a desktop asks for a QR code. The default is
// "qrlogin-client/1".
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithLongPoll makes Watch use the long-poll endpoint only, never a
// WebSocket: for networks that block WebSockets, and for tests.
func WithLongPoll() Option {
	return func(c *Client) { c.longPollOnly = true }
}

// WithOutageLimit sets how long Watch, once it has heard from the server,
// keeps retrying a long-poll that fails on the way (a broken connection, a
// gateway's 502, 503 or 504: the node behind a balancer went away) before it
// returns the error; 0 returns the first such error. The default is 30 s.
// A server never reached is not retried.
func WithOutageLimit(d time.Duration) Option {
	return func(c *Client) { c.outage = max(d, 0) }
}

// New returns a Client of the server at baseURL (scheme, host and any path
// prefix, such as "http://127.0.0.1:8080"; a trailing slash is ignored).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		hc:        http.DefaultClient,
		userAgent: "qrlogin-client/1",
		outage:    outageLimit,
		now:       time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the server's base URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// call is one JSON request. bearer, if set, goes in Authorization; deviceID,
// if set, in X-Device-Id; proof says which DPoP proof goes with them when
// the Client has a key (see setHeaders). in, if not nil, is the JSON body;
// a POST without one sends {}. out, if not nil, receives the JSON answer of
// a 2xx status.
type call struct {
	method, path     string
	bearer, deviceID string
	proof            proofUse
	in, out          any
}

// do sends cl and decodes its answer; see the package comment for errors.
// A call whose proof was refused for its time is sent once more (see
// WithDPoP).
func (c *Client) do(ctx context.Context, cl call) error {
	again, err := c.send(ctx, cl)
	if again {
		_, err = c.send(ctx, cl)
	}
	return err
}

// send is one try of do. again reports that the server refused the call's
// proof, whose time was off the server's clock, now learned.
func (c *Client) send(ctx context.Context, cl call) (again bool, err error) {
	var body io.Reader
	if cl.in != nil || cl.method == http.MethodPost {
		in := cl.in
		if in == nil {
			in = struct{}{}
		}
		b, err := json.Marshal(in)
		if err != nil {
			return false, fmt.Errorf("client: encoding %s %s: %w", cl.method, cl.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, body)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	at, err := c.setHeaders(req.Header, cl, cl.method, c.base+cl.path)
	if err != nil {
		return false, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	again = c.learnClock(resp, at)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return false, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := errorFromResponse(resp.StatusCode, resp.Header, data)
		if _, protocol := parseErrorBody(data); !protocol && gatewayStatus(resp.StatusCode) {
			return false, fmt.Errorf("%w: %w", ErrUnavailable, e)
		}
		return again, e
	}
	if cl.out == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, cl.out); err != nil {
		return false, &server.Error{Code: server.CodeInternal,
			Message: fmt.Sprintf("the server's answer to %s %s could not be read: %v", cl.method, cl.path, err)}
	}
	return false, nil
}

// gatewayStatus reports whether status is what a gateway answers for a
// server behind it that is down or slow: 502, 503 or 504.
func gatewayStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}
