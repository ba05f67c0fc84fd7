package main

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

func needProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
}

// startChild starts cmd and waits until its /proc/PID/stat satisfies ready;
// the child is killed when the test ends.
func startChild(t *testing.T, cmd *exec.Cmd, ready func(procfs.ProcStat) bool) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p, err := procfs.NewProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s, err := p.Stat(); err == nil && ready(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not get ready within 10s", cmd.Args)
		}
	}
}

// This process's own /proc: the CPU time grows as it burns CPU, by about
// the wall time it spun.
func TestReadProcSelfCPU(t *testing.T) {
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
	if p := cpuPercent(a, b); p < 10 || p > 200*float64(runtime.NumCPU()) {
		t.Errorf("cpuPercent = %v while spinning one goroutine", p)
	}
}

// This process's own /proc: VmRSS grows when it touches 64 MiB, and VmHWM
// is never below VmRSS.
func TestReadProcSelfRSS(t *testing.T) {
	needProc(t)
	debug.FreeOSMemory() // or the 64 MiB may be pages already resident, from an earlier run (-count)
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
	if grew := b.RSS - a.RSS; grew < 48<<20 || grew > 256<<20 {
		t.Errorf("touching 64 MiB grew VmRSS by %.1f MiB", mib(grew))
	}
}

// Another process, as the tool samples the server: a shell spinning in a
// loop uses about a core, and a small one's resident set is small.
func TestReadProcChild(t *testing.T) {
	needProc(t)
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	startChild(t, cmd, func(s procfs.ProcStat) bool { return s.Comm == "sh" })
	pid := cmd.Process.Pid
	a, err := readProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	b, err := readProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	// About 100, and at least 10 on a machine busy with other tests.
	if p := cpuPercent(a, b); p < 10 || p > 110 {
		t.Errorf("a spinning shell used %v%% of a core, want about 100", p)
	}
	if b.RSS <= 0 || b.RSS > 64<<20 || b.HWM < b.RSS {
		t.Errorf("a shell's RSS %.1f MiB, peak %.1f MiB: want 0 < RSS <= peak, RSS under 64 MiB", mib(b.RSS), mib(b.HWM))
	}
}

// A zombie has no memory to report: readProc says so rather than giving 0.
func TestReadProcZombie(t *testing.T) {
	needProc(t)
	cmd := exec.Command("true")
	startChild(t, cmd, func(s procfs.ProcStat) bool { return s.State == "Z" }) // exited, not yet reaped
	if s, err := readProc(cmd.Process.Pid); err == nil {
		t.Errorf("readProc of a zombie = %+v, want an error", s)
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
	if limit != want {
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

// Other processes' limits and files: two children whose shell lowered
// their limit to 256, one of them holding three more files than the other.
func TestProcFilesChild(t *testing.T) {
	needProc(t)
	var open [2]int
	for i, extra := range []int{0, 3} {
		cmd := exec.Command("sh", "-c", "ulimit -n 256 && exec sleep 60")
		for range extra {
			f, err := os.Open(os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		}
		// Asleep, as opposed to just named sleep: the kernel renames the
		// process before it closes the files the exec left behind.
		startChild(t, cmd, func(s procfs.ProcStat) bool { return s.Comm == "sleep" && s.State == "S" })
		var limit int
		var err error
		if open[i], limit, err = procFiles(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if limit != 256 {
			t.Errorf("procFiles says a limit of %d open files, want 256", limit)
		}
	}
	if open[0] < 3 || open[1] != open[0]+3 {
		t.Errorf("procFiles = %d open files, and %d with three more; want at least stdin, stdout and stderr", open[0], open[1])
	}
}

// The whole machine: busy time grows while this test spins, but by no more
// than every CPU busy for the time it took.
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
	busy, most := b.Busy-a.Busy, (b.At.Sub(a.At)+20*time.Millisecond)*time.Duration(runtime.NumCPU())
	if busy < 100*time.Millisecond || busy > most {
		t.Errorf("the machine was busy %v while this test spun 200ms, want 100ms to %v", busy, most)
	}
	if b.Wait < a.Wait {
		t.Errorf("iowait went back from %v to %v", a.Wait, b.Wait)
	}
}

func TestMiB(t *testing.T) {
	for n, want := range map[int64]float64{0: 0, 100 << 20: 100, 1<<20 + 52429: 1.1, 1<<20 + 52428: 1} {
		if got := mib(n); got != want {
			t.Errorf("mib(%d) = %v, want %v", n, got, want)
		}
	}
}
