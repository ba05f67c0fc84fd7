package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// maxBody is the largest request body accepted (docs/protocol.md: 64 KiB).
const maxBody = 64 << 10

// decode reads r's JSON body into v: at most maxBody bytes of valid UTF-8
// holding one JSON value whose fields have the right types, sent as
// application/json. Unknown fields are ignored. Any fault is an
// invalid_request error that says what is wrong (unsupported_media_type for
// another Content-Type).
func decode(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := jsonContent(r); err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// jsonContent checks that r's body is declared application/json. A browser
// sends a cross-site text/plain or form body without asking the server
// first (no CORS preflight); it cannot send application/json so.
func jsonContent(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return server.Errorf(server.CodeUnsupportedMedia, "the body must be sent as Content-Type: application/json")
	}
	return nil
}

// readBody reads at most maxBody bytes of r's body.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err == nil {
		bodyRead(r)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, server.Errorf(server.CodeInvalid, "the body is larger than %d KiB", maxBody>>10)
	}
	if err != nil {
		return nil, server.Errorf(server.CodeInvalid, "the body could not be read")
	}
	return body, nil
}

// bodyRead lifts the body's read deadline (set by ServeHTTP) once the
// whole body is read, so that it does not cut a handler that runs longer.
// After a failed read the deadline stays: the server would otherwise wait
// on the rest of a trickled body.
func bodyRead(r *http.Request) {
	if rc, ok := r.Context().Value(rcKey{}).(*http.ResponseController); ok {
		rc.SetReadDeadline(time.Time{})
	}
}

// decodeOptional is decode for a call whose fields are all optional: an
// empty body is taken as {}.
func decodeOptional(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := jsonContent(r); err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// decodeBytes is decode's parsing half, shared with the fuzz tests.
func decodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return server.Errorf(server.CodeInvalid, "a JSON body is required")
	}
	if !utf8.Valid(body) {
		return server.Errorf(server.CodeInvalid, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return server.Errorf(server.CodeInvalid, "field %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
		}
		return server.Errorf(server.CodeInvalid, "the body is not valid JSON for this call")
	}
	if _, err := dec.Token(); err != io.EOF {
		return server.Errorf(server.CodeInvalid, "the body holds more than one JSON value")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "ptr":
		return "value of another type"
	}
	return "number"
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// writeError answers with err's status and the protocol's error body.
// Errors without a code are internal: they are logged, and the client gets
// a generic message. It charges no budget: the callers that check
// credentials do (Handler.checked).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := server.ErrorCode(err)
	if code == server.CodeInternal {
		h.log.Error("request failed", "route", r.Pattern, "err", err)
	}
	var e *server.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, api.StatusOf(code), api.ErrorBody{Error: api.Error{Code: string(code), Message: server.ErrorMessage(err)}})
}
