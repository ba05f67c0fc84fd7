package server

import (
	"errors"
	"fmt"
	"time"
)

// Code is a protocol error code. Each has one HTTP status (the table is in
// server/api); the Go client maps statuses back, so callers test codes,
// never message strings.
type Code string

// The protocol's error codes (docs/protocol.md, "Conventions").
const (
	CodeInvalid      Code = "invalid_request"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeExpired      Code = "expired"
	CodeRateLimited  Code = "rate_limited"
	CodeInternal     Code = "internal"
	// CodeUnsupportedMedia: a body that is not application/json where JSON
	// is required (415), so that a cross-site form cannot post one.
	CodeUnsupportedMedia Code = "unsupported_media_type"
	// CodeMisdirected: a request for a host the server is not known by
	// (421), such as a DNS-rebound name.
	CodeMisdirected Code = "misdirected_request"
)

// Codes lists every error code of the protocol.
var Codes = []Code{CodeInvalid, CodeUnauthorized, CodeForbidden, CodeNotFound, CodeConflict, CodeExpired,
	CodeRateLimited, CodeInternal, CodeUnsupportedMedia, CodeMisdirected}

// Error is an error with a protocol code and a message meant for a person.
// RetryAfter is set on rate_limited errors.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration
}

// Sentinels for errors.Is: an error matches a sentinel when the codes match.
var (
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrExpired      = &Error{Code: CodeExpired}
	ErrRateLimited  = &Error{Code: CodeRateLimited}
	ErrInternal     = &Error{Code: CodeInternal}
)

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal for any other non-nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic sentence for any other error: internals never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal && e.Message != "" {
		return e.Message
	}
	if e != nil && e.Code != CodeInternal {
		return string(e.Code)
	}
	return "the server could not complete the request"
}
