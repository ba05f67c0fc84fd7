package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

func TestErrorFromResponse(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		code       server.Code
		message    string
		retryAfter time.Duration
	}{
		{"protocol body wins over status", 410, nil, `{"error":{"code":"expired","message":"this QR code has expired"}}`, server.CodeExpired, "this QR code has expired", 0},
		{"protocol code unknown to this client is kept", 400, nil, `{"error":{"code":"invalid_grant","message":"m"}}`, "invalid_grant", "m", 0},
		{"400 plain", 400, nil, "bad", server.CodeInvalid, "the server answered 400 Bad Request", 0},
		{"401 plain", 401, nil, "", server.CodeUnauthorized, "the server answered 401 Unauthorized", 0},
		{"403 html", 403, nil, "<html>no</html>", server.CodeForbidden, "the server answered 403 Forbidden", 0},
		{"404 empty error object", 404, nil, `{"error":{}}`, server.CodeNotFound, "the server answered 404 Not Found", 0},
		{"409", 409, nil, "", server.CodeConflict, "the server answered 409 Conflict", 0},
		{"410", 410, nil, "", server.CodeExpired, "the server answered 410 Gone", 0},
		{"429 seconds", 429, http.Header{"Retry-After": {"7"}}, "", server.CodeRateLimited, "the server answered 429 Too Many Requests", 7 * time.Second},
		{"429 protocol body and date", 429, http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, `{"error":{"code":"rate_limited","message":"slow down"}}`, server.CodeRateLimited, "slow down", 89 * time.Second},
		{"429 unreadable Retry-After", 429, http.Header{"Retry-After": {"soon"}}, "", server.CodeRateLimited, "the server answered 429 Too Many Requests", 0},
		{"502 from a proxy", 502, nil, "<html>bad gateway</html>", server.CodeInternal, "the server answered 502 Bad Gateway", 0},
		{"413", 413, nil, "", server.CodeInternal, "the server answered 413 Request Entity Too Large", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			e := errorFromResponse(tt.status, h, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.message {
				t.Errorf("got (%q, %q), want (%q, %q)", e.Code, e.Message, tt.code, tt.message)
			}
			// An HTTP date has one-second resolution, and the clock moved
			// between building the header and reading it: allow for both.
			if d := e.RetryAfter - tt.retryAfter; d < -time.Second || d > 2*time.Second {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
		})
	}
}

func TestCallErrorsAreServerErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"error":{"code":"expired","message":"this QR code has expired"}}`)
	}))
	defer srv.Close()
	_, err := New(srv.URL).Mobile("tok", "dev").Scan(context.Background(), "x")
	if !errors.Is(err, server.ErrExpired) {
		t.Fatalf("Scan error = %v, want expired", err)
	}
	var se *server.Error
	if !errors.As(err, &se) || se.Message != "this QR code has expired" {
		t.Fatalf("Scan error = %#v, want the body's message", err)
	}
}

func TestMalformedSuccessBodyIsInternal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user": 12`)
	}))
	defer srv.Close()
	_, err := New(srv.URL).Me(context.Background(), "tok")
	if !errors.Is(err, server.ErrInternal) {
		t.Fatalf("Me error = %v, want internal", err)
	}
}

// A caller must tell "server unreachable" from a refusal.
func TestUnreachableIsNotServerError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := New(url)
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["Register"] = c.Register(ctx, api.RegisterRequest{Username: "a"})
	_, errs["CreateTicket"] = c.CreateTicket(ctx, api.DesktopDevice{})
	errs["Watch"] = c.Watch(ctx, "ref", "secret", func(api.TicketEvent) {})
	errs["WatchSession"] = c.WatchSession(ctx, "tok", func(api.SessionEvent) {})
	for name, err := range errs {
		var se *server.Error
		if err == nil || errors.As(err, &se) {
			t.Errorf("%s against a closed port: error %v, want a transport error", name, err)
		}
	}
}
