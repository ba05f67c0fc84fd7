package api

import (
	"net/http"

	"github.com/qrlogin/qrlogin/server"
)

// statuses is the one table of the protocol's error codes and the HTTP
// status each is answered with. The server answers with StatusOf; the Go
// client reads a status back as a code with CodeOf when an answer carries no
// error body (a proxy's page, say).
var statuses = map[server.Code]int{
	server.CodeInvalid:          http.StatusBadRequest,
	server.CodeUnauthorized:     http.StatusUnauthorized,
	server.CodeForbidden:        http.StatusForbidden,
	server.CodeNotFound:         http.StatusNotFound,
	server.CodeConflict:         http.StatusConflict,
	server.CodeExpired:          http.StatusGone,
	server.CodeRateLimited:      http.StatusTooManyRequests,
	server.CodeInternal:         http.StatusInternalServerError,
	server.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	server.CodeMisdirected:      http.StatusMisdirectedRequest,
}

// codes is statuses inverted; every status has one code.
var codes = func() map[int]server.Code {
	m := make(map[int]server.Code, len(statuses))
	for c, s := range statuses {
		m[s] = c
	}
	return m
}()

// StatusOf returns the HTTP status of an answer with error code c: 500 for
// a code the protocol does not define.
func StatusOf(c server.Code) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeOf returns the error code that the server answers with status, and
// false for a status that no code has (a gateway's 502, say).
func CodeOf(status int) (server.Code, bool) {
	c, ok := codes[status]
	return c, ok
}
