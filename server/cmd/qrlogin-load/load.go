package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

// Config is one load run. Zero values take the defaults of the flags.
type Config struct {
	Server      string // the server's base URL, or several, comma-separated: each request goes to one at random
	AllowRemote bool   // allow a Server that is not on loopback

	Waiting int // desktops kept waiting on pending tickets
	Ramp    int // waiting desktops started per second (2000)

	Rate        float64       // logins a second
	Duration    time.Duration // of the login phase (or of holding the waiting desktops)
	Phones      int           // phones of the pool that scan (64)
	MaxInFlight int           // logins in flight at most; max(100, Rate) if 0
	LongPoll    float64       // share of desktops that long-poll instead of WebSockets

	Sources     int    // 127.0.0.x source addresses (16)
	IdleConns   int    // keep-alive HTTP connections kept per source address and server (0: no limit)
	SourceFirst string // the first of them (127.0.0.2)

	ServerPID  int           // the server's process, for its RSS and CPU; 0: not measured
	ServerPIDs []int         // or several (one per node): RSS and CPU summed, and per node
	Idle       time.Duration // CPU measured while only the waiting desktops are up

	Progress        time.Duration // between progress lines (5 s)
	Drain           time.Duration // wait for logins in flight at the end (15 s)
	RequestTimeout  time.Duration // of each HTTP call and WebSocket dial (10 s)
	LongPollTimeout time.Duration // of each long-poll (40 s; the server holds 25 s)
	PushTimeout     time.Duration // for an event to reach the desktop (10 s)
	LoginTimeout    time.Duration // of a whole login (30 s)

	// ExtraCPU, if not nil, is read at the start and at the end of the
	// phase: the CPU time used so far by other processes the run loads
	// (the report's cluster figure gives PostgreSQL's), by pid. Their CPU
	// over the phase is reported as extra_cpu_s and is not counted in
	// other_cpu_percent. A process that ends during the phase is missed.
	ExtraCPU func() (map[int]time.Duration, error)

	Verbose bool
	Log     io.Writer // progress lines and warnings; nil: none
	Samples io.Writer // if not nil, every push-latency sample as a JSON line (Sample), written at the end
}

func (c *Config) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Ramp == 0 {
		c.Ramp = 2000
	}
	if c.Phones == 0 {
		c.Phones = 64
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = max(100, int(math.Ceil(c.Rate)))
	}
	if c.Sources == 0 {
		c.Sources = 16
	}
	if c.SourceFirst == "" {
		c.SourceFirst = "127.0.0.2"
	}
	def(&c.Duration, 10*time.Second)
	def(&c.Progress, 5*time.Second)
	def(&c.Drain, 15*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	def(&c.LongPollTimeout, 40*time.Second)
	def(&c.PushTimeout, 10*time.Second)
	def(&c.LoginTimeout, 30*time.Second)
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.ServerPID != 0 && !slices.Contains(c.ServerPIDs, c.ServerPID) {
		c.ServerPIDs = append([]int{c.ServerPID}, c.ServerPIDs...)
	}
	if len(c.ServerPIDs) > 0 {
		c.ServerPID = c.ServerPIDs[0]
	}
}

func (c *Config) check() error {
	switch {
	case c.Waiting < 0 || c.Rate < 0 || c.Ramp < 0 || c.Phones < 0 || c.MaxInFlight < 0 || c.Sources < 0:
		return errors.New("counts and rates must not be negative")
	case c.Waiting == 0 && c.Rate == 0:
		return errors.New("nothing to do: give -waiting N and/or -rate R")
	case c.LongPoll < 0 || c.LongPoll > 1 || math.IsNaN(c.LongPoll):
		return fmt.Errorf("-longpoll %v: want a share from 0 to 1", c.LongPoll)
	case c.Duration < 0 || c.Idle < 0:
		return errors.New("durations must not be negative")
	case c.Rate > 0 && c.Duration < time.Second:
		return errors.New("-duration must be at least 1s")
	case len(splitServers(c.Server)) == 0:
		return errors.New("no -server")
	}
	return nil
}

// Report is what a run measured; main prints it as one JSON object.
type Report struct {
	Server     string   `json:"server"`
	Servers    []string `json:"servers,omitempty"`       // several nodes: each request went to one at random
	NodeReqs   []int64  `json:"node_requests,omitempty"` // with several nodes: requests each got
	RateTarget float64  `json:"rate_target"`
	DurationS  float64  `json:"duration_s"` // of the login (or holding) phase as planned
	ElapsedS   float64  `json:"elapsed_s"`  // of it until the last login in flight ended

	Logins       int64            `json:"logins"`
	LoginsPerS   float64          `json:"logins_per_s"` // logins / elapsed_s
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	Rescans      int64            `json:"rescans"` // scans of a QR rotated meanwhile, retried

	// From sending confirm (scan) to the desktop receiving confirmed (scanned).
	PushLatency     Summary `json:"push_latency_ms"`
	ScanPushLatency Summary `json:"scan_push_latency_ms"`
	PushLatencyWS   Summary `json:"push_latency_ws_ms"`
	PushLatencyLP   Summary `json:"push_latency_longpoll_ms"`
	// Several nodes, WebSocket desktops: confirm pushes whose confirm went
	// to another node than the one holding the socket (cross), or to it.
	PushLatencyCross *Summary `json:"push_latency_cross_node_ms,omitempty"`
	PushLatencySame  *Summary `json:"push_latency_same_node_ms,omitempty"`
	Samples          int      `json:"samples_written,omitempty"`
	// From when the login was due (open-loop schedule) to its redeem.
	LoginLatency Summary `json:"login_latency_ms"`

	Waiting         int64   `json:"waiting"` // desktops waiting at the end
	WaitingTarget   int     `json:"waiting_target"`
	WaitingLongPoll int64   `json:"waiting_longpoll"`
	WaitingMin      int64   `json:"waiting_min"` // fewest waiting during the phase (renewal gaps)
	RampS           float64 `json:"ramp_s"`      // until all waiting desktops were up
	Rotations       int64   `json:"rotations"`   // rotated events the waiting desktops got
	Renewals        int64   `json:"renewals"`    // expired tickets replaced by new ones
	LongPollShare   float64 `json:"longpoll_share"`
	Sources         int     `json:"sources"`
	ToolCPUPercent  float64 `json:"tool_cpu_percent"` // this process, over the phase

	ServerPID              int        `json:"server_pid,omitempty"`
	ServerPIDs             []int      `json:"server_pids,omitempty"`         // several: the server_ figures are sums
	Nodes                  []NodeStat `json:"nodes,omitempty"`               // several pids: each one's figures
	ServerPeakRSSMiB       *float64   `json:"server_peak_rss_mib,omitempty"` // VmHWM at the end
	ServerRSSMiB           *float64   `json:"server_rss_mib,omitempty"`      // VmRSS at the end
	ServerRSSStartMiB      *float64   `json:"server_rss_start_mib,omitempty"`
	ServerRSSWaitingMiB    *float64   `json:"server_rss_waiting_mib,omitempty"`     // once all waiting were up
	ServerRSSPerWaitingKiB *float64   `json:"server_rss_per_waiting_kib,omitempty"` // (waiting - start) / waiting
	ServerOpenFiles        *int       `json:"server_open_files,omitempty"`          // once all waiting were up
	ServerCPUSeconds       *float64   `json:"server_cpu_s,omitempty"`               // over the phase
	ServerCPUPercent       *float64   `json:"server_cpu_percent,omitempty"`
	// Config.ExtraCPU's processes over the phase (PostgreSQL's).
	ExtraCPUSeconds *float64 `json:"extra_cpu_s,omitempty"`
	ExtraCPUPercent *float64 `json:"extra_cpu_percent,omitempty"`
	// The whole machine over the phase, in percent of one core (the tool
	// and the server share it: what neither used is "other", which should
	// be near 0 for a clean measurement), and iowait.
	MachineCPUPercent     *float64 `json:"machine_cpu_percent,omitempty"`
	OtherCPUPercent       *float64 `json:"other_cpu_percent,omitempty"`
	IOWaitPercent         *float64 `json:"iowait_percent,omitempty"`
	IdleS                 float64  `json:"idle_s,omitempty"`
	IdleCPUPercent        *float64 `json:"idle_cpu_percent,omitempty"`
	ServerRSSAfterIdleMiB *float64 `json:"server_rss_after_idle_mib,omitempty"`
	IdleMachineCPUPercent *float64 `json:"idle_machine_cpu_percent,omitempty"`
}

// loader is a run's shared state.
type loader struct {
	cfg    Config
	nodes  *nodes
	eps    []*endpoint
	phones []phone

	errs                     Errors
	push, pushWS, pushLP     Latencies
	pushCross, pushSame      Latencies
	samples                  sampleLog
	scanPush, loginLat       Latencies
	logins, rescans          atomic.Int64
	waiting, waitingLP       atomic.Int64
	rotations, renewals      atomic.Int64
	openWS, openLP, inflight atomic.Int64
	stopping                 atomic.Bool
	cancelLogins             context.CancelFunc
	workers                  *workers // the logins and their watchers
	logMu                    sync.Mutex
}

func (l *loader) logf(format string, args ...any) {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	fmt.Fprintf(l.cfg.Log, "qrlogin-load: "+format+"\n", args...)
}

// Run drives the server at cfg.Server: it brings cfg.Waiting desktops up
// and keeps them waiting, measures the server's idle CPU if asked, logs the
// phones in, then runs logins at cfg.Rate for cfg.Duration, waits for those
// in flight, closes everything and reports. It returns an error only when
// the run could not be set up (a bad config, the server unreachable, phones
// that could not log in); failures under load are counted in the report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.fill()
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	var bases []string
	v4loop := true
	for _, s := range splitServers(cfg.Server) {
		u, v4, err := checkTarget(s, cfg.AllowRemote)
		if err != nil {
			return Report{}, err
		}
		bases = append(bases, u.String())
		v4loop = v4loop && v4
	}
	l := &loader{cfg: cfg, nodes: newNodes(bases), workers: newWorkers()}
	defer l.workers.stop()
	if v4loop && cfg.Sources > 0 {
		srcs, err := sourceAddrs(cfg.SourceFirst, cfg.Sources)
		if err != nil {
			return Report{}, err
		}
		for _, a := range srcs {
			l.eps = append(l.eps, newEndpoint(a, cfg.IdleConns))
		}
	} else {
		l.eps = []*endpoint{newEndpoint(netip.Addr{}, cfg.IdleConns)}
	}
	defer func() {
		for _, e := range l.eps {
			e.close()
		}
	}()
	if cfg.Rate == 0 {
		cfg.Phones = 0
		l.cfg.Phones = 0
	}
	if err := l.checkFiles(); err != nil {
		return Report{}, err
	}
	rep := Report{
		Server: strings.Join(bases, ","), RateTarget: cfg.Rate, DurationS: cfg.Duration.Seconds(),
		WaitingTarget: cfg.Waiting, LongPollShare: cfg.LongPoll, Sources: len(l.eps),
		ServerPID: cfg.ServerPID,
	}
	if len(bases) > 1 {
		rep.Servers = bases
	}
	if len(cfg.ServerPIDs) > 1 {
		rep.ServerPIDs = cfg.ServerPIDs
		rep.Nodes = make([]NodeStat, len(cfg.ServerPIDs))
		for i, pid := range cfg.ServerPIDs {
			rep.Nodes[i].PID = pid
		}
	}
	if err := l.health(ctx); err != nil {
		return rep, err
	}
	var start ProcSample
	if len(cfg.ServerPIDs) > 0 {
		ss, err := l.sampleServers()
		if err != nil {
			return rep, err
		}
		start = sumProc(ss)
		rep.ServerRSSStartMiB = new(mib(start.RSS))
		for i := range rep.Nodes {
			rep.Nodes[i].RSSStartMiB = mib(ss[i].RSS)
		}
	}

	progCtx, stopProgress := context.WithCancel(context.Background())
	var progWG sync.WaitGroup
	progWG.Go(func() { ; l.progress(progCtx) })
	defer func() { stopProgress(); progWG.Wait() }()

	// The waiting desktops, started at cfg.Ramp a second.
	wctx, stopWaiting := context.WithCancel(context.Background())
	defer stopWaiting()
	var waitWG sync.WaitGroup
	if cfg.Waiting > 0 {
		rep.RampS = l.rampUp(ctx, wctx, &waitWG)
		if len(cfg.ServerPIDs) > 0 {
			if ss, err := l.sampleServers(); err == nil {
				s := sumProc(ss)
				rep.ServerRSSWaitingMiB = new(mib(s.RSS))
				if n := l.waiting.Load(); n > 0 {
					rep.ServerRSSPerWaitingKiB = new(math.Round(float64(s.RSS-start.RSS)/float64(n)/1024*10) / 10)
				}
				for i := range rep.Nodes {
					rep.Nodes[i].RSSWaitingMiB = new(mib(ss[i].RSS))
				}
			}
			total, ok := 0, true
			for i, pid := range cfg.ServerPIDs {
				open, _, err := procFiles(pid)
				if err != nil {
					ok = false
					continue
				}
				total += open
				if rep.Nodes != nil {
					rep.Nodes[i].OpenFilesWaiting = new(open)
				}
			}
			if ok {
				rep.ServerOpenFiles = &total
			}
		}
	}

	if cfg.Idle > 0 && ctx.Err() == nil {
		l.logf("measuring idle for %s with %d desktops waiting", cfg.Idle, l.waiting.Load())
		as, aerr := l.sampleServers()
		ma, maerr := readMachine()
		sleep(ctx, cfg.Idle)
		bs, berr := l.sampleServers()
		mb, mberr := readMachine()
		if aerr == nil && berr == nil {
			a, b := sumProc(as), sumProc(bs)
			rep.IdleS = round3(b.At.Sub(a.At).Seconds())
			rep.IdleCPUPercent = new(cpuPercent(a, b))
			rep.ServerRSSAfterIdleMiB = new(mib(b.RSS))
			for i := range rep.Nodes {
				rep.Nodes[i].IdleCPUPercent = new(cpuPercent(as[i], bs[i]))
			}
		}
		if maerr == nil && mberr == nil {
			if wall := mb.At.Sub(ma.At); wall > 0 {
				rep.IdleMachineCPUPercent = new(math.Round(float64(mb.Busy-ma.Busy)/float64(wall)*1000) / 10)
			}
		}
	}

	// The phones log in only now, so that their password hashes (two
	// argon2id of 19 MiB each) weigh neither on the RSS per waiting desktop
	// nor on the idle CPU.
	if cfg.Rate > 0 && ctx.Err() == nil {
		t0 := time.Now()
		var err error
		if l.phones, err = l.setupPhones(ctx, cfg.Phones); err != nil {
			return rep, err
		}
		l.logf("%d phones logged in in %.1fs", len(l.phones), time.Since(t0).Seconds())
	}

	// The phase: logins at cfg.Rate, or only holding the waiting desktops.
	phaseStart := time.Now()
	srvAs, srvErr := l.sampleServers()
	srvA := sumProc(srvAs)
	selfA, selfErr := readProc(os.Getpid())
	machA, machErr := readMachine()
	extraA, extraErr := readExtra(cfg.ExtraCPU)
	waitMin := l.watchWaitingMin(ctx)
	if cfg.Rate > 0 {
		lctx, cancelLogins := context.WithCancel(ctx)
		defer cancelLogins()
		l.cancelLogins = cancelLogins
		l.schedule(lctx, phaseStart)
	} else {
		sleep(ctx, cfg.Duration)
	}
	rep.WaitingMin = waitMin()
	elapsed := time.Since(phaseStart)
	if cfg.Rate > 0 {
		elapsed = l.drain(phaseStart)
	}
	srvBs, srvErr2 := l.sampleServers()
	srvB := sumProc(srvBs)
	selfB, selfErr2 := readProc(os.Getpid())
	machB, machErr2 := readMachine()
	extraB, extraErr2 := readExtra(cfg.ExtraCPU)

	// The end: how many still wait, then close them.
	rep.Waiting = l.settleWaiting(2 * time.Second)
	rep.WaitingLongPoll = l.waitingLP.Load()
	stopWaiting()
	waitDone := make(chan struct{})
	go func() { waitWG.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(15 * time.Second):
		l.logf("some waiting desktops did not close within 15s")
	}

	rep.ElapsedS = round3(elapsed.Seconds())
	rep.Logins = l.logins.Load()
	if elapsed > 0 && cfg.Rate > 0 {
		rep.LoginsPerS = round3(float64(rep.Logins) / elapsed.Seconds())
	}
	rep.Errors = l.errs.Total()
	rep.ErrorsByKind = l.errs.ByKind()
	rep.Rescans = l.rescans.Load()
	rep.PushLatency = l.push.Summary()
	rep.ScanPushLatency = l.scanPush.Summary()
	rep.PushLatencyWS = l.pushWS.Summary()
	rep.PushLatencyLP = l.pushLP.Summary()
	rep.LoginLatency = l.loginLat.Summary()
	if len(bases) > 1 {
		rep.PushLatencyCross = new(l.pushCross.Summary())
		rep.PushLatencySame = new(l.pushSame.Summary())
		rep.NodeReqs = l.nodes.counts()
	}
	if cfg.Samples != nil {
		if err := l.samples.writeTo(cfg.Samples); err != nil {
			l.logf("writing the samples: %v", err)
			l.errs.Add("samples_write")
			rep.Errors = l.errs.Total()
			rep.ErrorsByKind = l.errs.ByKind()
		}
		rep.Samples = len(l.samples.s)
	}
	rep.Rotations = l.rotations.Load()
	rep.Renewals = l.renewals.Load()
	if selfErr == nil && selfErr2 == nil {
		rep.ToolCPUPercent = cpuPercent(selfA, selfB)
	}
	var extraPct float64
	if cfg.ExtraCPU != nil {
		if extraErr == nil && extraErr2 == nil {
			d := extraCPU(extraA, extraB)
			rep.ExtraCPUSeconds = new(round3(d.Seconds()))
			if wall := machB.At.Sub(machA.At); wall > 0 {
				extraPct = math.Round(float64(d)/float64(wall)*1000) / 10
				rep.ExtraCPUPercent = new(extraPct)
			}
		} else {
			l.logf("warning: the extra processes' CPU could not be read: %v", errors.Join(extraErr, extraErr2))
		}
	}
	if machErr == nil && machErr2 == nil {
		if wall := machB.At.Sub(machA.At); wall > 0 {
			busy := float64(machB.Busy-machA.Busy) / float64(wall) * 100
			rep.MachineCPUPercent = new(math.Round(busy*10) / 10)
			rep.IOWaitPercent = new(math.Round(float64(machB.Wait-machA.Wait)/float64(wall)*1000) / 10)
			if srvErr == nil && srvErr2 == nil && selfErr == nil && selfErr2 == nil {
				other := busy - cpuPercent(srvA, srvB) - cpuPercent(selfA, selfB) - extraPct
				rep.OtherCPUPercent = new(math.Round(max(other, 0)*10) / 10)
			}
		}
	}
	if srvErr == nil && srvErr2 == nil {
		rep.ServerCPUSeconds = new(round3((srvB.CPU - srvA.CPU).Seconds()))
		rep.ServerCPUPercent = new(cpuPercent(srvA, srvB))
		for i := range rep.Nodes {
			rep.Nodes[i].CPUSeconds = new(round3((srvBs[i].CPU - srvAs[i].CPU).Seconds()))
			rep.Nodes[i].CPUPercent = new(cpuPercent(srvAs[i], srvBs[i]))
		}
		if ends, err := l.sampleServers(); err == nil {
			end := sumProc(ends)
			rep.ServerRSSMiB = new(mib(end.RSS))
			rep.ServerPeakRSSMiB = new(mib(end.HWM))
			for i := range rep.Nodes {
				rep.Nodes[i].RSSMiB = new(mib(ends[i].RSS))
				rep.Nodes[i].PeakRSSMiB = new(mib(ends[i].HWM))
			}
		}
	}
	return rep, nil
}

// checkFiles refuses a run that needs more file descriptors than this
// process may open, and warns when the server's limit looks too small.
func (l *loader) checkFiles() error {
	c := l.cfg
	inflight := 0
	if c.Rate > 0 {
		inflight = c.MaxInFlight
	}
	// A waiting desktop holds one socket; a login in flight a WebSocket
	// and a pooled HTTP connection; the rest is phones, pools and stdio.
	need := c.Waiting + 2*inflight + c.Phones + 4*len(l.eps) + 64
	limit, err := fileLimit()
	if err == nil && need > limit {
		per := limit - 2*inflight - c.Phones - 4*len(l.eps) - 64
		return fmt.Errorf("-waiting %d (plus %d logins in flight) needs about %d file descriptors, but this process may open only %d (RLIMIT_NOFILE; Go already raised the soft limit to the hard one): run several qrlogin-load processes side by side, each with its own -source-first and -waiting at most %d", c.Waiting, inflight, need, limit, max(per, 0))
	}
	for _, pid := range c.ServerPIDs {
		// Each node gets about its share of the sockets.
		share := (c.Waiting + inflight + len(c.ServerPIDs) - 1) / len(c.ServerPIDs)
		open, slimit, err := procFiles(pid)
		if err != nil {
			l.logf("warning: cannot read the open files of server %d: %v", pid, err)
		} else if slimit > 0 && open+share > slimit {
			l.logf("warning: server %d has %d of %d files open; %d more sockets would pass its limit, so expect ws_dial and create errors", pid, open, slimit, share)
		}
	}
	return nil
}

// health checks that the server answers at all before anything starts.
func (l *loader) health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
	defer cancel()
	for _, base := range l.nodes.bases {
		var h api.Health
		if err := call(ctx, 0, l.eps[0].hc, http.MethodGet, base+api.PathHealth, creds{}, nil, &h); err != nil {
			return fmt.Errorf("server %s is not answering %s: %w", base, api.PathHealth, err)
		}
	}
	return nil
}

// rampUp starts cfg.Waiting desktops at cfg.Ramp a second, each on wctx,
// and waits until all are waiting (or for as long as the ramp should have
// taken plus 30 s). It returns how long that took.
func (l *loader) rampUp(ctx, wctx context.Context, wg *sync.WaitGroup) float64 {
	c := l.cfg
	t0 := time.Now()
	for i := 0; i < c.Waiting && ctx.Err() == nil; i++ {
		if c.Ramp > 0 {
			sleep(ctx, time.Until(t0.Add(time.Duration(float64(i)/float64(c.Ramp)*float64(time.Second)))))
		}
		wg.Go(func() { ; l.waitingDesktop(wctx, i) })
	}
	limit := time.Duration(float64(c.Waiting)/float64(max(c.Ramp, 1))*float64(time.Second)) + 30*time.Second
	for l.waiting.Load() < int64(c.Waiting) && time.Since(t0) < limit && ctx.Err() == nil {
		sleep(ctx, 10*time.Millisecond)
	}
	took := time.Since(t0)
	if n := l.waiting.Load(); n < int64(c.Waiting) {
		l.logf("only %d of %d desktops waiting after %s", n, c.Waiting, took.Round(time.Millisecond))
		l.errs.Add("ramp_incomplete")
	} else {
		l.logf("%d desktops waiting after %.1fs", n, took.Seconds())
	}
	return round3(took.Seconds())
}

// schedule issues logins open-loop: the n-th is due at start + n/Rate
// whatever became of the earlier ones, so a slow server shows as latency
// (counted from when each was due) and as skipped logins, never as a
// quietly lower rate. At most MaxInFlight run at once; a login due when
// that many are in flight is counted as an "inflight_full" error.
func (l *loader) schedule(ctx context.Context, start time.Time) {
	c := l.cfg
	total := int64(c.Rate * c.Duration.Seconds())
	tick := time.NewTicker(min(max(time.Duration(float64(time.Second)/c.Rate), time.Millisecond), 100*time.Millisecond))
	defer tick.Stop()
	var issued int64
	for issued < total {
		due := min(int64(time.Since(start).Seconds()*c.Rate)+1, total)
		for ; issued < due; issued++ {
			planned := start.Add(time.Duration(float64(issued) / c.Rate * float64(time.Second)))
			if l.inflight.Load() >= int64(c.MaxInFlight) {
				l.errs.Add("inflight_full")
				continue
			}
			l.inflight.Add(1)
			n := issued
			l.workers.run(func() { l.login(ctx, n, planned) })
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain waits up to cfg.Drain for the logins in flight, then cuts off the
// rest, counting them as "drain_timeout". It returns the time from start to
// the last login's end.
func (l *loader) drain(start time.Time) time.Duration {
	deadline := time.Now().Add(l.cfg.Drain)
	for l.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if n := l.inflight.Load(); n > 0 {
		l.stopping.Store(true)
		l.cancelLogins()
		for range n {
			l.errs.Add("drain_timeout")
		}
		l.logf("%d logins still in flight after the %s drain: cut off", n, l.cfg.Drain)
		for l.inflight.Load() > 0 && time.Since(deadline) < 5*time.Second {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return elapsed
}

// settleWaiting returns how many desktops wait now; if fewer than the
// target, it gives those between two tickets (a renewal takes a few
// milliseconds) up to d to come back.
func (l *loader) settleWaiting(d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for l.waiting.Load() < int64(l.cfg.Waiting) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return l.waiting.Load()
}

// watchWaitingMin samples the waiting desktops every 100 ms and returns a
// function that stops and yields the fewest seen.
func (l *loader) watchWaitingMin(ctx context.Context) func() int64 {
	var lowest atomic.Int64
	lowest.Store(l.waiting.Load())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if n := l.waiting.Load(); n < lowest.Load() {
				lowest.Store(n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { cancel(); <-done; return lowest.Load() }
}

// progress prints a line every cfg.Progress until ctx ends.
func (l *loader) progress(ctx context.Context) {
	t := time.NewTicker(l.cfg.Progress)
	defer t.Stop()
	start := time.Now()
	lastLogins, lastAt := l.logins.Load(), start
	lastSrv, srvErr := l.sampleServer()
	lastMach, machErr := readMachine()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		n := l.logins.Load()
		rate := float64(n-lastLogins) / now.Sub(lastAt).Seconds()
		lastLogins, lastAt = n, now
		srv := ""
		if s, err := l.sampleServer(); err == nil {
			if srvErr == nil {
				srv = fmt.Sprintf(" server_cpu=%.0f%% rss=%.0fMiB", cpuPercent(lastSrv, s), mib(s.RSS))
			}
			lastSrv, srvErr = s, nil
		}
		if m, err := readMachine(); err == nil {
			if machErr == nil {
				srv += fmt.Sprintf(" machine_cpu=%.0f%%", float64(m.Busy-lastMach.Busy)/float64(m.At.Sub(lastMach.At))*100)
			}
			lastMach, machErr = m, nil
		}
		p := l.push.Summary()
		l.logf("t=%.0fs logins/s=%.0f logins=%d errors=%d waiting=%d open_ws=%d long_polls=%d inflight=%d push_p99=%.2fms%s",
			now.Sub(start).Seconds(), rate, n, l.errs.Total(), l.waiting.Load(), l.openWS.Load(), l.openLP.Load(), l.inflight.Load(), p.P99, srv)
	}
}

// workers runs short tasks (a login, its desktop's watcher) on goroutines
// kept for the next ones: a new goroutine's stack grows, copied each time,
// through net/http and encoding/json, and a kept one has grown already.
type workers struct {
	work chan func() // an idle worker takes a task here
	done chan struct{}
}

func newWorkers() *workers {
	return &workers{work: make(chan func()), done: make(chan struct{})}
}

// run runs f on an idle worker, or on a new one if none is idle.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	for {
		f()
		select {
		case f = <-w.work:
		case <-w.done:
			return
		}
	}
}

// stop lets the workers end once their tasks are done.
func (w *workers) stop() { close(w.done) }

// cpuPercent is the CPU a process used between two samples, in percent of
// one core.
func cpuPercent(a, b ProcSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return math.Round(float64(b.CPU-a.CPU)/float64(wall)*1000) / 10
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// readExtra calls f, if not nil.
func readExtra(f func() (map[int]time.Duration, error)) (map[int]time.Duration, error) {
	if f == nil {
		return nil, nil
	}
	return f()
}

// extraCPU is the CPU processes used between two readings by pid: each
// one's growth, and all of a process that was not there at the first (it
// started in between). A process gone by the second is not counted.
func extraCPU(a, b map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cb := range b {
		if ca, ok := a[pid]; ok {
			d += max(cb-ca, 0)
		} else {
			d += cb
		}
	}
	return d
}
