// Package httpapi serves the scan-to-log-in protocol (docs/protocol.md)
// over HTTP and WebSockets, on a service.Service.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/metrics"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
	"github.com/qrlogin/qrlogin/server/service"
)

// Config configures a Handler.
type Config struct {
	// AllowedOrigins are the browser origins (like "https://app.example")
	// allowed to open WebSockets besides the server's own; an entry may hold
	// "*" wildcards ("https://*.example").
	AllowedOrigins []string
	// HSTS sends Strict-Transport-Security: set it when served over TLS.
	HSTS bool
	// Limits are the rate limits; NoLimits turns them off (load tests only).
	Limits   Limits
	NoLimits bool
	// PingEvery is how often idle WebSockets are pinged (30 s); a peer that
	// does not answer within PingEvery/2 is dropped. Where a connection
	// takes TCP_USER_TIMEOUT (Linux), it is set to PingEvery/2, so that
	// what the server writes and the peer does not acknowledge in that time
	// ends the socket: then a socket is pinged only once nothing was written
	// to it for PingEvery (a waiting ticket's rotations spare its pings).
	// Either way a peer that dies is dropped within 1.5 PingEvery, and the
	// client hears from the server at least every PingEvery. A socket
	// behind a trusted proxy (whose acknowledgements say nothing of the
	// client), or whose connection could not take the option, is pinged
	// each PingEvery.
	PingEvery time.Duration
	// LongPollHold is the longest a long-poll is held unchanged (25 s).
	LongPollHold time.Duration
	// AuthTimeout is how long a WebSocket may take to send its auth
	// message when it has no Authorization header (5 s).
	AuthTimeout time.Duration
	// BodyTimeout is how long a client may take to send a request's body
	// (10 s): a body trickled slower than that ends the connection.
	BodyTimeout time.Duration
	Logger      *slog.Logger
	Metrics     *metrics.Metrics
	// PublicMetrics serves GET /metrics with the rest. Off by default:
	// metrics belong on a private listener (node.Config.MetricsAddr).
	PublicMetrics bool
	// TrustedProxies are the load balancers whose X-Forwarded-For names the
	// client: from them, the client's address is the rightmost one in that
	// header that is not itself a trusted proxy. From anywhere else the
	// header is ignored.
	TrustedProxies []netip.Prefix
	// OAuth is the open platform; nil turns its endpoints off.
	OAuth *provider.Provider
	// Pages renders the HTML pages (the QR page of an app's login, the
	// product's browser login); nil serves the authorization endpoint as JSON
	// only.
	Pages Pages
	// Phone is the phone web app, served at /m/ (package phone); nil turns
	// it off, and a QR code's link then opens a page that says to scan with
	// the app.
	Phone http.Handler
}

// PathPhone is where the phone web app is served.
const PathPhone = "/m/"

// Handler is the server's HTTP handler.
type Handler struct {
	cfg     Config
	svc     *service.Service
	log     *slog.Logger
	limits  *limiters
	metrics *metrics.Metrics
	origins []string        // lower-case origins allowed for WebSockets and API calls from browsers: the base URL's, the aliases', AllowedOrigins
	hosts   map[string]bool // lower-case Host values the server is known by (base URL and aliases)
	mux     *http.ServeMux
	images  *lru.Cache[imageKey, []byte] // QR drawings (qr)
	dpop    *dpop.Checker                // DPoP proofs of desktops (dpop.go)
	// selfOrigins are the base URL's and the aliases' origins: a proof may
	// name any of them (a balancer may send its own Host).
	selfOrigins []string
	// xffWarned is set once X-Forwarded-For from an untrusted peer was
	// logged.
	xffWarned atomic.Bool
	sockets   sync.WaitGroup // WebSockets open, from newSocket until they end (hijacked: http.Server.Shutdown does not wait for them)
}

// New returns the handler of svc's protocol.
func New(svc *service.Service, cfg Config) *Handler {
	if cfg.PingEvery == 0 {
		cfg.PingEvery = 30 * time.Second
	}
	if cfg.LongPollHold == 0 {
		cfg.LongPollHold = 25 * time.Second
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = 5 * time.Second
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(svc.Store())
	}
	h := &Handler{
		cfg: cfg, svc: svc, log: cfg.Logger, metrics: cfg.Metrics,
		limits: newLimiters(cfg.Limits, cfg.NoLimits, svc.Config().RotateMax),
		mux:    http.NewServeMux(),
		hosts:  map[string]bool{},
		dpop:   dpop.NewChecker(proofWindow, svc.Config().Now),
	}
	h.images, _ = lru.New[imageKey, []byte](imageCacheSize) // errors only on a size <= 0
	for _, base := range append([]string{svc.Config().BaseURL}, svc.Config().Aliases...) {
		u, err := url.Parse(base)
		if err != nil {
			continue // service.New checked them
		}
		h.origins = append(h.origins, normalOrigin(u))
		h.selfOrigins = append(h.selfOrigins, normalOrigin(u))
		for _, host := range hostForms(u) {
			h.hosts[host] = true
		}
	}
	for _, o := range cfg.AllowedOrigins {
		o = strings.ToLower(strings.TrimRight(o, "/"))
		if u, err := url.Parse(o); err == nil && !strings.Contains(o, "*") {
			o = normalOrigin(u)
		}
		h.origins = append(h.origins, o)
	}
	h.routes()
	return h
}

// routes registers every route with the per-address classes of calls it
// spends (limits.go), taken before the handler runs, in the order given.
// The budgets that depend on what a request says (the guessing budget, an
// account's, a credential's, the ticket budgets) are spent by the handlers
// and by the wrappers mobile, desktop and session.
func (h *Handler) routes() {
	route := func(pattern string, hf http.HandlerFunc, classes ...string) {
		h.mux.HandleFunc(pattern, h.limited(hf, classes...))
	}
	// A WebSocket's upgrade is checked first, so that a plain GET or a
	// foreign origin is told so (400, 403) without spending the class.
	socket := func(pattern string, hf http.HandlerFunc, class string) {
		h.mux.HandleFunc(pattern, h.upgradeChecked(h.limited(hf, class)))
	}
	route("GET "+api.PathHealth, h.health)
	if h.cfg.PublicMetrics {
		route("GET "+api.PathMetrics, h.metrics.Handler().ServeHTTP)
	}

	route("POST "+api.PathAccounts, h.register, classRegister)
	route("POST "+api.PathMobileLogin, h.mobileLogin, classLogin)
	route("POST "+api.PathMobileLogout, h.mobile(h.mobileLogout), classAccount)
	route("GET "+api.PathMobileSessions, h.mobile(h.listSessions), classAccount)
	route("DELETE "+api.PathMobileSessions+"/{id}", h.mobile(h.revokeSession), classAccount)
	route("GET "+api.PathMobileAccount, h.mobile(h.account), classAccount)
	route("GET "+api.PathMobileGrants, h.mobile(h.listGrants), classAccount)
	route("DELETE "+api.PathMobileGrants+"/{id}", h.mobile(h.revokeGrant), classAccount)
	route("POST "+api.PathMobileScan, h.mobile(h.scan), classAccount, classScan)
	route("POST "+api.PathMobileConfirm, h.mobile(h.confirm), classAccount, classConfirm)
	route("GET "+api.PathMobileLoginRequests, h.mobile(h.loginRequests), classAccount)
	route("POST "+api.PathMobileLoginRequests+"/{id}", h.mobile(h.decideLoginRequest), classAccount, classConfirm)
	route("GET "+api.PathMobileDesktops, h.mobile(h.desktops), classAccount)
	route("DELETE "+api.PathMobileDesktops+"/{id}", h.mobile(h.removeDesktop), classAccount)
	socket("GET "+api.PathMobileEvents, h.mobileEvents, classWatch)

	route("POST "+api.PathTickets, h.createTicket, classCreate)
	socket("GET "+api.PathTickets+"/{ref}/events", h.ticketEvents, classWatch)
	route("GET "+api.PathTickets+"/{ref}/wait", h.desktop(h.wait), classWatch)
	route("POST "+api.PathTickets+"/{ref}/redeem", h.redeem, classRedeem)
	route("POST "+api.PathTickets+"/{ref}/cancel", h.desktop(h.cancel), classRedeem)

	route("GET "+api.PathDesktopKey, h.desktopKey, classAccount)
	route("POST "+api.PathDesktopLogin, h.desktopLogin, classCreate)
	route("GET "+api.PathMe, h.session(h.me), classAccount)
	route("POST "+api.PathLogout, h.session(h.logout), classAccount)
	socket("GET "+api.PathSessionEvents, h.sessionEvents, classWatch)

	if h.cfg.OAuth != nil {
		route("GET "+provider.PathDiscovery, h.discovery)
		route("GET "+provider.PathJWKS, h.jwks)
		route("GET "+provider.PathAuthorize, h.authorize, classCreate)
		route("POST "+provider.PathComplete, h.completeAuthorize, classRedeem)
		route("POST "+provider.PathToken, h.token, classRedeem)
		route("GET "+provider.PathUserInfo, h.userInfo)
		route("POST "+provider.PathUserInfo, h.userInfo)
		route("POST "+provider.PathDeviceCode, h.deviceCode, classCreate)
		route("POST "+provider.PathRevoke, h.revoke, classRedeem)
		if p := h.cfg.Pages; p != nil {
			route("GET "+api.PathDevice, func(w http.ResponseWriter, r *http.Request) { p.Device(w) })
			route("GET /login", func(w http.ResponseWriter, r *http.Request) { p.Login(w) })
			route("GET /static/", p.Static().ServeHTTP)
		}
	}
	if h.cfg.Phone != nil {
		route("GET "+PathPhone, h.cfg.Phone.ServeHTTP)
		route("GET /m", http.RedirectHandler(PathPhone, http.StatusMovedPermanently).ServeHTTP)
	}
	// /q/REF, the link a phone's camera app opens, is not limited; its
	// images spend classQR, taken in qr.
	route("GET "+api.PathQRPrefix+"{file}", h.qr)
	route("GET /avatars/{file}", h.avatar)
	route("/", h.notFound)
}

// upgradeChecked wraps a WebSocket handler: it answers a request that is
// not an upgrade (400) or comes from an origin not allowed (403) itself,
// and hands on the others with a timedWriter.
func (h *Handler) upgradeChecked(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			h.writeError(w, r, server.Errorf(server.CodeInvalid, "this endpoint needs a WebSocket upgrade; without WebSockets, long-poll /wait"))
			return
		}
		if !h.originAllowed(r) {
			h.writeError(w, r, server.Errorf(server.CodeForbidden, "WebSocket upgrades from this origin are not allowed"))
			return
		}
		next(h.timedWriter(w, r), r)
	}
}

// limited wraps next so that it runs only if the client's address has a
// call of each class left, taken in order; else it answers rate_limited.
func (h *Handler) limited(next http.HandlerFunc, classes ...string) http.HandlerFunc {
	if len(classes) == 0 {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, c := range classes {
			if err := h.limits.ip(c, clientIP(r)); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		next(w, r)
	}
}

// Drain waits until every WebSocket has ended (after the service's Close
// told them to), or ctx ends. A socket outlives its handler, which hands
// it over to its own goroutines (wsSocket.run).
func (h *Handler) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.sockets.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP serves a request: security headers, the route, a log line and
// a metric, and a 500 with the protocol's body (never a stack) on a panic.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	hdr.Set("Cache-Control", "no-store")
	if h.cfg.HSTS {
		hdr.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	r = r.WithContext(context.WithValue(r.Context(), ipKey{}, h.realIP(r)))
	sw := &statusWriter{ResponseWriter: w}
	if r.Body != nil && r.Body != http.NoBody {
		// Bound the time to read the body; readBody lifts the deadline
		// once it is read, and the server's idle and header timeouts take
		// over for the next request.
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(h.cfg.BodyTimeout))
		r = r.WithContext(context.WithValue(r.Context(), rcKey{}, rc))
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("panic", "route", r.Pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if sw.status == 0 {
				h.writeError(sw, r, fmt.Errorf("panic"))
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		h.metrics.Request(route, sw.status)
		h.log.Debug("request", "route", route, "status", sw.status, "ip", clientIP(r), "ms", time.Since(start).Milliseconds())
	}()
	if err := h.screen(r); err != nil {
		h.writeError(sw, r, err)
		return
	}
	h.mux.ServeHTTP(sw, r)
}

// screen refuses what no route should see: a request for a host the
// server is not known by (DNS rebinding: a page on attacker.example whose
// name now points at the server), except /healthz, which load balancers
// ask by address; and an API call that changes something from a browser
// page of an origin not allowed (the OAuth endpoints, which sites call
// with CORS, have their own rules).
func (h *Handler) screen(r *http.Request) error {
	if r.URL.Path != api.PathHealth && !h.hosts[strings.TrimSuffix(strings.ToLower(r.Host), ".")] {
		return server.Errorf(server.CodeMisdirected, "this server does not answer for host %q", r.Host)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.URL.Path, "/api/") &&
		r.Header.Get("Origin") != "" && !h.originAllowed(r) {
		return server.Errorf(server.CodeForbidden, "calls from this origin are not allowed")
	}
	return nil
}

// hostForms are the Host header values that name u's host: with its port,
// and without it when the port is the scheme's default.
func hostForms(u *url.URL) []string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	def := "80"
	if u.Scheme == "https" {
		def = "443"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || port == def {
		return []string{host, host + ":" + def}
	}
	return []string{host + ":" + port}
}

// statusWriter remembers the status written. It unwraps for
// http.ResponseController (WebSocket hijacking, flushing).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ipKey keys the client's address in a request's context, rcKey the
// connection's http.ResponseController where the body has a read deadline.
type (
	ipKey struct{}
	rcKey struct{}
)

// clientIP is the client's address, without the port, as ServeHTTP found it.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(ipKey{}).(string); ok {
		return ip
	}
	return peerIP(r)
}

// peerIP is the address of the connection's other end.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// realIP is the client's address: the peer's, unless the peer is a trusted
// proxy; then the rightmost address of X-Forwarded-For that is not one.
func (h *Handler) realIP(r *http.Request) string {
	peer := peerIP(r)
	if !h.trusted(peer) {
		if r.Header.Get("X-Forwarded-For") != "" && h.xffWarned.CompareAndSwap(false, true) {
			h.log.Warn("X-Forwarded-For arrived from a peer that is not a trusted proxy, and is ignored: "+
				"if a load balancer is in front, give its address to -trusted-proxies, or every client shares its address's limits "+
				"and -match risky cannot tell networks apart (logged once)", "peer", peer)
		}
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break // a malformed hop: trust nothing to its left
		}
		if !h.trusted(hop) {
			return hop
		}
	}
	return peer
}

func (h *Handler) trusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// bearer returns the token of an "Authorization: Bearer" header, or "".
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, server.Errorf(server.CodeNotFound, "no such endpoint: %s %s", r.Method, path.Clean("/"+r.URL.Path)))
}
