// Command pprofserver runs the qrlogin server in process, as
// qrlogin-server does, with net/http/pprof on a second loopback listener,
// so that a load run can be profiled:
//
//	go build -o /tmp/pprofserver ./server/cmd/qrlogin-load/pprofserver
//	/tmp/pprofserver -addr 127.0.0.1:8080 -no-rate-limits -match never &
//	go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=30'
//
// It is a tool for measurements only: the production command exposes no
// profiler.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/service"
)

func main() {
	var (
		addr      = flag.String("addr", "127.0.0.1:8080", "listen `address` of the server")
		pprofAddr = flag.String("pprof", "127.0.0.1:6060", "listen `address` of /debug/pprof (loopback only)")
		db        = flag.String("db", "", "SQLite database `file` or postgres:// URL (default: a fresh SQLite file in a temporary folder)")
		baseURL   = flag.String("base-url", "", "public base `URL` put in QR payloads (default: from -addr); one node of several gives the first node's")
		ttl       = flag.Duration("ticket-ttl", 60*time.Second, "life of a QR ref")
		rotEvery  = flag.Duration("rotate-every", 20*time.Second, "QR rotation period")
		rotMax    = flag.Duration("rotate-max", 5*time.Minute, "life of a watched ticket")
		match     = flag.String("match", "risky", "never|risky|always")
		noLimits  = flag.Bool("no-rate-limits", false, "turn rate limits off")
		pingEvery = flag.Duration("ping-every", 30*time.Second, "WebSocket ping interval")
		logLevel  = flag.String("log-level", "info", "log `level`")
		mutexRate = flag.Int("mutex-fraction", 0, "runtime.SetMutexProfileFraction (0: off)")
		blockRate = flag.Int("block-rate", 0, "runtime.SetBlockProfileRate in ns (0: off)")
	)
	flag.Parse()
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "pprofserver:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *db == "" {
		dir, err := os.MkdirTemp("", "pprofserver")
		if err != nil {
			fmt.Fprintln(os.Stderr, "pprofserver:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		*db = dir + "/qrlogin.db"
	}
	if *mutexRate > 0 {
		runtime.SetMutexProfileFraction(*mutexRate)
	}
	if *blockRate > 0 {
		runtime.SetBlockProfileRate(*blockRate)
	}

	ln, err := net.Listen("tcp", *pprofAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofserver:", err)
		os.Exit(1)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		fmt.Fprintln(os.Stderr, "pprofserver: -pprof must be a loopback address")
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	log.Info("pprof", "url", "http://"+ln.Addr().String()+"/debug/pprof/")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, node.Config{
		Addr: *addr, DBPath: *db, BaseURL: *baseURL, TicketTTL: *ttl, RotateEvery: *rotEvery, RotateMax: *rotMax,
		Match: service.MatchPolicy(*match), NoRateLimits: *noLimits, PingEvery: *pingEvery, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofserver:", err)
		os.Exit(1)
	}
	select {
	case <-ctx.Done():
	case err := <-n.Done():
		log.Error("server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutdown", "err", err)
	}
}
