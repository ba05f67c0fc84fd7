package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/api"
)

// checkTarget parses the server's base URL and refuses one whose host is
// not a loopback address (127.0.0.0/8, ::1, localhost) unless allowRemote:
// load is only ever aimed at this machine. It also reports whether the
// target is reached over IPv4 loopback, where the tool can spread its
// connections over many 127.0.0.x source addresses.
func checkTarget(raw string, allowRemote bool) (base *url.URL, v4loopback bool, err error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false, fmt.Errorf("-server %q: want http://host:port", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, false, fmt.Errorf("-server %q: want a base URL without query or fragment", raw)
	}
	host := u.Hostname()
	loop, v4 := false, false
	if strings.EqualFold(host, "localhost") {
		loop, v4 = true, true // the dialer picks 127.0.0.1 to match 127.0.0.x sources
	} else if a, err := netip.ParseAddr(host); err == nil {
		loop, v4 = a.IsLoopback(), a.Unmap().Is4()
	}
	if !loop && !allowRemote {
		return nil, false, fmt.Errorf("-server %q: %q is not a loopback address (127.0.0.0/8, ::1, localhost); load is only for this machine (-allow-remote overrides, where you may)", raw, host)
	}
	return u, loop && v4, nil
}

// sourceAddrs returns n consecutive IPv4 loopback addresses from first.
func sourceAddrs(first string, n int) ([]netip.Addr, error) {
	a, err := netip.ParseAddr(first)
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return nil, fmt.Errorf("-source-first %q: want an IPv4 loopback address (127.x.y.z)", first)
	}
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		if !a.IsLoopback() {
			return nil, fmt.Errorf("-sources %d from %s runs past 127.255.255.254", n, first)
		}
		// Skip x.y.z.0 and x.y.z.255, which look like network and broadcast.
		if b := a.As4(); b[3] != 0 && b[3] != 255 {
			out = append(out, a)
		}
		a = a.Next()
	}
	return out, nil
}

// endpoint is one source address of the tool: an http.Client whose
// connections all come from it (IPv4 loopback offers 2^24 of them, each with
// its own ~28k ephemeral ports). Its transport is a connPool (net/http's
// Transport only for https).
type endpoint struct {
	src  string // "" for the system's choice
	hc   *http.Client
	pool *connPool
}

// idleConns is the keep-alive connections an endpoint keeps per server
// (0: 1<<16, about no limit).
func newEndpoint(src netip.Addr, idleConns int) *endpoint {
	if idleConns <= 0 {
		idleConns = 1 << 16
	}
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: -1, // idle sockets on loopback need no probes; the server pings WebSockets
		Control:   bindNoPort,
	}
	e := &endpoint{}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		e.src = src.String()
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        0, // no limit overall
		MaxIdleConnsPerHost: idleConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	e.pool = &connPool{dialer: d, maxIdle: idleConns, fallback: tr}
	// No Client.Timeout: every call carries a context deadline, and the
	// WebSocket dialer wants a client without one.
	e.hc = &http.Client{Transport: e.pool}
	return e
}

func (e *endpoint) close() { e.pool.closeIdle() }

// httpError is a protocol refusal: a status other than the one wanted.
type httpError struct {
	status int
	code   string // the protocol's error code, if the body had one
}

func (e *httpError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.status, e.code)
}

// errKind names err for errors_by_kind: "step:409" for a refusal,
// "step:timeout" when the call's deadline passed, "step:net" otherwise.
func errKind(step string, err error) string {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return step + ":" + strconv.Itoa(he.status)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errTimeout):
		return step + ":timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return step + ":timeout"
	}
	return step + ":net"
}

var errTimeout = errors.New("timed out")

// creds is what a call authenticates with: a bearer and, for a phone, its
// device id.
type creds struct {
	bearer   string
	deviceID string
}

// call sends in (if not nil) as JSON (a json.RawMessage as it is) and
// decodes a 2xx answer into out (if not nil), within timeout (0: ctx's
// deadline only). Any other status is an *httpError. It goes to hc's
// transport directly (a connPool, for plain http without a context for
// the timeout): an API call has no redirect to follow, and http.Client
// would copy the request's headers for one on every call.
func call(ctx context.Context, timeout time.Duration, hc *http.Client, method, u string, c creds, in, out any) error {
	pool, direct := hc.Transport.(*connPool)
	direct = direct && strings.HasPrefix(u, "http:")
	var dl time.Time
	if timeout > 0 {
		if direct {
			dl = time.Now().Add(timeout)
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	var body io.Reader
	if raw, ok := in.(json.RawMessage); ok {
		body = bytes.NewReader(raw)
	} else if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	setHeaders(req.Header, c)
	if in != nil {
		req.Header["Content-Type"] = contentTypeJSON
	}
	var res *http.Response
	switch {
	case direct:
		res, err = pool.roundTrip(req, dl)
	case hc.Transport != nil:
		res, err = hc.Transport.RoundTrip(req)
	default:
		res, err = hc.Do(req)
	}
	if err != nil {
		return err
	}
	defer res.Body.Close()
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer bodyBufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(res.Body, 1<<20)); err != nil {
		return err
	}
	b := buf.Bytes()
	if res.StatusCode/100 != 2 {
		var eb api.ErrorBody
		json.Unmarshal(b, &eb)
		return &httpError{status: res.StatusCode, code: eb.Error.Code}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: answer is not the JSON expected: %w", method, u, err)
		}
	}
	return nil
}

// bodyBufs holds the buffers call reads answers into (json.Unmarshal keeps
// nothing of its input).
var bodyBufs = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 1024)) }}

// The headers every call sends, in their canonical form, set without
// http.Header.Set's canonicalization and copies. Nothing changes them.
var (
	userAgent       = []string{"qrlogin-load"}
	contentTypeJSON = []string{"application/json"}
	headerDeviceID  = http.CanonicalHeaderKey(api.HeaderDeviceID)
)

func setHeaders(h http.Header, c creds) {
	h["User-Agent"] = userAgent
	if c.bearer != "" {
		h["Authorization"] = []string{"Bearer " + c.bearer}
	}
	if c.deviceID != "" {
		h[headerDeviceID] = []string{c.deviceID}
	}
}

// dialWS opens a WebSocket at u (http or https) with c in the handshake's
// headers. A refused upgrade is an *httpError.
func dialWS(ctx context.Context, hc *http.Client, u string, c creds) (*websocket.Conn, error) {
	h := http.Header{}
	setHeaders(h, c)
	conn, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, &httpError{status: res.StatusCode}
		}
		return nil, err
	}
	return conn, nil
}
