package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Several nodes: -server takes a comma-separated list of base URLs, and
// the tool plays a load balancer without sticky sessions: every request
// (create, the WebSocket or each long-poll, scan, confirm, redeem, the
// phones' registration) goes to a node picked at random. The nodes share
// one database and one -base-url; a scan needs only the QR's ref, so a
// payload naming node 1 is scanned on whichever node is picked.

// splitServers splits a -server value into its base URLs.
func splitServers(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// nodes is the list of servers a run targets and how many requests each
// got.
type nodes struct {
	bases    []string // http://host:port, no trailing slash
	wsBases  []string // ws://host:port
	requests []atomic.Int64
	// intn picks a node; rand.IntN unless a test replaces it.
	intn func(n int) int
}

func newNodes(bases []string) *nodes {
	n := &nodes{bases: bases, requests: make([]atomic.Int64, len(bases)), intn: rand.IntN}
	for _, b := range bases {
		n.wsBases = append(n.wsBases, "ws"+strings.TrimPrefix(b, "http"))
	}
	return n
}

// pick returns the node the next request goes to, at random, and counts
// the request.
func (n *nodes) pick() int {
	i := 0
	if len(n.bases) > 1 {
		i = n.intn(len(n.bases))
	}
	n.requests[i].Add(1)
	return i
}

// base picks a node and returns its base URL.
func (n *nodes) base() string { return n.bases[n.pick()] }

// counts returns the requests each node got.
func (n *nodes) counts() []int64 {
	out := make([]int64, len(n.requests))
	for i := range n.requests {
		out[i] = n.requests[i].Load()
	}
	return out
}

// pidList is the -server-pid flag: one pid or a comma-separated list, one
// per node.
type pidList []int

func (p *pidList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, v := range *p {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (p *pidList) Set(v string) error {
	*p = nil
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a pid", f)
		}
		*p = append(*p, n)
	}
	if len(*p) == 0 {
		return errors.New("no pid")
	}
	return nil
}

// NodeStat is one server process's share of the run, when several pids
// were given.
type NodeStat struct {
	PID              int      `json:"pid"`
	RSSStartMiB      float64  `json:"rss_start_mib"`
	RSSWaitingMiB    *float64 `json:"rss_waiting_mib,omitempty"`
	RSSMiB           *float64 `json:"rss_mib,omitempty"`
	PeakRSSMiB       *float64 `json:"peak_rss_mib,omitempty"`
	CPUSeconds       *float64 `json:"cpu_s,omitempty"`
	CPUPercent       *float64 `json:"cpu_percent,omitempty"`
	IdleCPUPercent   *float64 `json:"idle_cpu_percent,omitempty"`
	OpenFilesWaiting *int     `json:"open_files_waiting,omitempty"`
}

// sampleServers reads every server process's /proc.
func (l *loader) sampleServers() ([]ProcSample, error) {
	pids := l.cfg.ServerPIDs
	if len(pids) == 0 {
		return nil, errors.New("no -server-pid")
	}
	out := make([]ProcSample, len(pids))
	for i, pid := range pids {
		s, err := readProc(pid)
		if err != nil {
			return nil, fmt.Errorf("-server-pid %d: %w", pid, err)
		}
		out[i] = s
	}
	return out, nil
}

// sampleServer reads the server processes' /proc and sums them: CPU, RSS
// and peak RSS (the sum of each one's peak).
func (l *loader) sampleServer() (ProcSample, error) {
	ss, err := l.sampleServers()
	if err != nil {
		return ProcSample{}, err
	}
	return sumProc(ss), nil
}

// sumProc adds up samples of several processes taken at about the same
// time (it keeps the first one's time).
func sumProc(ss []ProcSample) ProcSample {
	var sum ProcSample
	for i, s := range ss {
		if i == 0 {
			sum.At = s.At
		}
		sum.CPU += s.CPU
		sum.RSS += s.RSS
		sum.HWM += s.HWM
	}
	return sum
}

// Sample is one push-latency measurement as -samples writes it: a JSON
// line per event a login's desktop received.
type Sample struct {
	Kind  string  `json:"kind"` // ws or longpoll: how the desktop watched
	Type  string  `json:"type"` // scanned (from the scan) or confirmed (from the confirm)
	MS    float64 `json:"ms"`
	Cross *bool   `json:"cross,omitempty"` // several nodes, WebSocket: the event came from another node than the socket's
}

// sampleLog keeps every sample of a run for -samples.
type sampleLog struct {
	mu sync.Mutex
	s  []Sample
}

func (s *sampleLog) add(kind, typ string, d time.Duration, cross *bool) {
	s.mu.Lock()
	s.s = append(s.s, Sample{Kind: kind, Type: typ, MS: ms(d), Cross: cross})
	s.mu.Unlock()
}

// writeTo writes the samples as JSON lines.
func (s *sampleLog) writeTo(w io.Writer) error {
	s.mu.Lock()
	samples := slices.Clone(s.s)
	s.mu.Unlock()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, x := range samples {
		if err := enc.Encode(x); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// readSamples reads a -samples file: JSON lines, or bare numbers of
// milliseconds one a line (taken as ws confirmed). Blank lines and lines
// starting with # are skipped.
func readSamples(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var s Sample
		if strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		} else {
			v, err := strconv.ParseFloat(line, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is neither JSON nor a number", n, line)
			}
			s = Sample{Kind: "ws", Type: "confirmed", MS: v}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}
