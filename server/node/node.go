// Package node runs a whole login server: the store (SQLite, or PostgreSQL
// for several nodes on one database), the protocol
// service and its HTTP handler on a listener. The standalone command and the
// desktop app's embedded server both start one.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/metrics"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
	"github.com/qrlogin/qrlogin/server/pgbus"
	"github.com/qrlogin/qrlogin/server/postgres"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// Config configures a node. Zero values take the protocol's defaults.
type Config struct {
	Addr    string // listen address; "127.0.0.1:8080" if empty ("127.0.0.1:0" picks a port)
	DBPath  string // SQLite file, or a postgres:// (postgresql://) URL; DefaultDBPath() if empty
	BaseURL string // public base URL for QR payloads; from the listener if empty

	TicketTTL   time.Duration
	RotateEvery time.Duration
	RotateMax   time.Duration
	// EnrollmentTTL: an enrolled desktop unused that long lapses (30 days).
	EnrollmentTTL time.Duration
	Match         service.MatchPolicy
	// ClosedRegistration turns open registration off.
	ClosedRegistration bool
	AllowedOrigins     []string
	TLSCert, TLSKey    string
	// NoRateLimits turns rate limits off, for load tests on loopback.
	NoRateLimits bool
	// PingEvery is the WebSocket ping interval (30 s).
	PingEvery time.Duration
	Password  server.PasswordParams
	// HashesInFlight bounds the password hashes computed at once
	// (service.Config; runtime.NumCPU() if zero).
	HashesInFlight int
	Logger         *slog.Logger
	// Now is the clock of the protocol's deadlines (time.Now); tests set it.
	Now func() time.Time

	// The open platform (OAuth 2.0 / OpenID Connect): CodeTTL is the life
	// of an authorization code (60 s, at most 10 min), DeviceInterval the
	// device grant's polling interval (5 s).
	CodeTTL        time.Duration
	DeviceInterval time.Duration
	// Pages renders the HTML pages (package web); nil leaves them out and
	// the authorization endpoint answers JSON.
	Pages httpapi.Pages
	// Phone is the phone web app served at /m/ (package phone); nil leaves
	// it out.
	Phone http.Handler
	// TrustedProxies are the addresses or CIDR ranges of load balancers
	// whose X-Forwarded-For names the client.
	TrustedProxies []string
	// MetricsAddr, if set, is a second listen address that serves
	// GET /metrics (plain HTTP, meant for a private network or loopback).
	// PublicMetrics also serves /metrics on the public listener (off by
	// default: anyone could read it there).
	MetricsAddr   string
	PublicMetrics bool
	// Aliases are other base URLs the server is known by (service.Config).
	Aliases []string
	// Limits are the rate limits and caps (httpapi.DefaultLimits where
	// zero).
	Limits httpapi.Limits
	// BodyTimeout bounds the time to read a request's body (10 s);
	// IdleTimeout closes keep-alive connections idle that long (30 s).
	BodyTimeout, IdleTimeout time.Duration
	// ConnsPerAddress caps the TCP connections open at once from one
	// address (an IPv6 /64), trusted proxies excepted: 512 by default;
	// more are closed as they arrive.
	ConnsPerAddress int
}

// Node is a running server.
type Node struct {
	url string
	ln  net.Listener
	srv *http.Server
	// msrv serves /metrics on MetricsAddr (nil without one).
	msrv  *http.Server
	mln   net.Listener
	svc   *service.Service
	h     *httpapi.Handler
	store server.Store
	// stops stop the background work: listening to other nodes (on
	// PostgreSQL) and the open platform's purge and logouts.
	stops []func()
	log   *slog.Logger
	done  chan error
}

// DefaultDBPath is the database in the user's data folder:
// $XDG_DATA_HOME/qrlogin/qrlogin.db (~/.local/share/...) on Linux, the
// Application Support folder on macOS, %LocalAppData% on Windows.
func DefaultDBPath() (string, error) {
	dir, err := DataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "qrlogin.db"), nil
}

// DataDir is qrlogin's folder in the user's data folder.
func DataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "qrlogin"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "qrlogin"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "qrlogin"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no data folder: %w", err)
	}
	return filepath.Join(home, ".local", "share", "qrlogin"), nil
}

// Start opens the database, listens and serves in the background until
// Shutdown. It refuses plain HTTP on an address other than loopback unless
// the base URL is https (a TLS proxy in front). On an error, whatever it
// had started is stopped and closed again.
func Start(ctx context.Context, cfg Config) (_ *Node, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var undo []func() // what to stop on an error, in the order started
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(undo) {
				f()
			}
		}
	}()
	tlsCfg, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { ln.Close() })
	base, err := baseURL(cfg.BaseURL, ln.Addr(), tlsCfg != nil)
	if err != nil {
		return nil, err
	}

	store, err := OpenStore(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { store.Close() })
	m := metrics.New(store)
	scfg := service.Config{
		BaseURL: base.String(), Aliases: cfg.Aliases, TicketTTL: cfg.TicketTTL, RotateEvery: cfg.RotateEvery, RotateMax: cfg.RotateMax,
		EnrollmentTTL: cfg.EnrollmentTTL,
		Match:         cfg.Match, OpenRegistration: !cfg.ClosedRegistration, Password: cfg.Password, HashesInFlight: cfg.HashesInFlight,
		Logger: cfg.Logger, Metrics: m, Now: cfg.Now,
	}
	var bus *pgbus.Bus
	if pg, ok := store.(*postgres.DB); ok {
		// Several nodes may share this database: carry events between them.
		bus = pgbus.New(pg.Pool(), cfg.Logger)
		scfg.Bus = bus
	}
	var apps *provider.Apps
	if st, ok := store.(oauth.Store); ok {
		apps = provider.NewApps(st, cfg.Now, cfg.Logger)
		scfg.Apps = apps
	} else {
		cfg.Logger.Info("this store has no open platform: OAuth endpoints are off")
	}
	svc, err := service.New(store, scfg)
	if err != nil {
		return nil, err
	}
	undo = append(undo, svc.Close)
	var op *provider.Provider
	if apps != nil {
		if op, err = provider.New(ctx, apps, svc, provider.Config{CodeTTL: cfg.CodeTTL, DeviceInterval: cfg.DeviceInterval}); err != nil {
			return nil, err
		}
	}
	n := &Node{url: base.String(), ln: ln, svc: svc, store: store, log: cfg.Logger, done: make(chan error, 1)}
	if bus != nil {
		stop, err := listen(bus, svc)
		if err != nil {
			return nil, err
		}
		n.stops = append(n.stops, stop)
		undo = append(undo, stop)
	}
	if op != nil {
		stop := background(op.Run)
		n.stops = append(n.stops, stop)
		undo = append(undo, stop)
	}
	n.h = httpapi.New(svc, httpapi.Config{
		OAuth: op, Pages: cfg.Pages, Phone: cfg.Phone, TrustedProxies: proxies,
		AllowedOrigins: cfg.AllowedOrigins, HSTS: tlsCfg != nil || base.Scheme == "https",
		NoLimits: cfg.NoRateLimits, PingEvery: cfg.PingEvery, Logger: cfg.Logger, Metrics: m,
		PublicMetrics: cfg.PublicMetrics, Limits: cfg.Limits, BodyTimeout: cfg.BodyTimeout,
	})
	n.srv = &http.Server{
		Handler:           n.h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsCfg,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	if cfg.MetricsAddr != "" {
		if err := n.serveMetrics(cfg.MetricsAddr, m); err != nil {
			return nil, err
		}
	}

	svc.Run()
	var served net.Listener = ln
	if !cfg.NoRateLimits {
		served = capConns(ln, cfg.ConnsPerAddress, proxies)
	}
	go func() {
		var err error
		if tlsCfg != nil {
			err = n.srv.ServeTLS(served, "", "")
		} else {
			err = n.srv.Serve(served)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
	cfg.Logger.Info("listening", "url", n.url, "addr", ln.Addr().String(), "db", dbName(cfg.DBPath))
	return n, nil
}

// withDefaults returns c with its defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DBPath == "" {
		p, err := DefaultDBPath()
		if err != nil {
			return c, err
		}
		c.DBPath = p
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.ConnsPerAddress == 0 {
		c.ConnsPerAddress = 512
	}
	return c, nil
}

// loadTLS returns the TLS configuration of a certificate and its key, or
// nil when neither is given (plain HTTP).
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// parseProxies parses trusted proxies: addresses or CIDR ranges.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list {
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR range", p)
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pf)
	}
	return out, nil
}

// baseURL returns the public base URL: configured, or the listener's own.
// It refuses plain HTTP on an address other than loopback unless the base
// URL is https.
func baseURL(configured string, addr net.Addr, useTLS bool) (*url.URL, error) {
	base := strings.TrimRight(configured, "/")
	if base == "" {
		scheme := "http"
		if useTLS {
			scheme = "https"
		}
		base = scheme + "://" + addr.String()
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", configured)
	}
	if !useTLS && u.Scheme != "https" && !isLoopback(addr) {
		return nil, fmt.Errorf("refusing plain HTTP on %s, which is not loopback: give -tls-cert and -tls-key, or an https -base-url when a TLS proxy is in front", addr)
	}
	return u, nil
}

// listen runs bus until the returned stop is called, delivering other
// nodes' events to svc and, after a lost LISTEN, telling svc's watchers
// what they missed. It returns once the first LISTEN is in place.
func listen(bus *pgbus.Bus, svc *service.Service) (stop func(), err error) {
	ready := make(chan struct{})
	stop = background(func(ctx context.Context) {
		bus.Run(ctx, svc.Deliver, func(ctx context.Context) { svc.Resync(ctx, bus) }, ready)
	})
	select {
	case <-ready:
		return stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return nil, errors.New("pgbus: could not LISTEN within 10 s")
	}
}

// background runs f on its own goroutine until the returned stop is
// called; stop cancels f's context and waits for f to return.
func background(f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	return func() { cancel(); <-done }
}

// serveMetrics serves GET /metrics on its own listener at addr.
func (n *Node) serveMetrics(addr string, m *metrics.Metrics) error {
	mln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.PathMetrics, m.Handler())
	n.mln = mln
	n.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug)}
	go n.msrv.Serve(mln)
	n.log.Info("metrics", "url", "http://"+mln.Addr().String()+api.PathMetrics)
	return nil
}

// OpenStore opens the store that db names: the PostgreSQL database of a
// postgres:// or postgresql:// URL, else the SQLite file at path db, running
// the migrations it lacks. The caller closes it.
func OpenStore(ctx context.Context, db string) (server.Store, error) {
	if isPostgres(db) {
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// dbName is db as it may be logged: a URL without its user, password and
// parameters.
func dbName(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://?"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Store returns the node's store.
func (n *Node) Store() server.Store { return n.store }

// URL returns the server's public base URL.
func (n *Node) URL() string { return n.url }

// MetricsAddr returns the address of the metrics listener, or nil when
// /metrics is served with the rest.
func (n *Node) MetricsAddr() net.Addr {
	if n.mln == nil {
		return nil
	}
	return n.mln.Addr()
}

// Addr returns the address the server listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Done yields the serving error (nil after Shutdown) once serving stops.
func (n *Node) Done() <-chan error { return n.done }

// Shutdown stops the server gracefully: it tells and closes every open
// socket and long-poll, lets running requests finish (until ctx ends), and
// closes the database, so that no answered write is lost.
func (n *Node) Shutdown(ctx context.Context) error {
	n.svc.Close()
	err := n.srv.Shutdown(ctx)
	if n.msrv != nil {
		err = errors.Join(err, n.msrv.Shutdown(ctx))
	}
	err = errors.Join(err, n.h.Drain(ctx))
	for _, stop := range slices.Backward(n.stops) {
		stop()
	}
	return errors.Join(err, n.store.Close())
}
