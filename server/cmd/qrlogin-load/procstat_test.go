package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func needProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift the
	// fields: utime (14) = 250 ticks, stime (15) = 130 ticks.
	line := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 9 0 12345 1234567 890 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3800 * time.Millisecond; got != want {
		t.Errorf("parseStat = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "4242 (cmd S 1", "4242 (cmd) S 1 2 3", "4242 (cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 x 130 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted it", bad)
		}
	}
}

// This process's own /proc/self/stat: the CPU time grows as it burns CPU.
func TestParseStatSelf(t *testing.T) {
	needProc(t)
	a, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	b, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := b.CPU - a.CPU; d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("300 ms of spinning used %v of CPU by /proc/self/stat (x=%d)", d, x)
	}
	if p := cpuPercent(a, b); p < 30 || p > 200*float64(runtime.NumCPU()) {
		t.Errorf("cpuPercent = %v while spinning one goroutine", p)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tqrlogin-server\nVmPeak:\t  900000 kB\nVmHWM:\t   204800 kB\nVmRSS:\t   102400 kB\nThreads:\t9\n"
	rss, hwm, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if rss != 100<<20 || hwm != 200<<20 {
		t.Errorf("rss, hwm = %d, %d; want 100 MiB, 200 MiB", rss, hwm)
	}
	if mib(rss) != 100 || mib(hwm) != 200 {
		t.Errorf("mib = %v, %v", mib(rss), mib(hwm))
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmRSS:\t12 MB\nVmHWM:\t12 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) accepted it", bad)
		}
	}
}

// This process's own /proc/self/status: VmRSS grows when it touches 64 MiB,
// and VmHWM is never below VmRSS.
func TestParseStatusSelf(t *testing.T) {
	needProc(t)
	a, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	b, err := readProc(os.Getpid())
	runtime.KeepAlive(buf)
	if err != nil {
		t.Fatal(err)
	}
	if a.RSS <= 0 || b.HWM < b.RSS || a.HWM < a.RSS {
		t.Errorf("samples %+v, %+v: want RSS > 0 and HWM >= RSS", a, b)
	}
	if grew := b.RSS - a.RSS; grew < 48<<20 {
		t.Errorf("touching 64 MiB grew VmRSS by only %.1f MiB", mib(grew))
	}
}

func TestParseMaxOpenFiles(t *testing.T) {
	limits := "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            20000                20000                files     \n"
	if n, err := parseMaxOpenFiles([]byte(limits)); err != nil || n != 20000 {
		t.Errorf("parseMaxOpenFiles = %d, %v; want 20000", n, err)
	}
	if n, err := parseMaxOpenFiles([]byte(strings.Replace(limits, "20000  ", "unlimited", 1))); err != nil || n != -1 {
		t.Errorf("unlimited: %d, %v; want -1", n, err)
	}
	if _, err := parseMaxOpenFiles([]byte("Max cpu time unlimited\n")); err == nil {
		t.Error("no Max open files line accepted")
	}
}

// /proc/self/limits agrees with getrlimit, and /proc/self/fd sees a file
// this test opens.
func TestProcFilesSelf(t *testing.T) {
	needProc(t)
	open1, limit, err := procFiles(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want, err := fileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if limit != want && !(limit == -1 && want == 1<<30) {
		t.Errorf("/proc/self/limits says %d open files, getrlimit %d", limit, want)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open2, _, err := procFiles(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if open1 <= 0 || open2 < open1+1 {
		t.Errorf("open files %d, then %d after opening one more", open1, open2)
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  158584 10 26013 105483 1273 5 844 60 7 0\ncpu0 78346 0 12762 54424 257 0 317 25 0 0\n"
	busy, wait, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Duration(158584+10+26013+5+844+60) * 10 * time.Millisecond; busy != want {
		t.Errorf("busy = %v, want %v", busy, want)
	}
	if wait != 12730*time.Millisecond {
		t.Errorf("iowait = %v, want 12.73s", wait)
	}
	if _, _, err := parseProcStat([]byte("cpu0 1 2 3\n")); err == nil {
		t.Error("a line that is not the total was accepted")
	}
}

func TestReadMachine(t *testing.T) {
	needProc(t)
	a, err := readMachine()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	b, err := readMachine()
	if err != nil {
		t.Fatal(err)
	}
	if b.Busy-a.Busy < 100*time.Millisecond {
		t.Errorf("the machine was busy %v while this test spun 200ms", b.Busy-a.Busy)
	}
}
