// Package web renders the pages that the login server serves to browsers:
// the open platform's authorization page (a third-party site's "log in by
// scanning", /oauth/authorize) and its error page, the product's own login
// page (/login), and the device grant's verification page (/device). The
// pages reuse the desktop app's screens and styles: their script and
// stylesheet are built from frontend/ (npm run build:web) into static/,
// which is committed and embedded here, so that the server builds without
// npm; a test fails when static/ lags its sources.
//
// Every page function writes the page's own security headers, CSP first:
// a page's script comes only from /static/, talks only to its own origin,
// and can be framed by no one.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/qrlogin/qrlogin/server/oauth/provider"
)

// CSP is the Content-Security-Policy of every page of this package. The
// pages load their script and stylesheet from /static/ (no inline script or
// style), fetch and open WebSockets to their own origin only (connect-src
// 'self' covers ws: and wss: of the same host), show images (the QR code,
// avatars) from their own origin, submit no form, and are never framed
// (clickjacking a "confirm on your phone" page is what frame-ancestors
// 'none' rules out).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// StaticPrefix is the path under which Static serves the pages' assets.
const StaticPrefix = "/static/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// AuthorizePage is what the authorization page shows: the app that asks,
// and the ticket whose QR code logs the person in to it.
type AuthorizePage struct {
	// AppName is the registered name of the client app.
	AppName string
	// Ref, PollSecret, QRPayload, MatchCode and ExpiresAt are the ticket's,
	// as ticket creation returns them. The poll secret goes only in the
	// page's JSON block (never in a URL), from which the script takes it.
	Ref        string
	PollSecret string
	QRPayload  string
	MatchCode  string
	ExpiresAt  time.Time
	// Scopes are the scopes asked for ("openid", "profile", ...).
	Scopes []string
	// RedirectHost is the host the browser goes back to.
	RedirectHost string
}

// Authorize writes the authorization page of p with status 200.
func Authorize(w http.ResponseWriter, p AuthorizePage) {
	render(w, http.StatusOK, "authorize.html", page{
		Title:  "Log in to " + p.AppName + " · qrlogin",
		Page:   "authorize",
		Script: true,
		Body: authorizeBody{
			AppName:      p.AppName,
			Initial:      initial(p.AppName),
			Scopes:       scopeLines(p.Scopes),
			RedirectHost: p.RedirectHost,
			Ticket: authorizeData{
				AppName: p.AppName, Ref: p.Ref, PollSecret: p.PollSecret, QRPayload: p.QRPayload,
				ExpiresAt: p.ExpiresAt.UTC().Format(time.RFC3339), MatchCode: p.MatchCode,
			},
		},
	})
}

// AuthorizeError writes the page of an authorization request that cannot
// go on and must not go back to the app (an unknown client, a redirect URI
// that is not registered): msg, for a person, says why. status is the
// HTTP status, 400 if 0.
func AuthorizeError(w http.ResponseWriter, status int, msg string) {
	if status == 0 {
		status = http.StatusBadRequest
	}
	render(w, status, "error.html", page{Title: "This login link doesn't work · qrlogin", Page: "error", Body: msg})
}

// Login writes the product's own login page, whose script asks for a
// ticket, shows its QR code and signs the browser in.
func Login(w http.ResponseWriter) {
	render(w, http.StatusOK, "login.html", page{Title: "Log in · qrlogin", Page: "login", Script: true})
}

// Device writes the device grant's verification page (verification_uri,
// and verification_uri_complete where a camera app opens it): a form for
// the code that the device shows, whose script (frontend/src/web/device.ts)
// checks the code's form, takes ?user_code= as if typed, and says how to
// approve it on the phone, by scanning the device's QR code or typing the
// code in the app. The page approves nothing and asks the server nothing:
// only a logged-in phone can look a code up, within its account's budget
// of wrong codes.
func Device(w http.ResponseWriter) {
	render(w, http.StatusOK, "device.html", page{Title: "Log in a device · qrlogin", Page: "device", Script: true})
}

// Static returns the handler of the pages' assets, for GET /static/: the
// built script and stylesheet and the icon. A request that names the
// current version (?v=, as the pages do) may be cached for good.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, StaticPrefix)
		a, ok := assets[name]
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
	})
}

// Pages is this package's pages as the HTTP handler takes them
// (httpapi.Config.Pages): each method calls the function of its name.
type Pages struct{}

// Authorize writes the authorization page of p's app and ticket.
func (Pages) Authorize(w http.ResponseWriter, p provider.Page) {
	Authorize(w, AuthorizePage{
		AppName: p.App.Name, Ref: p.Ticket.Ref, PollSecret: p.Ticket.PollSecret, QRPayload: p.Ticket.QRPayload,
		MatchCode: p.Ticket.MatchCode, ExpiresAt: p.Ticket.ExpiresAt, Scopes: p.App.Scopes, RedirectHost: p.App.RedirectHost,
	})
}

// AuthorizeError is the function AuthorizeError.
func (Pages) AuthorizeError(w http.ResponseWriter, status int, msg string) {
	AuthorizeError(w, status, msg)
}

// Login is the function Login.
func (Pages) Login(w http.ResponseWriter) { Login(w) }

// Device is the function Device.
func (Pages) Device(w http.ResponseWriter) { Device(w) }

// Static is the function Static.
func (Pages) Static() http.Handler { return Static() }

// asset is a file that Static serves.
type asset struct {
	data        []byte
	contentType string
}

// servedTypes are the files of static/ that Static serves, by extension;
// sources.txt (the build's record of its inputs) is not one of them.
var servedTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

var (
	assets  = loadAssets()
	version = assetsVersion(assets)
	pages   = parsePages()
)

func loadAssets() map[string]asset {
	m := map[string]asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		ct, ok := servedTypes[path.Ext(e.Name())]
		if !ok || e.IsDir() {
			continue
		}
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		m[e.Name()] = asset{data: b, contentType: ct}
	}
	for _, need := range []string{"web.js", "web.css"} {
		if _, ok := m[need]; !ok {
			panic("web: static/" + need + " is missing: run `npm run build:web` in frontend/")
		}
	}
	return m
}

// assetsVersion is a digest of every asset, put in the pages' asset URLs
// so that a new build is never hidden by a cached old one.
func assetsVersion(m map[string]asset) string {
	h := sha256.New()
	for _, name := range []string{"web.js", "web.css", "favicon.svg"} {
		h.Write([]byte(name))
		h.Write(m[name].data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// page is what the layout template needs; Body is the page's own data.
type page struct {
	Title   string
	Page    string // the <body>'s data-page: which script part runs
	Script  bool
	Version string
	Body    any
}

type authorizeBody struct {
	AppName      string
	Initial      string
	Scopes       []string
	RedirectHost string
	Ticket       authorizeData
}

// authorizeData is the authorization page's JSON block, read by
// frontend/src/web/authorize.ts (AuthorizeData).
type authorizeData struct {
	AppName    string `json:"app_name"`
	Ref        string `json:"ref"`
	PollSecret string `json:"poll_secret"`
	QRPayload  string `json:"qr_payload"`
	ExpiresAt  string `json:"expires_at"`
	MatchCode  string `json:"match_code"`
}

func parsePages() map[string]*template.Template {
	layout := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range []string{"authorize.html", "error.html", "login.html", "device.html"} {
		m[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name))
	}
	return m
}

// render writes the page name with its headers. The templates are
// executed into a buffer first, so that a failure sends a 500, not half a
// page.
func render(w http.ResponseWriter, status int, name string, p page) {
	p.Version = version
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store") // the authorization page holds a secret
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// initial is the first letter of name, in capitals, for the app's badge.
func initial(name string) string {
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(name))
	if r == utf8.RuneError || !unicode.IsPrint(r) {
		return "?"
	}
	return string(unicode.ToUpper(r))
}

// scopeNames says what each known scope hands over, for a person.
var scopeNames = map[string]string{
	"openid":         "Your qrlogin account ID, to know you next time",
	"profile":        "Your name and profile picture",
	"offline_access": "Access while you are away, until you revoke it",
}

// scopeLines says in words what the scopes hand over, in order, once
// each; an unknown scope is shown by its name.
func scopeLines(scopes []string) []string {
	var lines []string
	seen := map[string]bool{}
	for _, s := range scopes {
		line, ok := scopeNames[s]
		if !ok {
			line = s
		}
		if s == "" || seen[line] {
			continue
		}
		seen[line] = true
		lines = append(lines, line)
	}
	return lines
}
