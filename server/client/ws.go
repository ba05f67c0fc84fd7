package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// wsDial opens a WebSocket at cl.path with cl's credentials (see
// setHeaders; the proof is for GET on the http(s) URL) in the handshake's
// headers; a handshake whose proof was refused for its time is tried once
// more (see WithDPoP). When the server answers the handshake with another
// status than 101, err is that answer's *server.Error and protocol says
// whether its body was the protocol's error body (and not, say, a proxy's
// page); when nothing answered, err is the transport's error.
func (c *Client) wsDial(ctx context.Context, cl call) (conn *websocket.Conn, protocol bool, err error) {
	for try := 0; ; try++ {
		h := http.Header{}
		at, err := c.setHeaders(h, cl, http.MethodGet, c.base+cl.path)
		if err != nil {
			return nil, false, err
		}
		conn, resp, err := websocket.Dial(ctx, c.base+cl.path, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
		again := resp != nil && c.learnClock(resp, at)
		if err == nil {
			return conn, false, nil
		}
		if resp == nil || resp.StatusCode == http.StatusSwitchingProtocols || ctx.Err() != nil {
			return nil, false, err
		}
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(resp.Body) // coder/websocket buffered up to 1 KiB of it
		}
		if again && try == 0 {
			continue
		}
		_, protocol = parseErrorBody(body)
		return nil, protocol, errorFromResponse(resp.StatusCode, resp.Header, body)
	}
}

// dialEvents is wsDial for channels that have no fallback.
func (c *Client) dialEvents(ctx context.Context, cl call) (*websocket.Conn, error) {
	conn, _, err := c.wsDial(ctx, cl)
	return conn, err
}

// readEvents reads JSON messages of type T from conn and hands each to
// handle until handle reports true, when it closes conn normally and returns
// nil. Messages that are not JSON objects are skipped. It returns ctx.Err()
// when ctx ends and an error wrapping ErrClosed when the connection ends
// first. conn is closed on return.
func readEvents[T any](ctx context.Context, conn *websocket.Conn, handle func(T) bool) error {
	defer conn.CloseNow()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %w", ErrClosed, err)
		}
		var ev T
		if typ != websocket.MessageText || json.Unmarshal(data, &ev) != nil {
			continue
		}
		if handle(ev) {
			conn.Close(websocket.StatusNormalClosure, "")
			return nil
		}
	}
}
