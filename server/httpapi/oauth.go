package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
)

// Pages renders the HTML pages of the open platform and of the product's
// browser login (package web). Each sets its own Content-Security-Policy.
type Pages interface {
	Authorize(w http.ResponseWriter, p provider.Page)
	AuthorizeError(w http.ResponseWriter, status int, message string)
	Login(w http.ResponseWriter)
	Device(w http.ResponseWriter)
	Static() http.Handler
}

// oauthRoutes adds the open platform's endpoints, and its pages when there
// are some.
// discovery serves the OpenID Provider metadata, cacheable by anyone.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "public, max-age=300")
	hdr.Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, h.cfg.OAuth.Discovery())
}

// jwks serves the signing keys, cacheable by anyone.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, h.cfg.OAuth.JWKS())
}

// wantsJSON reports whether the client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// AuthorizeJSON is the authorization endpoint's answer to a client that asks
// for JSON (a native app or a single-page app that draws its own QR page).
type AuthorizeJSON struct {
	App    api.App                  `json:"app"`
	Ticket api.CreateTicketResponse `json:"ticket"`
}

// authorize serves GET /oauth/authorize: the QR page of an app's login.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	if err := h.limits.ticketBudgets(clientIP(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	page, err := h.cfg.OAuth.Authorize(r.Context(), provider.AuthorizeParams{
		ResponseType: q.Get("response_type"), ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		Scope: q.Get("scope"), State: q.Get("state"), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
	}, server.Desktop{Name: "Web browser", OS: browserOS(r.UserAgent()), IP: clientIP(r), UserAgent: r.UserAgent()})
	var redirect *provider.RedirectError
	var oe *provider.Error
	switch {
	case errors.As(err, &redirect):
		if wantsJSON(r) {
			writeJSON(w, http.StatusOK, map[string]string{"redirect": redirect.URL})
			return
		}
		http.Redirect(w, r, redirect.URL, http.StatusFound)
	case errors.As(err, &oe):
		if wantsJSON(r) || h.cfg.Pages == nil {
			writeOAuthError(w, oe)
			return
		}
		h.cfg.Pages.AuthorizeError(w, oauthStatus(oe.Code), oe.Description)
	case err != nil:
		h.writeError(w, r, err)
	case wantsJSON(r) || h.cfg.Pages == nil:
		writeJSON(w, http.StatusOK, AuthorizeJSON{App: page.App, Ticket: page.Ticket})
	default:
		h.cfg.Pages.Authorize(w, page)
	}
}

// browserOS names the operating system in a user agent, or "".
func browserOS(ua string) string {
	for _, os := range []struct{ key, name string }{
		{"Windows", "Windows"}, {"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, os.key) {
			return os.name
		}
	}
	return ""
}

// completeAuthorize serves POST /oauth/authorize/complete: the page, holding
// the ticket's poll secret, asks where to send the browser.
func (h *Handler) completeAuthorize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ref string `json:"ref"`
	}
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	var to string
	err := h.checked(r, "", func() (err error) {
		to, err = h.cfg.OAuth.Complete(r.Context(), req.Ref, bearer(r))
		return err
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
}

// form parses a form body of at most maxBody bytes.
func form(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return nil, &provider.Error{Code: provider.InvalidRequest, Description: "the body is not a valid form"}
	}
	bodyRead(r)
	return r.PostForm, nil
}

// credentials returns the client's credentials: HTTP Basic (whose parts are
// form-encoded, RFC 6749 2.3.1) or the form's.
func credentials(r *http.Request, f url.Values) (provider.ClientCredentials, error) {
	if id, secret, ok := r.BasicAuth(); ok {
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || f.Get("client_secret") != "" {
			return provider.ClientCredentials{}, &provider.Error{Code: provider.InvalidRequest, Description: "malformed client credentials"}
		}
		return provider.ClientCredentials{ID: uid, Secret: usecret, Basic: true}, nil
	}
	return provider.ClientCredentials{ID: f.Get("client_id"), Secret: f.Get("client_secret")}, nil
}

// clientRequest reads a client's request: the form and the client's
// credentials. It returns false if it answered.
func (h *Handler) clientRequest(w http.ResponseWriter, r *http.Request) (url.Values, provider.ClientCredentials, bool) {
	f, err := form(r)
	if err != nil {
		h.writeOAuth(w, r, nil, err)
		return nil, provider.ClientCredentials{}, false
	}
	cc, err := credentials(r, f)
	if err != nil {
		h.writeOAuth(w, r, nil, err)
		return nil, provider.ClientCredentials{}, false
	}
	return f, cc, true
}

// token serves POST /oauth/token.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	f, cc, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	var resp any
	err := h.checkedOAuth(r, func() (err error) {
		resp, err = h.cfg.OAuth.Token(r.Context(), f, cc)
		return err
	}, provider.InvalidClient, provider.InvalidGrant)
	h.writeOAuth(w, r, resp, err)
}

// deviceCode serves POST /oauth/device/code.
func (h *Handler) deviceCode(w http.ResponseWriter, r *http.Request) {
	f, cc, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	if err := h.limits.ticketBudgets(clientIP(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	var resp any
	err := h.checkedOAuth(r, func() (err error) {
		resp, err = h.cfg.OAuth.DeviceAuthorize(r.Context(), cc, f.Get("scope"), server.Desktop{IP: clientIP(r), UserAgent: r.UserAgent(), OS: browserOS(r.UserAgent())})
		return err
	}, provider.InvalidClient)
	h.writeOAuth(w, r, resp, err)
}

// userInfo serves the userinfo endpoint (Bearer access token).
func (h *Handler) userInfo(w http.ResponseWriter, r *http.Request) {
	var claims any
	err := h.checkedOAuth(r, func() (err error) {
		claims, err = h.cfg.OAuth.UserInfo(r.Context(), bearer(r))
		return err
	}, provider.InvalidToken)
	var oe *provider.Error
	if errors.As(err, &oe) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	h.writeOAuth(w, r, claims, err)
}

// writeOAuth answers an OAuth endpoint: v as JSON, or the error in RFC
// 6749's shape ({"error", "error_description"}); a fault of the server's is
// server_error with nothing about internals.
func (h *Handler) writeOAuth(w http.ResponseWriter, r *http.Request, v any, err error) {
	w.Header().Set("Pragma", "no-cache")
	var oe *provider.Error
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.As(err, &oe):
		if oe.Code == provider.InvalidClient {
			w.Header().Set("WWW-Authenticate", `Basic realm="qrlogin"`)
		}
		writeOAuthError(w, oe)
	case server.ErrorCode(err) == server.CodeRateLimited:
		h.writeError(w, r, err)
	default:
		if code := server.ErrorCode(err); code == server.CodeInternal {
			h.log.Error("oauth request failed", "route", r.Pattern, "err", err)
		}
		writeOAuthError(w, &provider.Error{Code: provider.ServerError, Description: server.ErrorMessage(err)})
	}
}

// checkedOAuth is Handler.checked for the OAuth endpoints: call, which
// checks a client's or a token's credentials, runs with one failure
// reserved from the address's guessing budget, kept if it fails with one
// of the OAuth error codes given (a wrong secret, code or token).
func (h *Handler) checkedOAuth(r *http.Request, call func() error, failures ...provider.ErrorCode) error {
	c, err := h.limits.reserveFailure(r.Context(), clientIP(r), "")
	if err != nil {
		return err
	}
	failed := true // a panic in call counts, and still settles
	defer func() { c.settle(failed) }()
	err = call()
	var oe *provider.Error
	failed = errors.As(err, &oe) && slices.Contains(failures, oe.Code)
	return err
}

// oauthStatuses is the one table of the OAuth errors' HTTP statuses: 401
// for wrong credentials (RFC 6749 section 5.2, RFC 6750 section 3.1), 500
// for the server's own faults; every other code is 400.
var oauthStatuses = map[provider.ErrorCode]int{
	provider.InvalidClient: http.StatusUnauthorized,
	provider.InvalidToken:  http.StatusUnauthorized,
	provider.ServerError:   http.StatusInternalServerError,
}

// oauthStatus returns the HTTP status of OAuth error code c.
func oauthStatus(c provider.ErrorCode) int {
	if s, ok := oauthStatuses[c]; ok {
		return s
	}
	return http.StatusBadRequest
}

// writeOAuthError answers with e in RFC 6749's shape and its status.
func writeOAuthError(w http.ResponseWriter, e *provider.Error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(oauthStatus(e.Code))
	json.NewEncoder(w).Encode(map[string]string{"error": string(e.Code), "error_description": e.Description})
}
