package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMarginalCPU(t *testing.T) {
	rep := func(cpu float64, logins int64) Report {
		return Report{ServerCPUSeconds: &cpu, Logins: logins}
	}
	for _, tc := range []struct {
		name   string
		lo, hi Report
		want   float64 // NaN: none
	}{
		// 2,000 logins cost 4 s, 8,000 cost 13 s: 9 s for 6,000 more.
		{"100 to 400", rep(4, 2000), rep(13, 8000), 1.5},
		{"no more logins", rep(4, 2000), rep(5, 2000), math.NaN()},
		{"fewer logins", rep(4, 2000), rep(5, 1000), math.NaN()},
		{"no server CPU", Report{Logins: 2000}, rep(13, 8000), math.NaN()},
	} {
		got := marginalCPU(tc.lo, tc.hi)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
			t.Errorf("%s: marginalCPU = %v, want %v", tc.name, got, tc.want)
		}
	}
	r := Report{ServerCPUSeconds: new(3.0), Logins: 2000, ToolCPUPercent: 25, ElapsedS: 20}
	if got := serverCPUPerLogin(&r); got != 1.5 {
		t.Errorf("serverCPUPerLogin = %v, want 1.5 ms", got)
	}
	// A quarter of a core for 20 s over 2,000 logins: 2.5 ms each.
	if got := toolCPUPerLogin(&r); math.Abs(got-2.5) > 1e-9 {
		t.Errorf("toolCPUPerLogin = %v, want 2.5 ms", got)
	}
	r.ExtraCPUSeconds = new(1.0)
	if got := clusterCPUPerLogin(&r); got != 2 {
		t.Errorf("clusterCPUPerLogin = %v, want 2 ms", got)
	}
	if got := toolCPUPerLogin(&Report{ToolCPUPercent: 10, ElapsedS: 5}); !math.IsNaN(got) {
		t.Errorf("toolCPUPerLogin with no login = %v, want NaN", got)
	}
}

func TestExtraCPU(t *testing.T) {
	a := map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: time.Second}
	b := map[int]time.Duration{1: 3 * time.Second, 2: 2 * time.Second, 4: 500 * time.Millisecond}
	// 1 grew 2 s, 2 not at all, 3 ended (missed), 4 started: 2.5 s.
	if got := extraCPU(a, b); got != 2500*time.Millisecond {
		t.Errorf("extraCPU = %v, want 2.5s", got)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		prec int
		want string
	}{
		{0, 0, "0"}, {1.23456, 3, "1.235"}, {999.96, 1, "1,000.0"}, {1234567.8, 1, "1,234,567.8"},
		{-1234.5, 0, "-1,234"}, {12, 2, "12.00"}, {math.NaN(), 2, "—"}, {math.Inf(1), 1, "—"},
	} {
		if got := formatValue(tc.v, tc.prec); got != tc.want {
			t.Errorf("formatValue(%v, %d) = %q, want %q", tc.v, tc.prec, got, tc.want)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	rows := []tableRow{
		{Name: "marginal server CPU per login (ms)", Vals: []float64{2, 1.5}, Prec: 3},
		{Name: "errors", Vals: []float64{0, 12}, Prec: 0, NoRatio: true},
		{Name: "RSS | all up (MiB)", Vals: []float64{math.NaN(), 450}, Prec: 1},
		{Name: "zero first", Vals: []float64{0, 3}, Prec: 1},
	}
	got := markdownTable([]string{"old", "new"}, rows)
	want := `| figure | old | new | new / old |
|---|---:|---:|---:|
| marginal server CPU per login (ms) | 2.000 | 1.500 | 0.75× |
| errors | 0 | 12 | — |
| RSS \| all up (MiB) | — | 450.0 | — |
| zero first | 0.0 | 3.0 | — |
`
	if got != want {
		t.Errorf("two binaries:\n%s\nwant:\n%s", got, want)
	}
	got = markdownTable([]string{"only"}, rows[:1])
	want = "| figure | only |\n|---|---:|\n| marginal server CPU per login (ms) | 2.000 |\n"
	if got != want {
		t.Errorf("one binary (no ratio column):\n%s\nwant:\n%s", got, want)
	}
}

// The rows of the marginal figure come from the two runs of each binary;
// a binary whose run failed has empty cells, not zeros.
func TestBuildRowsMarginal(t *testing.T) {
	run := func(name, label string, cpu float64, logins int64, other float64) *reportRun {
		return &reportRun{Figure: figMarginal, Run: name, Label: label, Report: &Report{
			ServerCPUSeconds: &cpu, Logins: logins, ToolCPUPercent: 50, ElapsedS: 20, OtherCPUPercent: &other,
		}}
	}
	o := reportOpts{Labels: []string{"a", "b"}, Figures: []string{figMarginal}, RunFor: 20 * time.Second}
	runs := []*reportRun{
		run("rate100", "a", 4, 2000, 1), run("rate100", "b", 3, 2000, 2),
		run("rate400", "a", 13, 8000, 3), {Figure: figMarginal, Run: "rate400", Label: "b", Error: "the server did not start"},
	}
	rows := buildRows(o, runs)
	if len(rows) == 0 || !strings.HasPrefix(rows[0].Name, "marginal server CPU per login") {
		t.Fatalf("rows = %+v, want the marginal CPU first", rows)
	}
	if v := rows[0].Vals; v[0] != 1.5 || !math.IsNaN(v[1]) {
		t.Errorf("marginal = %v, want [1.5 NaN]", v)
	}
	byName := map[string][]float64{}
	for _, r := range rows {
		byName[r.Name] = r.Vals
	}
	if v := byName["server CPU per login at 100/s (ms)"]; v[0] != 2 || v[1] != 1.5 {
		t.Errorf("server CPU per login at 100/s = %v, want [2 1.5]", v)
	}
	if v := byName["other CPU at 400/s (% of a core)"]; v[0] != 3 || !math.IsNaN(v[1]) {
		t.Errorf("other CPU at 400/s = %v, want [3 NaN]", v)
	}
	// Half a core for 20 s over 2,000 logins: 5 ms each.
	if v := byName["tool CPU per login at 100/s (ms)"]; v[0] != 5 {
		t.Errorf("tool CPU per login at 100/s = %v, want 5", v)
	}
}

func TestParseListening(t *testing.T) {
	for _, tc := range []struct {
		line      string
		url, addr string
		ok        bool
	}{
		{"time=2026-01-02T03:04:05.678Z level=INFO msg=listening url=http://127.0.0.1:41234 addr=127.0.0.1:41234 db=/tmp/x/x.db\n",
			"http://127.0.0.1:41234", "127.0.0.1:41234", true},
		// A node with -base-url logs that as its url.
		{`time=2026-01-02T03:04:05Z level=INFO msg=listening url=http://127.0.0.1:8081 addr=127.0.0.1:40000 db="postgres://postgres@127.0.0.1:5432/x db"`,
			"http://127.0.0.1:8081", "127.0.0.1:40000", true},
		{`time=x level=INFO msg="listening" url="http://127.0.0.1:1" addr=127.0.0.1:1`, "http://127.0.0.1:1", "127.0.0.1:1", true},
		{`time=x level=INFO msg=listening url=http://127.0.0.1:1`, "http://127.0.0.1:1", "", true},
		{`{"time":"x","level":"INFO","msg":"listening","url":"http://127.0.0.1:2","addr":"127.0.0.1:2"}`, "http://127.0.0.1:2", "127.0.0.1:2", true},
		{`time=x level=INFO msg="listening soon" url=http://127.0.0.1:1`, "", "", false},
		{`time=x level=INFO msg=listening`, "", "", false},
		{`time=x level=INFO msg=pprof url=http://127.0.0.1:6060/debug/pprof/`, "", "", false},
		{`time=x level=INFO msg="opened database" db=x.db`, "", "", false},
		{`{"msg":"pprof","url":"http://127.0.0.1:6060"}`, "", "", false},
		{`{not json`, "", "", false},
		{"", "", "", false},
		{`garbage without pairs msg=listening url=http://127.0.0.1:3 "unterminated`, "http://127.0.0.1:3", "", true},
	} {
		u, a, ok := parseListening(tc.line)
		if u != tc.url || a != tc.addr || ok != tc.ok {
			t.Errorf("parseListening(%q) = %q, %q, %v; want %q, %q, %v", tc.line, u, a, ok, tc.url, tc.addr, tc.ok)
		}
	}
}

// fakeMachine is /proc/stat as a list of steps: each reading is a second
// after the last, with the machine busy the given percent of its cores in
// between.
type fakeMachine struct {
	cores int
	busy  []float64 // percent of the machine, per step
	at    time.Time
	total time.Duration
	reads int
	err   error
}

func (f *fakeMachine) read() (MachineSample, error) {
	if f.err != nil {
		return MachineSample{}, f.err
	}
	if f.reads > 0 {
		pct := f.busy[min(f.reads-1, len(f.busy)-1)]
		f.at = f.at.Add(time.Second)
		f.total += time.Duration(pct / 100 * float64(f.cores) * float64(time.Second))
	}
	f.reads++
	return MachineSample{At: f.at, Busy: f.total}, nil
}

func TestQuietWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		busy    []float64
		quiet   bool
		waitedS float64
		lastPct float64
	}{
		{"quiet at once", []float64{5}, true, 3, 5},
		{"busy, then quiet", []float64{90, 80, 10, 12, 14}, true, 5, 14},
		{"a busy second breaks the streak", []float64{10, 10, 50, 10, 10, 10}, true, 6, 10},
		{"at the threshold is not below it", []float64{15}, false, 10, 15},
		{"never quiet", []float64{70}, false, 10, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMachine{cores: 2, busy: tc.busy, at: time.Unix(1000, 0)}
			slept := time.Duration(0)
			q := quietCheck{Below: 15, For: 3 * time.Second, Max: 10 * time.Second, Step: time.Second, Cores: 2,
				read:  f.read,
				sleep: func(_ context.Context, d time.Duration) error { slept += d; return nil }}
			res, err := q.wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Quiet != tc.quiet || res.WaitedS != tc.waitedS || res.BusyPercent != tc.lastPct {
				t.Errorf("wait = %+v, want quiet %v after %vs, last %v%%", res, tc.quiet, tc.waitedS, tc.lastPct)
			}
			if want := time.Duration(tc.waitedS * float64(time.Second)); slept != want {
				t.Errorf("slept %v, want %v (a step per reading)", slept, want)
			}
		})
	}
	// A failed reading and a cancelled wait are errors.
	q := quietCheck{Below: 15, For: 3 * time.Second, Max: 10 * time.Second, Step: time.Second, Cores: 2,
		read: (&fakeMachine{err: errors.New("no /proc")}).read, sleep: sleep}
	if _, err := q.wait(context.Background()); err == nil {
		t.Error("a reading that fails: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.read = (&fakeMachine{cores: 2, busy: []float64{90}}).read
	if _, err := q.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait = %v, want context.Canceled", err)
	}
}

func TestDatabaseURL(t *testing.T) {
	got, err := databaseURL("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "qr_1")
	if want := "postgres://postgres@127.0.0.1:5432/qr_1?sslmode=disable"; err != nil || got != want {
		t.Errorf("databaseURL = %q, %v; want %q", got, err, want)
	}
	got, err = databaseURL("postgresql://u:p@localhost", "qr_2")
	if want := "postgresql://u:p@localhost/qr_2"; err != nil || got != want {
		t.Errorf("databaseURL = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"host=localhost dbname=x", "mysql://x/y", "postgres:///x"} {
		if _, err := databaseURL(bad, "x"); err == nil {
			t.Errorf("databaseURL(%q) accepted it", bad)
		}
	}
}

func TestReportFlags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "srv")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{},
		{"-server-bin", filepath.Join(t.TempDir(), "missing")},
		{"-server-bin", bin + "," + bin, "-label", "one"},
		{"-server-bin", bin, "-only", "nonsense"},
		{"-server-bin", bin, "-only", "cluster"},
		{"-server-bin", bin, "-postgres", "host=x"},
		{"-server-bin", bin, "-duration", "100ms"},
		{"-server-bin", bin, "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"report"}, args...), &out, &errb); code != 2 {
			t.Errorf("report %q: exit %d, want 2 (%s)", args, code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("report %q printed %q", args, out.String())
		}
	}
	if got := defaultLabels([]string{"/a/old-server", "/b/qrlogin-server"}); got[0] != "old-server" || got[1] != "qrlogin-server" {
		t.Errorf("defaultLabels = %q", got)
	}
	if got := defaultLabels([]string{"/a/qrlogin-server", "/b/qrlogin-server"}); got[0] != "/a/qrlogin-server" {
		t.Errorf("defaultLabels of two same names = %q, want the paths", got)
	}
}

// A server that never says where it listens, or exits first, is an error
// with its log, not a hang.
func TestStartServerProcFails(t *testing.T) {
	dir := t.TempDir()
	quits := filepath.Join(dir, "quits")
	os.WriteFile(quits, []byte("#!/bin/sh\necho 'bad flag -x' >&2\nexit 2\n"), 0o755)
	silent := filepath.Join(dir, "silent")
	os.WriteFile(silent, []byte("#!/bin/sh\necho 'msg=starting' >&2\nexec sleep 60\n"), 0o755)
	if _, err := startServerProc(context.Background(), quits, nil, 10*time.Second); err == nil || !strings.Contains(err.Error(), "bad flag -x") {
		t.Errorf("a server that exits: %v, want an error with its log", err)
	}
	start := time.Now()
	if _, err := startServerProc(context.Background(), silent, nil, 500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "msg=starting") {
		t.Errorf("a server that never listens: %v, want an error with its log", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("a server that never listens took %v to give up on", time.Since(start))
	}
}

// The subcommand for real: the marginal figure, short, against the real
// server built from this repository, given twice (as two binaries).
func TestReportShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real server four times")
	}
	bin := buildServer(t)
	dir := t.TempDir()
	md, js := filepath.Join(dir, "report.md"), filepath.Join(dir, "runs.json")
	var out, errb bytes.Buffer
	before := serverTemps(t)
	code := run([]string{"report", "-short", "-only", "marginal", "-duration", "2s", "-quiet-max", "4s",
		"-server-bin", bin + "," + bin, "-label", "first,second", "-o", md, "-json", js}, &out, &errb)
	t.Logf("stderr:\n%s", errb.String())
	t.Logf("stdout:\n%s", out.String())
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	written, err := os.ReadFile(md)
	if err != nil || string(written) != out.String() {
		t.Errorf("-o wrote %q (%v), want what was printed", written, err)
	}
	number := `[0-9][0-9,]*\.[0-9]+`
	row := regexp.MustCompile(`(?m)^\| marginal server CPU per login, 100/s → 400/s \(ms\) \| (` + number + `) \| (` + number + `) \| (` + number + `)× \|$`)
	if m := row.FindStringSubmatch(out.String()); m == nil {
		t.Errorf("no marginal row with two values and a ratio in:\n%s", out.String())
	} else {
		for _, s := range m[1:3] {
			if v, _ := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64); v <= 0 || v > 100 {
				t.Errorf("marginal server CPU per login = %s ms, want between 0 and 100", s)
			}
		}
	}
	if !strings.Contains(out.String(), "| figure | first | second | second / first |") {
		t.Errorf("no header with both labels and the ratio in:\n%s", out.String())
	}
	var f reportFile
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Runs) != 4 {
		t.Fatalf("-json has %d runs, want 4 (100/s and 400/s, two binaries)", len(f.Runs))
	}
	pids := map[int]bool{}
	for _, r := range f.Runs {
		if r.Error != "" || r.Report == nil || r.Quiet == nil {
			t.Errorf("run %s of %s: error %q, report %v, quiet %v", r.Run, r.Label, r.Error, r.Report != nil, r.Quiet)
			continue
		}
		rep := r.Report
		if rep.Logins == 0 || rep.ServerCPUSeconds == nil || *rep.ServerCPUSeconds <= 0 || rep.OtherCPUPercent == nil {
			t.Errorf("run %s of %s: logins %d, server CPU %v, other CPU %v", r.Run, r.Label, rep.Logins, rep.ServerCPUSeconds, rep.OtherCPUPercent)
		}
		if pids[rep.ServerPID] {
			t.Errorf("run %s of %s reused server pid %d: want a fresh server per run", r.Run, r.Label, rep.ServerPID)
		}
		pids[rep.ServerPID] = true
		if len(r.ServerArgs) != 1 || !strings.Contains(strings.Join(r.ServerArgs[0], " "), "-no-rate-limits -match never") {
			t.Errorf("run %s of %s: server args %q", r.Run, r.Label, r.ServerArgs)
		}
		// The server was killed and waited for: no process, no zombie.
		if _, err := readProc(rep.ServerPID); err == nil {
			t.Errorf("server %d of run %s still runs", rep.ServerPID, r.Run)
		}
	}
	if after := serverTemps(t); len(after) > len(before) {
		t.Errorf("temporary folders left: %v (before: %v)", after, before)
	}
}

// serverTemps lists the report's temporary folders.
func serverTemps(t *testing.T) []string {
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "qrlogin-report-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
