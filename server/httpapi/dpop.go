package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/dpop"
)

// proofWindow is how far a DPoP proof's iat may be from the server's clock.
const proofWindow = time.Minute

// sessionToken returns the session token of r's Authorization header, in
// the Bearer or the DPoP scheme, and whether the scheme was DPoP.
func sessionToken(r *http.Request) (token string, dpopScheme bool) {
	a := r.Header.Get("Authorization")
	if len(a) > 5 && strings.EqualFold(a[:5], dpop.Scheme+" ") {
		return strings.TrimSpace(a[5:]), true
	}
	return bearer(r), false
}

// requestURL is the URL a client's DPoP proof names for r: https when the
// request came over TLS or the base URL is https (a TLS proxy in front),
// else http (ws and wss are named http and https), with the Host the
// client asked for and the path.
func (h *Handler) requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.HasPrefix(h.svc.Config().BaseURL, "https:") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// proofKey checks r's DPoP proof (one DPoP header, or proof when the
// socket sent it in its first message) for token (empty before the client
// has one) and returns the thumbprint of the key that signed it. The
// proof's htu may name the request's own URL or the path at any of the
// server's origins (base URL and aliases).
func (h *Handler) proofKey(r *http.Request, proof, token string) (string, error) {
	if vs := r.Header.Values(dpop.Header); proof == "" && len(vs) == 1 {
		proof = vs[0]
	} else if len(vs) > 1 {
		return "", server.Errorf(server.CodeInvalid, "more than one %s header", dpop.Header)
	}
	// The URL as this request reached the server, then as the client may
	// have named it: any of the server's own origins, with this path.
	jkt, err := h.dpop.Check(proof, r.Method, h.requestURL(r), token)
	for _, o := range h.selfOrigins {
		if !errors.Is(err, dpop.ErrURL) {
			break
		}
		jkt, err = h.dpop.Check(proof, r.Method, o+r.URL.EscapedPath(), token)
	}
	if err != nil {
		return "", server.Errorf(server.CodeInvalid, "%v", err)
	}
	return jkt, nil
}

// bound checks that a call with session s's token comes from the key the
// session is bound to, if any: a valid proof signed by that key (proof, or
// the DPoP header), sent with the DPoP scheme unless schemeOK says the
// call need not (a socket's first message has no scheme). It answers
// unauthorized otherwise, so a token copied without its key signs no one
// in.
func (h *Handler) bound(r *http.Request, s server.Session, token, proof string, schemeOK bool) error {
	if s.KeyThumbprint == "" {
		return nil
	}
	if !schemeOK {
		return server.Errorf(server.CodeUnauthorized, "this session is bound to a key: send it as Authorization: DPoP, with a DPoP proof")
	}
	jkt, err := h.proofKey(r, proof, token)
	if err != nil {
		return server.Errorf(server.CodeUnauthorized, "%s", server.ErrorMessage(err))
	}
	if jkt != s.KeyThumbprint {
		return server.Errorf(server.CodeUnauthorized, "the DPoP proof is signed by another key than the session's")
	}
	return nil
}
