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
	Match       service.MatchPolicy
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
	// stopBus stops listening to other nodes (a no-op on SQLite), and
	// stopPurge the open platform's purge (a no-op without one).
	stopBus, stopPurge func()
	log                *slog.Logger
	done               chan error
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
// the base URL is https (a TLS proxy in front).
func Start(ctx context.Context, cfg Config) (*Node, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.DBPath == "" {
		p, err := DefaultDBPath()
		if err != nil {
			return nil, err
		}
		cfg.DBPath = p
	}
	useTLS := cfg.TLSCert != "" || cfg.TLSKey != ""
	var tlsCfg *tls.Config
	if useTLS {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = scheme + "://" + ln.Addr().String()
	}
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "http" && bu.Scheme != "https") || bu.Host == "" {
		ln.Close()
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	if !useTLS && bu.Scheme != "https" && !isLoopback(ln.Addr()) {
		ln.Close()
		return nil, fmt.Errorf("refusing plain HTTP on %s, which is not loopback: give -tls-cert and -tls-key, or an https -base-url when a TLS proxy is in front", ln.Addr())
	}

	store, err := OpenStore(ctx, cfg.DBPath)
	if err != nil {
		ln.Close()
		return nil, err
	}
	m := metrics.New(store)
	svc, err := service.New(store, service.Config{
		BaseURL: base, Aliases: cfg.Aliases, TicketTTL: cfg.TicketTTL, RotateEvery: cfg.RotateEvery, RotateMax: cfg.RotateMax,
		Match: cfg.Match, OpenRegistration: !cfg.ClosedRegistration, Password: cfg.Password, HashesInFlight: cfg.HashesInFlight,
		Logger: log, Metrics: m, Now: cfg.Now,
	})
	if err != nil {
		store.Close()
		ln.Close()
		return nil, err
	}
	var proxies []netip.Prefix
	for _, p := range cfg.TrustedProxies {
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				svc.Close()
				store.Close()
				ln.Close()
				return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR range", p)
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		proxies = append(proxies, pf)
	}
	stopBus := func() {}
	if pg, ok := store.(*postgres.DB); ok {
		// Several nodes may share this database: carry events between them,
		// and after a lost LISTEN tell this node's watchers what they missed.
		bus := pgbus.New(pg.Pool(), log)
		svc.SetBus(bus)
		bctx, cancel := context.WithCancel(context.Background())
		ready, done := make(chan struct{}), make(chan struct{})
		resync := func(ctx context.Context) { svc.Resync(ctx, bus) }
		go func() { defer close(done); bus.Run(bctx, svc.Deliver, resync, ready) }()
		stopBus = func() { cancel(); <-done }
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			stopBus()
			store.Close()
			ln.Close()
			return nil, errors.New("pgbus: could not LISTEN within 10 s")
		}
	}
	var op *provider.Provider
	if os, ok := store.(oauth.Store); ok {
		op, err = provider.New(ctx, os, svc, provider.Config{CodeTTL: cfg.CodeTTL, DeviceInterval: cfg.DeviceInterval})
		if err != nil {
			stopBus()
			store.Close()
			ln.Close()
			return nil, err
		}
	} else {
		log.Info("this store has no open platform: OAuth endpoints are off")
	}
	stopPurge := func() {}
	if op != nil {
		pctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); op.Run(pctx) }()
		stopPurge = func() { cancel(); <-done }
	}
	h := httpapi.New(svc, httpapi.Config{
		OAuth: op, Pages: cfg.Pages, Phone: cfg.Phone, TrustedProxies: proxies,
		AllowedOrigins: cfg.AllowedOrigins, HSTS: useTLS || bu.Scheme == "https",
		NoLimits: cfg.NoRateLimits, PingEvery: cfg.PingEvery, Logger: log, Metrics: m,
		PublicMetrics: cfg.PublicMetrics, Limits: cfg.Limits, BodyTimeout: cfg.BodyTimeout,
	})
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = 30 * time.Second
	}
	conns := cfg.ConnsPerAddress
	if conns == 0 {
		conns = 512
	}
	var served net.Listener = ln
	if !cfg.NoRateLimits {
		served = capConns(ln, conns, proxies)
	}
	n := &Node{
		url: base, ln: ln, svc: svc, h: h, store: store, stopBus: stopBus, stopPurge: stopPurge, log: log, done: make(chan error, 1),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       idle,
			MaxHeaderBytes:    64 << 10,
			TLSConfig:         tlsCfg,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			stopPurge()
			stopBus()
			svc.Close()
			store.Close()
			ln.Close()
			return nil, fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET "+api.PathMetrics, m.Handler())
		n.mln = mln
		n.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		go n.msrv.Serve(mln)
		log.Info("metrics", "url", "http://"+mln.Addr().String()+api.PathMetrics)
	}
	svc.Run()
	go func() {
		var err error
		if useTLS {
			err = n.srv.ServeTLS(served, "", "")
		} else {
			err = n.srv.Serve(served)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
	log.Info("listening", "url", base, "addr", ln.Addr().String(), "db", dbName(cfg.DBPath))
	return n, nil
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
	n.stopPurge()
	n.stopBus()
	return errors.Join(err, n.store.Close())
}
