// Command qrlogin-server runs the scan-to-log-in server on its own.
//
// Every flag has an environment equivalent: -ticket-ttl is
// QRLOGIN_TICKET_TTL, and so on; a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/phone"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/web"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "apps" {
		os.Exit(runApps(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "keys" {
		os.Exit(runKeys(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args, starts the server and serves until SIGINT or SIGTERM.
// It returns the process's exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("qrlogin-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr       = fs.String("addr", "127.0.0.1:8080", "listen `address`; port 0 picks a free one")
		db         = fs.String("db", "", "SQLite database `file` (default: qrlogin.db in the user's data folder)")
		baseURL    = fs.String("base-url", "", "public base `URL` put in QR payloads (default: from -addr)")
		ttl        = fs.Duration("ticket-ttl", 60*time.Second, "life of a QR ref, a scan token and a confirmed ticket")
		rotEvery   = fs.Duration("rotate-every", 20*time.Second, "how often a watched QR is replaced (shorter than -ticket-ttl)")
		rotMax     = fs.Duration("rotate-max", 5*time.Minute, "how long a watched QR keeps being replaced before it expires")
		enrolTTL   = fs.Duration("enrollment-ttl", 30*24*time.Hour, "a desktop enrolled for one-tap login and unused this long lapses: it shows the QR code again")
		match      = fs.String("match", "risky", "when approving also needs the code the desktop shows: `never|risky|always` (risky: when the phone's network differs from the desktop's)")
		openReg    = fs.Bool("open-registration", true, "let anyone create an account")
		origins    = fs.String("allowed-origins", "", "comma-separated browser `origins` allowed to open WebSockets besides the server's own (* wildcards allowed)")
		tlsCert    = fs.String("tls-cert", "", "TLS certificate `file` (PEM); required off loopback unless -base-url is https behind a TLS proxy")
		tlsKey     = fs.String("tls-key", "", "TLS private key `file` (PEM)")
		tlsSelf    = fs.Bool("tls-self-signed", false, "serve TLS with a self-signed certificate kept beside the database, for a quick trial with a phone on the LAN; prints its SHA-256 fingerprint")
		codeTTL    = fs.Duration("code-ttl", time.Minute, "life of an OAuth authorization code (at most 10m)")
		devPoll    = fs.Duration("device-interval", 5*time.Second, "how often a device-grant client may poll the token endpoint")
		proxies    = fs.String("trusted-proxies", "", "comma-separated `addresses or CIDRs` of load balancers whose X-Forwarded-For names the client")
		aliases    = fs.String("aliases", "", "comma-separated other public base `URLs` this server is known by (requests for other hosts get 421; QR payloads naming other hosts are refused)")
		metricsAt  = fs.String("metrics-addr", "", "serve /metrics on this separate, private `address` (such as 127.0.0.1:9090)")
		pubMetrics = fs.Bool("public-metrics", false, "also serve /metrics on -addr, to anyone who asks")
		sockAddr   = fs.Int("sockets-per-address", httpapi.DefaultLimits.SocketsPerAddress, "WebSockets and long-polls open at once from one address (IPv6: one /64)")
		sockCred   = fs.Int("sockets-per-credential", httpapi.DefaultLimits.SocketsPerCredential, "WebSockets and long-polls open at once on one phone token, desktop session or QR ticket")
		hashes     = fs.Int("hashes-in-flight", runtime.NumCPU(), "password hashes computed at once (argon2id, 19 MiB each); more wait up to 1 s, then get 429")
		connsAddr  = fs.Int("conns-per-address", 512, "TCP connections open at once from one address (IPv6: one /64), trusted proxies excepted")
		noLimits   = fs.Bool("no-rate-limits", false, "turn rate limits off (load tests on loopback only)")
		pingEvery  = fs.Duration("ping-every", 30*time.Second, "WebSocket ping interval; a peer silent for half of it is dropped")
		logLevel   = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
		logJSON    = fs.Bool("log-json", false, "log JSON lines instead of text")
		shutdownIn = fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
		pprofAt    = fs.String("pprof", "", "serve net/http/pprof's /debug/pprof/ on this separate `address`, which must be a loopback one (such as 127.0.0.1:6060): profiles show the process's memory and command line; off by default")
		blockRate  = fs.Int("pprof-block-rate", 0, "with -pprof: sample in the block profile about one blocking event per this many `ns` spent blocked (runtime.SetBlockProfileRate; 0: none)")
		mutexFrac  = fs.Int("pprof-mutex-fraction", 0, "with -pprof: sample in the mutex profile about one in `n` mutex contention events (runtime.SetMutexProfileFraction; 0: none)")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: qrlogin-server [flags]\n       qrlogin-server apps add|list|remove ... (the open platform's apps; apps -h)\n       qrlogin-server keys rotate|list ... (its token signing keys; keys -h)\n\nRuns the qrlogin scan-to-log-in server. Every flag can also be set by an\nenvironment variable: QRLOGIN_ and the flag's name in capitals with _ for -\n(QRLOGIN_TICKET_TTL=30s); a flag on the command line wins.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := applyEnv(fs); err != nil {
		fmt.Fprintln(stderr, "qrlogin-server:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qrlogin-server: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(stderr, "qrlogin-server: -log-level:", err)
		return 2
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if *logJSON {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)
	slog.SetDefault(log)

	if *pprofAt == "" && (*blockRate != 0 || *mutexFrac != 0) {
		fmt.Fprintln(stderr, "qrlogin-server: -pprof-block-rate and -pprof-mutex-fraction need -pprof")
		return 2
	}
	if *pprofAt != "" {
		srv, err := servePprof(*pprofAt, log)
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-server: -pprof:", err)
			return 1
		}
		defer srv.Close()
		runtime.SetBlockProfileRate(*blockRate)
		runtime.SetMutexProfileFraction(*mutexFrac)
	}

	if *tlsSelf {
		if *tlsCert != "" || *tlsKey != "" {
			fmt.Fprintln(stderr, "qrlogin-server: -tls-self-signed and -tls-cert/-tls-key contradict each other")
			return 2
		}
		hosts, err := certHosts(*addr, *baseURL)
		if err == nil {
			dir := filepath.Dir(*db) // beside a SQLite file
			if *db == "" || strings.Contains(*db, "://") {
				dir, err = node.DataDir()
			}
			if err == nil {
				var fp string
				*tlsCert, *tlsKey, fp, err = selfSigned(dir, hosts, time.Now())
				log.Info("self-signed TLS certificate: check this fingerprint when the phone's browser warns", "sha256", fp, "hosts", strings.Join(hosts, ","), "file", *tlsCert)
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-server: -tls-self-signed:", err)
			return 1
		}
	}
	allowed, trusted := list(*origins), list(*proxies)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, node.Config{
		Addr: *addr, DBPath: *db, BaseURL: *baseURL,
		TicketTTL: *ttl, RotateEvery: *rotEvery, RotateMax: *rotMax, EnrollmentTTL: *enrolTTL, Match: service.MatchPolicy(*match),
		ClosedRegistration: !*openReg, AllowedOrigins: allowed, TLSCert: *tlsCert, TLSKey: *tlsKey,
		NoRateLimits: *noLimits, PingEvery: *pingEvery, Logger: log, TrustedProxies: trusted,
		CodeTTL: *codeTTL, DeviceInterval: *devPoll, Pages: web.Pages{}, Phone: phone.Handler(), MetricsAddr: *metricsAt,
		PublicMetrics: *pubMetrics, HashesInFlight: *hashes, Aliases: list(*aliases), ConnsPerAddress: *connsAddr,
		Limits: httpapi.Limits{SocketsPerAddress: *sockAddr, SocketsPerCredential: *sockCred},
	})
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server:", err)
		return 1
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-n.Done():
		log.Error("server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownIn)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// servePprof serves net/http/pprof's handlers under /debug/pprof/ on a
// listener of their own at addr, which must be a loopback address, and logs
// their URL (msg=pprof url=...). The caller closes the returned server.
func servePprof(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%s is not a loopback address: the profiles would be open to the network", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, block, mutex...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace takes as long as asked.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go srv.Serve(ln)
	log.Info("pprof", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return srv, nil
}

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// applyEnv sets each flag from QRLOGIN_<NAME> where that is set.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "QRLOGIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}
