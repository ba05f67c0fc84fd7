package provider

import "fmt"

// ErrorCode is an OAuth 2.0 error code (RFC 6749 sections 4.1.2.1 and 5.2,
// RFC 6750 section 3.1, RFC 8628 section 3.5). The HTTP layer gives each
// its status; the protocol logic here names codes only.
type ErrorCode string

// The OAuth error codes the provider answers with.
const (
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client" // a client's credentials are wrong
	InvalidGrant            ErrorCode = "invalid_grant"  // a code or refresh token is not valid
	UnauthorizedClient      ErrorCode = "unauthorized_client"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	AccessDenied            ErrorCode = "access_denied"
	AuthorizationPending    ErrorCode = "authorization_pending"
	SlowDown                ErrorCode = "slow_down"
	ExpiredToken            ErrorCode = "expired_token"
	InvalidToken            ErrorCode = "invalid_token" // an access token is not valid
	ServerError             ErrorCode = "server_error"
)

// Error is an OAuth 2.0 error: {"error": Code, "error_description":
// Description}.
type Error struct {
	Code        ErrorCode
	Description string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Description }

func oerr(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *Error {
	return oerr(InvalidRequest, format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return oerr(InvalidGrant, format, args...)
}

func invalidClient(format string, args ...any) *Error {
	return oerr(InvalidClient, format, args...)
}

// RedirectError is an authorization error that goes back to the client's
// (already checked) redirect URI, as RFC 6749 section 4.1.2.1 says.
type RedirectError struct {
	URL string
	Err *Error
}

func (e *RedirectError) Error() string { return e.Err.Error() }
