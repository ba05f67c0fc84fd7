// Command qrlogin-load drives a running qrlogin server on this machine
// over real loopback sockets: desktops that wait on pending tickets (over
// WebSockets or long-polls, following rotations and renewing expired
// tickets) and whole logins at a fixed rate by a pool of phones (create,
// watch, scan, confirm, push received, redeem). It prints a progress line
// to stderr every few seconds and one JSON report to stdout, and exits 0
// only if nothing failed (1 if something did or the run could not start, 2
// for bad flags).
//
//	go build -o /tmp/qrlogin-server ./server/cmd/qrlogin-server
//	go build -o /tmp/qrlogin-load ./server/cmd/qrlogin-load
//	/tmp/qrlogin-server -addr 127.0.0.1:8080 -no-rate-limits -match never 2>server.log &
//	/tmp/qrlogin-load -server http://127.0.0.1:8080 -rate 300 -duration 60s -server-pid $!
//
// A run goes: the waiting desktops come up at -ramp a second; -idle
// measures the server's CPU with only them up; the phones register and log
// in; logins run open-loop at -rate for -duration (each is due at its time
// whatever became of the earlier ones; one due while -max-inflight are in
// flight counts as an inflight_full error); those in flight get -drain to
// end; the report says how many desktops still wait, and everything closes.
//
// Only loopback targets are allowed (-allow-remote overrides). Each waiting
// desktop holds one socket, so one process holds as many as its open-file
// limit allows (it says so, rather than hang, when -waiting is too many):
// for more, run several side by side, each with its own -source-first:
//
//	/tmp/qrlogin-load -server $URL -waiting 9000 -source-first 127.0.1.1 -duration 300s &
//	/tmp/qrlogin-load -server $URL -waiting 9000 -source-first 127.0.2.1 -idle 60s -rate 200 -duration 60s -server-pid $PID
//
// Several nodes on one database: -server takes a comma-separated list and
// the tool plays a load balancer without sticky sessions (each request to a
// node at random); -server-pid takes the nodes' pids, comma-separated. The
// report then splits the WebSocket push latency into cross-node (the
// confirm went to another node than the socket's) and same-node:
//
//	/tmp/qrlogin-load -server http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083 \
//	    -server-pid $P1,$P2,$P3 -rate 1000 -duration 60s -samples cluster.jsonl
//
// -samples FILE writes every push-latency sample as a JSON line
// ({"kind":"ws","type":"confirmed","ms":1.234}), and the plot subcommand
// draws them, and RSS against waiting desktops, as PNG:
//
//	/tmp/qrlogin-load plot latency -o push-latency.png -target 20 run.jsonl
//	/tmp/qrlogin-load plot rss -o rss.png -extrapolate 50000 -limit 1536 rss.csv
//
// The report subcommand reruns a fixed table of figures (those of
// docs/benchmarks.md: the server's marginal CPU per login between 100 and
// 400 logins/s, logins at 1,000/s, 9,000 waiting desktops idle for 30 s,
// and with -postgres three nodes on PostgreSQL) against one or more server
// binaries, each run on a fresh server process and database that it starts
// and stops itself, and prints a Markdown table with a column per binary
// (and their ratio); make bench-report runs it on the current server and
// OLD=<rev>'s:
//
//	/tmp/qrlogin-load report -server-bin /tmp/old-server,/tmp/qrlogin-server -label old,new -o report.md -json runs.json
//	/tmp/qrlogin-load report -short -only marginal -server-bin /tmp/qrlogin-server   # a quick smoke run
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the load and prints the report; it returns the exit
// code: 0 if no error was counted, 1 if some were or the run could not
// start, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "plot" {
		return runPlot(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "report" {
		return runReport(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("qrlogin-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Server, "server", "", "the server's base `URL` (loopback only: 127.0.0.0/8, [::1], localhost), or several nodes' comma-separated: each request goes to one at random")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a -server that is not on loopback (only where load on it is allowed)")
	fs.IntVar(&c.Waiting, "waiting", 0, "desktops kept waiting on pending tickets, following rotations and renewing expired tickets")
	fs.IntVar(&c.Ramp, "ramp", 2000, "waiting desktops started per second")
	fs.Float64Var(&c.Rate, "rate", 0, "complete logins per second (open loop)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long logins run (or, without -rate, how long the waiting desktops are held)")
	fs.IntVar(&c.Phones, "phones", 64, "phones registered and logged in (before the logins) that scan and confirm")
	fs.IntVar(&c.MaxInFlight, "max-inflight", 0, "logins in flight at most; one due beyond it counts as an inflight_full error (default max(100, rate))")
	fs.Float64Var(&c.LongPoll, "longpoll", 0, "`share` (0..1) of desktops that long-poll /wait instead of opening a WebSocket")
	fs.IntVar(&c.Sources, "sources", 16, "127.0.0.x source addresses to spread connections over (IPv4 loopback targets)")
	fs.IntVar(&c.IdleConns, "idle-conns", 0, "keep-alive HTTP connections kept idle per source address and server (0: no limit); with thousands of -waiting near the server's open-file limit, a few (8) keep the ramp's idle connections from counting against it")
	fs.StringVar(&c.SourceFirst, "source-first", "127.0.0.2", "the first source `address`; give each tool process its own range to keep them apart")
	var pids pidList
	fs.Var(&pids, "server-pid", "the server's `pid` (or the nodes', comma-separated), to report its RSS and CPU from /proc")
	cpuProfile := fs.String("cpuprofile", "", "write the tool's own CPU profile to this `file`")
	memProfile := fs.String("memprofile", "", "write the tool's own allocation profile (allocs) to this `file` at the end")
	samples := fs.String("samples", "", "write every push-latency sample to this `file` as JSON lines (for plot latency)")
	fs.DurationVar(&c.Idle, "idle", 0, "measure the server's CPU for this long once the waiting desktops are up, before the logins")
	fs.DurationVar(&c.Progress, "progress", 5*time.Second, "time between progress lines on stderr")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "how long to wait for logins in flight at the end")
	fs.DurationVar(&c.PushTimeout, "push-timeout", 10*time.Second, "how long an event may take to reach the desktop")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 10*time.Second, "timeout of each HTTP call and WebSocket dial")
	fs.BoolVar(&c.Verbose, "v", false, "log each failed login")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: qrlogin-load -server URL[,URL...] [flags]\n       qrlogin-load plot latency|rss ... (PNG plots; plot -h)\n       qrlogin-load report -server-bin PATH[,PATH...] ... (the benchmark table, on fresh servers; report -h)\n\nDrives a qrlogin server on this machine and prints a JSON report. The server\nneeds open registration (it registers -phones accounts) and, for high rates,\n-no-rate-limits.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || c.Server == "" {
		fs.Usage()
		return 2
	}
	c.Log = stderr
	c.ServerPIDs = pids
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-load:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "qrlogin-load:", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintln(stderr, "qrlogin-load: -memprofile:", err)
			}
		}()
	}
	if *samples != "" {
		f, err := os.Create(*samples)
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-load:", err)
			return 1
		}
		defer func() {
			if err := f.Close(); err != nil {
				fmt.Fprintln(stderr, "qrlogin-load:", err)
			}
		}()
		c.Samples = f
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-load:", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintln(stderr, "qrlogin-load:", err)
		return 2
	}
	if rep.Errors > 0 {
		return 1
	}
	return 0
}
