package provider

import (
	"fmt"
	"net/http"
)

// Error is an OAuth 2.0 error (RFC 6749 section 5.2, RFC 8628 section 3.5):
// {"error": Code, "error_description": Description} with Status.
type Error struct {
	Code        string
	Description string
	Status      int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oerr(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

func invalidRequest(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_grant", format, args...)
}

func invalidClient(format string, args ...any) *Error {
	return oerr(http.StatusUnauthorized, "invalid_client", format, args...)
}

// RedirectError is an authorization error that goes back to the client's
// (already checked) redirect URI, as RFC 6749 section 4.1.2.1 says.
type RedirectError struct {
	URL string
	Err *Error
}

func (e *RedirectError) Error() string { return e.Err.Error() }
