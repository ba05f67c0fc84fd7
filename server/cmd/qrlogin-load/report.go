package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The report subcommand reruns a fixed table of figures (those of
// docs/benchmarks.md) against one or more server binaries and prints them
// as one Markdown table, a column per binary:
//
//	qrlogin-load report -server-bin OLD,NEW [-label old,new] [-o report.md] [-json runs.json]
//	    [-only marginal,rate1000,waiting,cluster] [-short] [-postgres DSN]
//
// Every run has a fresh server process on a fresh database in a temporary
// folder (`BIN -addr 127.0.0.1:0 -db DIR/x.db -no-rate-limits -match
// never`), found by its "msg=listening url=..." log line, killed and waited
// for after the run; the folder is then removed. The binaries take turns
// run by run, so that a change in the machine's other load weighs on all of
// them alike. Before each run the report waits (up to -quiet-max) until the
// machine has been less than -quiet-below busy for -quiet-for, and each
// run's other_cpu_percent (CPU used by neither the server nor this process)
// is in the table, so that noise shows. The load is this tool's own Run, in
// this process, with the server's pid.
//
// The figures:
//
//   - marginal: logins at 100/s and at 400/s for -duration (20 s) each: the
//     server's CPU per additional login, (CPU at 400 − CPU at 100) ÷
//     (logins at 400 − logins at 100), and each run's server and tool CPU
//     per login, and the WebSocket push p95 and p99 at 400/s.
//   - rate1000: logins at 1,000/s for -duration: achieved rate, errors and
//     the WebSocket push p99.
//   - waiting: -waiting (9,000) desktops on WebSockets, -idle (30 s) idle,
//     no logins: RSS per waiting socket, the server's idle CPU, RSS all up
//     and after the idle window.
//   - cluster (only with -postgres DSN): three nodes on a fresh PostgreSQL
//     database (created on DSN's server, dropped after) at 300/s for
//     -duration: (nodes' CPU + PostgreSQL's CPU) ÷ logins, PostgreSQL's CPU
//     being that of every process named "postgres" on the machine.
//
// -short makes a quick smoke run: 5 s runs, 1,000 waiting, 5 s idle.

// The figures, in the order they run and print.
const (
	figMarginal = "marginal"
	figRate1000 = "rate1000"
	figWaiting  = "waiting"
	figCluster  = "cluster"
)

var allFigures = []string{figMarginal, figRate1000, figWaiting, figCluster}

// reportOpts is the report subcommand's flags.
type reportOpts struct {
	Bins     []string
	Labels   []string
	Figures  []string
	RunFor   time.Duration // each run at a rate
	Waiting  int
	Idle     time.Duration
	Hold     time.Duration // the waiting figure's phase after the idle window
	Postgres string
	Quiet    quietCheck
}

// runSpec is one run of a figure, done once per binary.
type runSpec struct {
	Figure string
	Name   string // rate100, rate400, rate1000, waiting, cluster
	Nodes  int    // server processes (3 for the cluster)
	Cfg    Config // Server, ServerPIDs and Log are filled in per run
}

// reportRun is one run against one binary, as -json writes it.
type reportRun struct {
	Figure     string       `json:"figure"`
	Run        string       `json:"run"`
	Label      string       `json:"label"`
	Binary     string       `json:"binary"`
	ServerArgs [][]string   `json:"server_args"`
	Quiet      *quietResult `json:"quiet,omitempty"`
	Report     *Report      `json:"report,omitempty"`
	Error      string       `json:"error,omitempty"`
}

// reportFile is what -json writes.
type reportFile struct {
	Started  time.Time         `json:"started"`
	Cores    int               `json:"cores"`
	Binaries []reportBinary    `json:"binaries"`
	Options  map[string]string `json:"options"`
	Runs     []*reportRun      `json:"runs"`
}

type reportBinary struct {
	Label string `json:"label"`
	Path  string `json:"path"`
}

// specs returns the runs of the figures asked for, in order.
func (o reportOpts) specs() []runSpec {
	var out []runSpec
	rate := func(fig, name string, r float64, nodes int) runSpec {
		return runSpec{Figure: fig, Name: name, Nodes: nodes, Cfg: Config{Rate: r, Duration: o.RunFor}}
	}
	for _, f := range o.Figures {
		switch f {
		case figMarginal:
			out = append(out, rate(f, "rate100", 100, 1), rate(f, "rate400", 400, 1))
		case figRate1000:
			out = append(out, rate(f, "rate1000", 1000, 1))
		case figWaiting:
			out = append(out, runSpec{Figure: f, Name: "waiting", Nodes: 1,
				Cfg: Config{Waiting: o.Waiting, Idle: o.Idle, IdleConns: 8, Duration: o.Hold}})
		case figCluster:
			out = append(out, rate(f, "cluster", 300, 3))
		}
	}
	return out
}

// runReport runs the report subcommand; it returns the exit code: 0 if
// every run was done, 1 if one could not be (its cells are empty), 2 for
// bad flags.
func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qrlogin-load report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bins := fs.String("server-bin", "", "the qrlogin-server `binaries` to measure, comma-separated (in the table's column order)")
	labels := fs.String("label", "", "the binaries' column `names`, comma-separated (default: their file names)")
	out := fs.String("o", "", "also write the Markdown to this `file`")
	jsonOut := fs.String("json", "", "write every run's raw report to this `file` (JSON)")
	only := fs.String("only", "", "the `figures` to run, comma-separated: marginal, rate1000, waiting, cluster (default: all; cluster only with -postgres)")
	short := fs.Bool("short", false, "a quick smoke run: 5s runs, 1000 waiting, 5s idle (flags given explicitly win)")
	var o reportOpts
	fs.DurationVar(&o.RunFor, "duration", 20*time.Second, "the length of each run at a rate")
	fs.IntVar(&o.Waiting, "waiting", 9000, "desktops of the waiting figure")
	fs.DurationVar(&o.Idle, "idle", 30*time.Second, "the waiting figure's idle window")
	fs.StringVar(&o.Postgres, "postgres", "", "a PostgreSQL `URL` (postgres://user@host:port/db?sslmode=disable) whose server gets a fresh database for the cluster figure")
	fs.Float64Var(&o.Quiet.Below, "quiet-below", 15, "before each run, wait until the machine is less busy than this `percent` of all its cores ...")
	fs.DurationVar(&o.Quiet.For, "quiet-for", 3*time.Second, "... for this long in a row ...")
	fs.DurationVar(&o.Quiet.Max, "quiet-max", 60*time.Second, "... but no longer than this (then run anyway, and say so)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: qrlogin-load report -server-bin PATH[,PATH...] [-label NAME,...] [-o report.md] [-json FILE] [-only FIGURES] [-short] [-postgres URL]\n\n"+
			"Reruns the figures of docs/benchmarks.md against each server binary, each run on a\nfresh server and database, and prints a Markdown table with a column per binary.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "qrlogin-load report: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	o.Bins = splitServers(*bins)
	if len(o.Bins) == 0 {
		fs.Usage()
		return 2
	}
	for i, b := range o.Bins {
		if !strings.ContainsRune(b, os.PathSeparator) {
			b = "." + string(os.PathSeparator) + b // a file here, not one on $PATH
		}
		abs, err := filepath.Abs(b)
		if err != nil {
			return bad("-server-bin %s: %v", b, err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return bad("-server-bin %s: not an executable file", o.Bins[i])
		}
		o.Bins[i] = abs
	}
	if *labels != "" {
		o.Labels = splitServers(*labels)
		if len(o.Labels) != len(o.Bins) {
			return bad("-label has %d names for %d binaries", len(o.Labels), len(o.Bins))
		}
	} else {
		o.Labels = defaultLabels(o.Bins)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *short {
		if !set["duration"] {
			o.RunFor = 5 * time.Second
		}
		if !set["waiting"] {
			o.Waiting = 1000
		}
		if !set["idle"] {
			o.Idle = 5 * time.Second
		}
	}
	o.Hold = 3 * time.Second
	if o.RunFor < time.Second || o.Waiting < 1 || o.Idle < 0 {
		return bad("-duration must be at least 1s and -waiting at least 1")
	}
	if *only == "" {
		for _, f := range allFigures {
			if f != figCluster || o.Postgres != "" {
				o.Figures = append(o.Figures, f)
			}
		}
	} else {
		for f := range strings.SplitSeq(*only, ",") {
			f = strings.TrimSpace(f)
			switch {
			case !slices.Contains(allFigures, f):
				return bad("-only: no figure %q (want marginal, rate1000, waiting or cluster)", f)
			case f == figCluster && o.Postgres == "":
				return bad("-only cluster needs -postgres URL")
			case !slices.Contains(o.Figures, f):
				o.Figures = append(o.Figures, f)
			}
		}
		// Always in the table's order.
		slices.SortFunc(o.Figures, func(a, b string) int {
			return slices.Index(allFigures, a) - slices.Index(allFigures, b)
		})
	}
	if o.Postgres != "" {
		if _, err := databaseURL(o.Postgres, "x"); err != nil {
			return bad("-postgres: %v", err)
		}
	}
	o.Quiet.Step = time.Second
	o.Quiet.Cores = runtime.NumCPU()
	o.Quiet.read = readMachine
	o.Quiet.sleep = sleep

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	file := reportFile{Started: time.Now().UTC().Truncate(time.Second), Cores: o.Quiet.Cores, Options: map[string]string{
		"figures": strings.Join(o.Figures, ","), "duration": o.RunFor.String(), "waiting": strconv.Itoa(o.Waiting),
		"idle": o.Idle.String(), "quiet_below_percent": ftoa1(o.Quiet.Below), "quiet_for": o.Quiet.For.String(), "quiet_max": o.Quiet.Max.String(),
	}}
	for i, b := range o.Bins {
		file.Binaries = append(file.Binaries, reportBinary{Label: o.Labels[i], Path: b})
	}
	failed := false
	specs := o.specs()
	for si, spec := range specs {
		for bi, bin := range o.Bins {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(stderr, "report: run %d of %d: %s %s on %s\n", si*len(o.Bins)+bi+1, len(specs)*len(o.Bins), spec.Figure, spec.Name, o.Labels[bi])
			r := runFigure(ctx, o, spec, o.Labels[bi], bin, stderr)
			if r.Error != "" {
				failed = true
				fmt.Fprintf(stderr, "report: %s %s on %s: %s\n", spec.Figure, spec.Name, o.Labels[bi], r.Error)
			}
			file.Runs = append(file.Runs, r)
			// What this process kept of a run (9,000 sockets' buffers)
			// is not the next run's garbage to collect.
			runtime.GC()
			debug.FreeOSMemory()
		}
	}
	if ctx.Err() != nil {
		failed = true
		fmt.Fprintln(stderr, "report: interrupted; the table has the runs done")
	}

	md := renderReport(file, buildRows(o, file.Runs))
	fmt.Fprint(stdout, md)
	code := 0
	if failed {
		code = 1
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(stderr, "qrlogin-load report:", err)
			code = 1
		}
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(file, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-load report:", err)
			code = 1
		}
	}
	return code
}

// defaultLabels names the binaries by their file names, or by their paths
// when two share a file name.
func defaultLabels(bins []string) []string {
	out := make([]string, len(bins))
	seen := map[string]bool{}
	dup := false
	for i, b := range bins {
		out[i] = filepath.Base(b)
		dup = dup || seen[out[i]]
		seen[out[i]] = true
	}
	if dup {
		copy(out, bins)
	}
	return out
}

// runFigure does one run of spec against bin: a temporary folder, fresh
// servers (and database), the quiet wait, Run, and everything stopped and
// removed again.
func runFigure(ctx context.Context, o reportOpts, spec runSpec, label, bin string, stderr io.Writer) *reportRun {
	r := &reportRun{Figure: spec.Figure, Run: spec.Name, Label: label, Binary: bin}
	fail := func(err error) *reportRun { r.Error = err.Error(); return r }
	dir, err := os.MkdirTemp("", "qrlogin-report-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)

	db := filepath.Join(dir, "x.db")
	if spec.Nodes > 1 {
		name := fmt.Sprintf("qrlogin_report_%d_%d", os.Getpid(), time.Now().UnixNano())
		url, drop, err := createDatabase(ctx, o.Postgres, name)
		if err != nil {
			return fail(fmt.Errorf("creating the database: %w", err))
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintf(stderr, "report: dropping database %s: %v\n", name, err)
			}
		}()
		db = url
	}
	var procs []*serverProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	var urls []string
	var pids []int
	for i := range max(spec.Nodes, 1) {
		args := []string{"-addr", "127.0.0.1:0", "-db", db, "-no-rate-limits", "-match", "never"}
		if i > 0 {
			// The other nodes share the first one's base URL (QR payloads
			// name it) and, where the server checks the Host of requests
			// (-aliases came with that check), answer for their own
			// address too: the tool reaches each node by its address.
			port, err := freePort()
			if err != nil {
				return fail(err)
			}
			own := "127.0.0.1:" + strconv.Itoa(port)
			args[1] = own
			args = append(args, "-base-url", urls[0])
			if hasFlag(bin, "aliases") {
				args = append(args, "-aliases", "http://"+own)
			}
		}
		r.ServerArgs = append(r.ServerArgs, args)
		// One at a time: the first node sets up the database's schema.
		p, err := startServerProc(ctx, bin, args, 30*time.Second)
		if err != nil {
			return fail(err)
		}
		procs = append(procs, p)
		u := p.URL
		if i > 0 {
			// The others log the first one's URL (their -base-url).
			if p.Addr == "" {
				return fail(errors.New("a node's msg=listening line has no addr=: cannot tell where it listens"))
			}
			u = "http://" + p.Addr
		}
		urls = append(urls, u)
		pids = append(pids, p.Pid)
	}

	q, err := o.Quiet.wait(ctx)
	if err != nil {
		return fail(err)
	}
	r.Quiet = &q
	if q.Quiet {
		fmt.Fprintf(stderr, "report: machine quiet (%.1f%% busy) after %.0fs\n", q.BusyPercent, q.WaitedS)
	} else {
		fmt.Fprintf(stderr, "report: machine still %.1f%% busy after %.0fs: running anyway (see other CPU)\n", q.BusyPercent, q.WaitedS)
	}

	cfg := spec.Cfg
	cfg.Server = strings.Join(urls, ",")
	cfg.ServerPIDs = pids
	cfg.Log = &prefixWriter{w: stderr, prefix: fmt.Sprintf("[%s %s] ", label, spec.Name)}
	if spec.Nodes > 1 {
		cfg.ExtraCPU = postgresCPU
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	for _, p := range procs {
		if p.exited() {
			r.Error = "the server exited during the run: " + p.logTail()
		}
	}
	r.Report = &rep
	return r
}

// tableRow is a row of the report's table: one value per binary (NaN: not
// measured).
type tableRow struct {
	Name    string
	Vals    []float64
	Prec    int  // decimals
	NoRatio bool // a ratio of it means nothing (errors, outside load)
}

// buildRows computes the table's rows from the runs.
func buildRows(o reportOpts, runs []*reportRun) []tableRow {
	get := func(name, label string) *Report {
		for _, r := range runs {
			if r.Run == name && r.Label == label && r.Error == "" {
				return r.Report
			}
		}
		return nil
	}
	row := func(name string, prec int, noRatio bool, f func(label string) float64) tableRow {
		t := tableRow{Name: name, Prec: prec, NoRatio: noRatio}
		for _, l := range o.Labels {
			t.Vals = append(t.Vals, f(l))
		}
		return t
	}
	// of reads a figure of one run's report, NaN if there is none.
	of := func(run string, f func(*Report) float64) func(string) float64 {
		return func(label string) float64 {
			if rep := get(run, label); rep != nil {
				return f(rep)
			}
			return math.NaN()
		}
	}
	secs := ftoa1(o.RunFor.Seconds())
	var rows []tableRow
	for _, fig := range o.Figures {
		switch fig {
		case figMarginal:
			rows = append(rows,
				row("marginal server CPU per login, 100/s → 400/s (ms)", 3, false, func(l string) float64 {
					lo, hi := get("rate100", l), get("rate400", l)
					if lo == nil || hi == nil {
						return math.NaN()
					}
					return marginalCPU(*lo, *hi)
				}),
				row("server CPU per login at 100/s (ms)", 3, false, of("rate100", serverCPUPerLogin)),
				row("server CPU per login at 400/s (ms)", 3, false, of("rate400", serverCPUPerLogin)),
				row("tool CPU per login at 100/s (ms)", 3, false, of("rate100", toolCPUPerLogin)),
				row("tool CPU per login at 400/s (ms)", 3, false, of("rate400", toolCPUPerLogin)),
				row("400/s: WebSocket push p95 (ms)", 2, false, of("rate400", func(r *Report) float64 { return r.PushLatencyWS.P95 })),
				row("400/s: WebSocket push p99 (ms)", 2, false, of("rate400", func(r *Report) float64 { return r.PushLatencyWS.P99 })),
				row("errors at 100/s + at 400/s", 0, true, func(l string) float64 {
					return of("rate100", errorCount)(l) + of("rate400", errorCount)(l)
				}),
				row("other CPU at 100/s (% of a core)", 1, true, of("rate100", otherCPU)),
				row("other CPU at 400/s (% of a core)", 1, true, of("rate400", otherCPU)),
			)
		case figRate1000:
			rows = append(rows,
				row("1,000/s for "+secs+" s: achieved (logins/s)", 1, false, of("rate1000", func(r *Report) float64 { return r.LoginsPerS })),
				row("1,000/s: errors", 0, false, of("rate1000", errorCount)),
				row("1,000/s: WebSocket push p99 (ms)", 2, false, of("rate1000", func(r *Report) float64 { return r.PushLatencyWS.P99 })),
				row("1,000/s: other CPU (% of a core)", 1, true, of("rate1000", otherCPU)),
			)
		case figWaiting:
			w := fmt.Sprintf("%d waiting", o.Waiting)
			rows = append(rows,
				row(w+": RSS per waiting socket (KiB)", 1, false, of("waiting", func(r *Report) float64 { return deref(r.ServerRSSPerWaitingKiB) })),
				row(w+": idle server CPU over "+ftoa1(o.Idle.Seconds())+" s (% of a core)", 1, false, of("waiting", func(r *Report) float64 { return deref(r.IdleCPUPercent) })),
				row(w+": RSS all up (MiB)", 1, false, of("waiting", func(r *Report) float64 { return deref(r.ServerRSSWaitingMiB) })),
				row(w+": RSS after the idle window (MiB)", 1, false, of("waiting", func(r *Report) float64 { return deref(r.ServerRSSAfterIdleMiB) })),
				row(w+": errors", 0, true, of("waiting", errorCount)),
				row(w+": other CPU in the idle window, tool included (% of a core)", 1, true, of("waiting", func(r *Report) float64 {
					return deref(r.IdleMachineCPUPercent) - deref(r.IdleCPUPercent)
				})),
			)
		case figCluster:
			rows = append(rows,
				row("3 nodes on PostgreSQL at 300/s: (nodes + PostgreSQL) CPU per login (ms)", 3, false, of("cluster", clusterCPUPerLogin)),
				row("3 nodes: of which PostgreSQL (ms)", 3, false, of("cluster", func(r *Report) float64 {
					return perLogin(deref(r.ExtraCPUSeconds), r.Logins)
				})),
				row("3 nodes: achieved (logins/s)", 1, false, of("cluster", func(r *Report) float64 { return r.LoginsPerS })),
				row("3 nodes: errors", 0, true, of("cluster", errorCount)),
				row("3 nodes: cross-node push p99 (ms)", 2, false, of("cluster", func(r *Report) float64 {
					if r.PushLatencyCross == nil {
						return math.NaN()
					}
					return r.PushLatencyCross.P99
				})),
				row("3 nodes: other CPU, PostgreSQL excluded (% of a core)", 1, true, of("cluster", otherCPU)),
			)
		}
	}
	return rows
}

// marginalCPU is the server's CPU per additional login between a run at a
// low rate and one at a higher rate, in ms: the difference of their server
// CPU over the difference of their logins. NaN if either lacks the server's
// CPU or the higher run did no more logins.
func marginalCPU(lo, hi Report) float64 {
	if lo.ServerCPUSeconds == nil || hi.ServerCPUSeconds == nil || hi.Logins <= lo.Logins {
		return math.NaN()
	}
	return (*hi.ServerCPUSeconds - *lo.ServerCPUSeconds) / float64(hi.Logins-lo.Logins) * 1000
}

// serverCPUPerLogin is a run's server CPU per login, in ms.
func serverCPUPerLogin(r *Report) float64 {
	return perLogin(deref(r.ServerCPUSeconds), r.Logins)
}

// toolCPUPerLogin is this tool's CPU per login, in ms: tool_cpu_percent of
// the elapsed time over the logins.
func toolCPUPerLogin(r *Report) float64 {
	return perLogin(r.ToolCPUPercent/100*r.ElapsedS, r.Logins)
}

// clusterCPUPerLogin is the nodes' and PostgreSQL's CPU per login, in ms.
func clusterCPUPerLogin(r *Report) float64 {
	return perLogin(deref(r.ServerCPUSeconds)+deref(r.ExtraCPUSeconds), r.Logins)
}

// perLogin is s seconds over n logins, in ms (NaN for no login).
func perLogin(s float64, n int64) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return s / float64(n) * 1000
}

func errorCount(r *Report) float64 { return float64(r.Errors) }
func otherCPU(r *Report) float64   { return deref(r.OtherCPUPercent) }

// deref is *p, or NaN for nil.
func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// renderReport is the Markdown the report prints: a heading, the binaries
// and the table.
func renderReport(f reportFile, rows []tableRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## qrlogin-load report\n\n%s, %d cores; figures: %s; runs at a rate: %s; waiting: %s with %s idle; quiet: below %s%% of the machine for %s (waited at most %s)\n\n",
		f.Started.Format(time.RFC3339), f.Cores, f.Options["figures"], f.Options["duration"], f.Options["waiting"], f.Options["idle"],
		f.Options["quiet_below_percent"], f.Options["quiet_for"], f.Options["quiet_max"])
	var labels []string
	for _, bin := range f.Binaries {
		fmt.Fprintf(&b, "- **%s**: `%s`\n", bin.Label, bin.Path)
		labels = append(labels, bin.Label)
	}
	loud := 0
	for _, r := range f.Runs {
		if r.Quiet != nil && !r.Quiet.Quiet {
			loud++
		}
	}
	if loud > 0 {
		fmt.Fprintf(&b, "\n%d of %d runs started on a machine that was not quiet (see the other CPU rows).\n", loud, len(f.Runs))
	}
	b.WriteString("\n")
	b.WriteString(markdownTable(labels, rows))
	return b.String()
}

// markdownTable formats rows with a column per label and, for two labels
// or more, a last column with the last one's value over the first's.
func markdownTable(labels []string, rows []tableRow) string {
	var b strings.Builder
	ratio := len(labels) >= 2
	b.WriteString("| figure |")
	for _, l := range labels {
		b.WriteString(" " + cellText(l) + " |")
	}
	if ratio {
		fmt.Fprintf(&b, " %s / %s |", cellText(labels[len(labels)-1]), cellText(labels[0]))
	}
	b.WriteString("\n|---|")
	for range labels {
		b.WriteString("---:|")
	}
	if ratio {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + cellText(r.Name) + " |")
		for i := range labels {
			v := math.NaN()
			if i < len(r.Vals) {
				v = r.Vals[i]
			}
			b.WriteString(" " + formatValue(v, r.Prec) + " |")
		}
		if ratio {
			b.WriteString(" " + formatRatio(r) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// formatValue writes v with prec decimals and thousands separators, or —
// when it was not measured.
func formatValue(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	if frac != "" {
		whole += "." + frac
	}
	if neg {
		whole = "-" + whole
	}
	return whole
}

// formatRatio is the last value over the first, to two decimals, or —.
func formatRatio(r tableRow) string {
	if r.NoRatio || len(r.Vals) < 2 {
		return "—"
	}
	first, last := r.Vals[0], r.Vals[len(r.Vals)-1]
	if math.IsNaN(first) || math.IsNaN(last) || first == 0 {
		return "—"
	}
	return strconv.FormatFloat(last/first, 'f', 2, 64) + "×"
}

// cellText keeps a table cell in its cell.
func cellText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func ftoa1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// prefixWriter puts prefix before each write to w (Run's log writes whole
// lines).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
