package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

func TestSplitServers(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1":                      "[http://127.0.0.1:1]",
		"http://127.0.0.1:1, http://127.0.0.1:2,": "[http://127.0.0.1:1 http://127.0.0.1:2]",
		" , ": "[]",
	} {
		if got := fmt.Sprint(splitServers(in)); got != want {
			t.Errorf("splitServers(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPIDList(t *testing.T) {
	var p pidList
	if err := p.Set("12, 34,56"); err != nil || p.String() != "12,34,56" {
		t.Errorf("Set(12, 34,56) = %v, %q", err, p.String())
	}
	for _, bad := range []string{"", "x", "1,-2", "0"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-server", "http://127.0.0.1:1", "-rate", "1", "-server-pid", "1,x"}, &out, &errb); code != 2 {
		t.Errorf("-server-pid 1,x: exit %d, want 2", code)
	}
}

// Picking is uniform over the nodes and counts each request.
func TestNodesPick(t *testing.T) {
	n := newNodes([]string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"})
	if got := fmt.Sprint(n.wsBases); got != "[ws://127.0.0.1:1 ws://127.0.0.1:2 ws://127.0.0.1:3]" {
		t.Errorf("wsBases = %s", got)
	}
	const draws = 30000
	seen := map[string]int{}
	for range draws {
		seen[n.base()]++
	}
	counts := n.counts()
	for i, b := range n.bases {
		if seen[b] != int(counts[i]) {
			t.Errorf("node %d: picked %d times, counted %d", i, seen[b], counts[i])
		}
		// Binomial(30000, 1/3): sd ≈ 82; 600 is over 7 sd.
		if d := seen[b] - draws/3; d < -600 || d > 600 {
			t.Errorf("node %d picked %d of %d times, want about a third", i, seen[b], draws)
		}
	}
	// A fixed picker shows that pick uses intn and counts.
	n = newNodes([]string{"http://a", "http://b"})
	next := 0
	n.intn = func(k int) int { next = (next + 1) % k; return next }
	got := []int{n.pick(), n.pick(), n.pick()}
	if fmt.Sprint(got) != "[1 0 1]" || fmt.Sprint(n.counts()) != "[1 2]" {
		t.Errorf("picks %v, counts %v", got, n.counts())
	}
	// One node: always it, without asking intn.
	one := newNodes([]string{"http://a"})
	one.intn = func(int) int { panic("intn called for one node") }
	if one.pick() != 0 {
		t.Error("one node: pick != 0")
	}
}

func TestSumProc(t *testing.T) {
	at := time.Now()
	s := sumProc([]ProcSample{{At: at, CPU: time.Second, RSS: 10, HWM: 20}, {At: at.Add(time.Millisecond), CPU: 2 * time.Second, RSS: 1, HWM: 2}})
	if !s.At.Equal(at) || s.CPU != 3*time.Second || s.RSS != 11 || s.HWM != 22 {
		t.Errorf("sumProc = %+v", s)
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	var l sampleLog
	l.add("ws", "confirmed", 1500*time.Microsecond, new(true))
	l.add("longpoll", "scanned", 2*time.Millisecond, nil)
	var b bytes.Buffer
	if err := l.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"ws","type":"confirmed","ms":1.5,"cross":true}` + "\n" + `{"kind":"longpoll","type":"scanned","ms":2}` + "\n"
	if b.String() != want {
		t.Errorf("samples:\n%s\nwant\n%s", b.String(), want)
	}
	b.WriteString("# a comment\n\n3.25\n")
	got, err := readSamples(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].MS != 1.5 || got[0].Cross == nil || !*got[0].Cross || got[1].Kind != "longpoll" || got[2].MS != 3.25 || got[2].Type != "confirmed" {
		t.Errorf("readSamples = %+v", got)
	}
	if _, err := readSamples(strings.NewReader("{bad\n")); err == nil {
		t.Error("readSamples accepted a bad line")
	}
}

// countingProxy is a second "node" in front of the real server: it passes
// everything on (WebSocket upgrades too) and counts requests by kind.
type countingProxy struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingProxy) kind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == api.PathTickets:
		return "create"
	case strings.HasSuffix(p, "/events"):
		return "ws"
	case strings.HasSuffix(p, "/wait"):
		return "longpoll"
	case strings.HasSuffix(p, "/redeem"):
		return "redeem"
	case p == api.PathMobileScan:
		return "scan"
	case p == api.PathMobileConfirm:
		return "confirm"
	}
	return "other"
}

func (c *countingProxy) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// Against two "nodes" (the server and a proxy in front of it), every kind
// of request reaches each, the WebSocket pushes split into cross-node and
// same-node, and -samples gets a line per push.
func TestRunSeveralNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real server")
	}
	srvURL, pid := startServer(t, "-no-rate-limits", "-match", "never")
	target, _ := url.Parse(srvURL)
	cp := &countingProxy{n: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cp.mu.Lock()
		cp.n[cp.kind(r)]++
		cp.mu.Unlock()
		r.Host = target.Host // a second node of the same server: the node's own name
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	var samples bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const rate, duration = 40, 2 * time.Second
	rep, err := Run(ctx, Config{
		Server: srvURL + "," + proxy.URL, Waiting: 20, Rate: rate, Duration: duration, LongPoll: 0.25,
		Phones: 4, ServerPIDs: []int{pid, pid}, Samples: &samples,
	})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report: %s", js)
	if rep.Errors != 0 {
		t.Errorf("errors = %d %v", rep.Errors, rep.ErrorsByKind)
	}
	if len(rep.Servers) != 2 || len(rep.NodeReqs) != 2 || rep.NodeReqs[0] == 0 || rep.NodeReqs[1] == 0 {
		t.Errorf("servers %v, node_requests %v: want two nodes, each with requests", rep.Servers, rep.NodeReqs)
	}
	for _, k := range []string{"create", "ws", "longpoll", "scan", "confirm", "redeem"} {
		if cp.get(k) == 0 {
			t.Errorf("the second node got no %s request (%v)", k, cp.n)
		}
	}
	if rep.PushLatencyCross == nil || rep.PushLatencySame == nil || rep.PushLatencyCross.N == 0 || rep.PushLatencySame.N == 0 ||
		rep.PushLatencyCross.N+rep.PushLatencySame.N != rep.PushLatencyWS.N {
		t.Errorf("cross %+v + same %+v, want both > 0 and adding up to ws %+v", rep.PushLatencyCross, rep.PushLatencySame, rep.PushLatencyWS)
	}
	if len(rep.Nodes) != 2 || rep.Nodes[0].CPUPercent == nil || rep.Nodes[1].RSSMiB == nil {
		t.Errorf("nodes = %+v, want two with figures", rep.Nodes)
	}
	got, err := readSamples(&samples)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != 2*rep.Logins || rep.Samples != len(got) {
		t.Errorf("%d samples (report says %d), want 2 per login (%d logins)", len(got), rep.Samples, rep.Logins)
	}
	byKey := map[string]int{}
	for _, s := range got {
		k := s.Kind + "/" + s.Type
		if s.Cross != nil {
			k += "/cross-known"
		}
		byKey[k]++
	}
	if byKey["ws/confirmed/cross-known"] != rep.PushLatencyWS.N || byKey["longpoll/confirmed"] != rep.PushLatencyLP.N ||
		byKey["ws/scanned"]+byKey["longpoll/scanned"] != int(rep.Logins) {
		t.Errorf("samples by kind %v do not match the report", byKey)
	}
}
