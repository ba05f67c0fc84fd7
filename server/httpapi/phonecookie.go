package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

// The phone web app's credential (served at /m/): its device token and
// device id live in HttpOnly cookies that no page script can read,
// SameSite=Strict so that no other site's page sends them, scoped to the
// mobile API's path, and Secure when the server is reached over TLS. A
// phone app that sets Authorization never uses them.
const (
	cookieToken  = "qrlogin_phone"
	cookieDevice = "qrlogin_device"
	cookiePath   = "/api/v1/mobile"
)

// phoneCredential returns the phone's device token and device id: those of
// the Authorization and X-Device-Id headers, or else those of the cookies,
// if the request may use them (cookieUsable).
func (h *Handler) phoneCredential(r *http.Request) (token, deviceID string) {
	if tok := bearer(r); tok != "" {
		return tok, r.Header.Get(api.HeaderDeviceID)
	}
	if !h.cookieUsable(r) {
		return "", ""
	}
	t, err1 := r.Cookie(cookieToken)
	d, err2 := r.Cookie(cookieDevice)
	if err1 != nil || err2 != nil {
		return "", ""
	}
	return t.Value, d.Value
}

// cookieUsable reports whether r may authenticate with the cookies: not a
// cross-site request by the browser's own word (Sec-Fetch-Site), and, for
// anything but a plain read, from a page of an allowed origin that says so
// (Origin): a state change or a WebSocket needs both. SameSite=Strict
// already keeps the cookies off other sites' requests; this holds for
// browsers that ignore it, and against a sibling subdomain's page.
func (h *Handler) cookieUsable(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	read := (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	return read || r.Header.Get("Origin") != "" && h.originAllowed(r)
}

// setPhoneCookies gives the browser the phone's credential as cookies (see
// above); maxAge < 0 deletes them.
func (h *Handler) setPhoneCookies(w http.ResponseWriter, r *http.Request, token, deviceID string, maxAge int) {
	secure := r.TLS != nil || strings.HasPrefix(h.svc.Config().BaseURL, "https://")
	for name, value := range map[string]string{cookieToken: token, cookieDevice: deviceID} {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
		})
	}
}

// phoneCookieLife is how long the browser keeps the cookies: as long as a
// device token may live without use, which the server decides anyway.
const phoneCookieLife = 400 * 24 * time.Hour // browsers cap cookies at 400 days
