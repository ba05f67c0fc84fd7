// Package protocoltest drives a running server through docs/protocol.md
// over real HTTP and WebSockets, for the server's tests. Every helper fails
// the test on a transport error; protocol answers are returned for the test
// to judge.
package protocoltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/api"
)

// Client talks to the server at Base.
type Client struct {
	TB   testing.TB
	Base string
	HTTP *http.Client
}

// New returns a Client of the server at base.
func New(tb testing.TB, base string) *Client {
	return &Client{TB: tb, Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 40 * time.Second}}
}

// Resp is an answer: the status, the headers and the raw body.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Resp) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("body is not JSON (%v): %s", err, r.Body)
	}
}

// Code returns the protocol error code of the body, or "".
func (r Resp) Code() string {
	var e api.ErrorBody
	json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Map returns the body as a generic JSON object (nil if it is not one).
func (r Resp) Map() map[string]any {
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// Auth is a credential: a bearer and, for phones, the device id. Scheme
// is the Authorization scheme (Bearer if empty); DPoP, if set, is sent as
// the DPoP header.
type Auth struct {
	Bearer   string
	DeviceID string
	Scheme   string
	DPoP     string
}

// header sets a's headers on h.
func (a Auth) header(h http.Header) {
	if a.Bearer != "" {
		scheme := a.Scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		h.Set("Authorization", scheme+" "+a.Bearer)
	}
	if a.DeviceID != "" {
		h.Set(api.HeaderDeviceID, a.DeviceID)
	}
	if a.DPoP != "" {
		h.Set("DPoP", a.DPoP)
	}
}

// Do sends a request with body (marshalled unless it is []byte or a string)
// and returns the answer.
func (c *Client) Do(method, path string, auth Auth, body any) Resp {
	c.TB.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.TB.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.TB.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth.header(req.Header)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.TB.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.TB.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return Resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Want fails the test unless r has the status (and, for errors, the body
// carries code).
func Want(tb testing.TB, r Resp, status int, code string) {
	tb.Helper()
	if r.Status != status || (code != "" && r.Code() != code) {
		tb.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

var seq atomic.Int64

// Phone is a logged-in mobile.
type Phone struct {
	Auth
	User     api.User
	Username string
}

// NewPhone registers a fresh account (display name name) and logs a phone in
// to it.
func (c *Client) NewPhone(name string) Phone {
	c.TB.Helper()
	n := seq.Add(1)
	username := fmt.Sprintf("u%d_%d", time.Now().UnixNano()%1e9, n)
	r := c.Do("POST", api.PathAccounts, Auth{}, api.RegisterRequest{Username: username, Password: "correct horse", DisplayName: name})
	Want(c.TB, r, http.StatusCreated, "")
	return c.Login(username, fmt.Sprintf("device-%d", n))
}

// Login logs a phone with device id dev in to username's account.
func (c *Client) Login(username, dev string) Phone {
	c.TB.Helper()
	r := c.Do("POST", api.PathMobileLogin, Auth{}, api.MobileLoginRequest{
		Username: username, Password: "correct horse", Device: api.MobileDevice{ID: dev, Name: "Test Phone", Platform: "test"},
	})
	Want(c.TB, r, http.StatusOK, "")
	var lr api.MobileLoginResponse
	r.JSON(c.TB, &lr)
	return Phone{Auth: Auth{Bearer: lr.DeviceToken, DeviceID: lr.DeviceID}, User: lr.User, Username: username}
}

// Ticket is a desktop's ticket.
type Ticket struct {
	api.CreateTicketResponse
}

// Secret is the ticket's poll secret as an Auth.
func (t Ticket) Secret() Auth { return Auth{Bearer: t.PollSecret} }

// NewTicket asks for a ticket as a desktop.
func (c *Client) NewTicket() Ticket {
	c.TB.Helper()
	r := c.Do("POST", api.PathTickets, Auth{}, api.CreateTicketRequest{Device: api.DesktopDevice{Name: "Test PC", OS: "linux", App: "qrlogin-test"}})
	Want(c.TB, r, http.StatusCreated, "")
	var t Ticket
	r.JSON(c.TB, &t.CreateTicketResponse)
	return t
}

// Scan scans payload with p.
func (c *Client) Scan(p Phone, payload string) Resp {
	c.TB.Helper()
	return c.Do("POST", api.PathMobileScan, p.Auth, api.ScanRequest{QRPayload: payload})
}

// Confirm answers a scan with p.
func (c *Client) Confirm(p Phone, scanToken string, approve bool, code string) Resp {
	c.TB.Helper()
	return c.Do("POST", api.PathMobileConfirm, p.Auth, api.ConfirmRequest{ScanToken: scanToken, Approve: &approve, MatchCode: code})
}

// Redeem redeems ticket ref with auth.
func (c *Client) Redeem(ref string, auth Auth) Resp {
	c.TB.Helper()
	return c.Do("POST", api.PathTickets+"/"+ref+"/redeem", auth, nil)
}

// Login walks a ticket to a session: p scans and approves (with the match
// code if asked), the desktop redeems. It returns the redeem answer.
func (c *Client) SignIn(p Phone, t Ticket) api.RedeemResponse {
	c.TB.Helper()
	r := c.Scan(p, t.QRPayload)
	Want(c.TB, r, http.StatusOK, "")
	var sr api.ScanResponse
	r.JSON(c.TB, &sr)
	code := ""
	if sr.MatchRequired {
		code = t.MatchCode
	}
	Want(c.TB, c.Confirm(p, sr.ScanToken, true, code), http.StatusOK, "")
	r = c.Redeem(t.Ref, t.Secret())
	Want(c.TB, r, http.StatusOK, "")
	var rr api.RedeemResponse
	r.JSON(c.TB, &rr)
	return rr
}

// WS is an open WebSocket of the test.
type WS struct {
	tb testing.TB
	C  *websocket.Conn
}

// Dial opens a WebSocket at path with auth as headers (if any) and origin
// (if not empty). It returns the HTTP status when the upgrade is refused.
func (c *Client) Dial(path string, auth Auth, origin string) (*WS, int) {
	c.TB.Helper()
	h := http.Header{}
	auth.header(h)
	if origin != "" {
		h.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.Base, "http")+path, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if res != nil {
			return nil, res.StatusCode
		}
		c.TB.Fatalf("dial %s: %v", path, err)
	}
	ws := &WS{tb: c.TB, C: conn}
	c.TB.Cleanup(func() { conn.CloseNow() })
	return ws, http.StatusSwitchingProtocols
}

// Send writes v as a JSON text message.
func (w *WS) Send(v any) {
	w.tb.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.C.Write(ctx, websocket.MessageText, b); err != nil {
		w.tb.Fatalf("ws write: %v", err)
	}
}

// Next reads the next message into a map within d; it returns nil and the
// error when the socket closes or d passes.
func (w *WS) Next(d time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := w.C.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("message is not JSON: %s", b)
	}
	return m, nil
}

// Expect reads messages until one has "type" typ (and, if state is not
// empty, "state" state), failing the test if another state message or the
// end of the socket comes first. Rotated messages are skipped unless asked
// for.
func (w *WS) Expect(typ, state string, d time.Duration) map[string]any {
	w.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := w.Next(time.Until(deadline))
		if err != nil {
			w.tb.Fatalf("waiting for %s %s: %v", typ, state, err)
		}
		if m["type"] == typ && (state == "" || m["state"] == state) {
			return m
		}
		if m["type"] == api.EventRotated && typ != api.EventRotated {
			continue
		}
		w.tb.Fatalf("waiting for %s %s, got %v", typ, state, m)
	}
}

// Closed waits up to d for the server to close the socket and returns the
// close status (-1 if it did not close in time or closed without one).
func (w *WS) Closed(d time.Duration) websocket.StatusCode {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_, err := w.Next(time.Until(deadline))
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
	return -1
}

// FromAddr returns an HTTP client whose connections come from the local
// address ip (any 127.x.y.z works on loopback), so that a test can be a
// client on another network.
func FromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}
