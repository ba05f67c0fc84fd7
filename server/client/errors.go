package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// ErrClosed is wrapped by the error of an event channel (Watch,
// WatchSession, Mobile.Events) that the server or the network closed before
// the event the call waits for.
var ErrClosed = errors.New("client: the event channel closed")

// ErrUnavailable is wrapped, beside a *server.Error with code internal, by
// the error of an answer 502, 503 or 504 that does not carry the protocol's
// error body: a gateway saying the server behind it is away, which is worth
// a retry.
var ErrUnavailable = errors.New("client: the server is unavailable")

// errorFromResponse returns the *server.Error of a failed answer: code and
// message from a protocol error body, else the code from the status; and
// RetryAfter from the Retry-After header of a rate_limited answer.
func errorFromResponse(status int, h http.Header, body []byte) *server.Error {
	e, ok := parseErrorBody(body)
	if !ok {
		code, known := api.CodeOf(status)
		if !known {
			code = server.CodeInternal
		}
		e = &server.Error{Code: code, Message: fmt.Sprintf("the server answered %d %s", status, http.StatusText(status))}
	}
	if e.Code == server.CodeRateLimited {
		e.RetryAfter = retryAfter(h.Get("Retry-After"), time.Now())
	}
	return e
}

// parseErrorBody reads a protocol error body {"error":{"code","message"}}.
// It reports false for any other body.
func parseErrorBody(body []byte) (*server.Error, bool) {
	var b api.ErrorBody
	if err := json.Unmarshal(body, &b); err != nil || b.Error.Code == "" {
		return nil, false
	}
	return &server.Error{Code: server.Code(b.Error.Code), Message: b.Error.Message}, true
}

// retryAfter parses a Retry-After value, in seconds or an HTTP date, as a
// duration from now; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
