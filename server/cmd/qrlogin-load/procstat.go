package main

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/procfs"
)

// ProcSample is what /proc says of a process at one moment.
type ProcSample struct {
	At  time.Time
	CPU time.Duration // user + system time used since it started
	RSS int64         // resident set now, bytes (VmRSS)
	HWM int64         // peak resident set, bytes (VmHWM)
}

// readProc samples process pid from /proc/PID/stat and /proc/PID/status.
// It fails if pid is gone, or has no memory of its own (a kernel thread, or
// a zombie: its status has no VmRSS).
func readProc(pid int) (ProcSample, error) {
	at := time.Now()
	p, err := procfs.NewProc(pid)
	if err != nil {
		return ProcSample{}, err
	}
	stat, err := p.Stat()
	if err != nil {
		return ProcSample{}, err
	}
	status, err := p.NewStatus()
	if err != nil {
		return ProcSample{}, err
	}
	if status.VmRSS == 0 {
		return ProcSample{}, fmt.Errorf("/proc/%d/status has no VmRSS (a kernel thread, or a zombie?)", pid)
	}
	return ProcSample{At: at, CPU: seconds(stat.CPUTime()), RSS: int64(status.VmRSS), HWM: int64(status.VmHWM)}, nil
}

// procFiles returns how many files process pid has open (/proc/PID/fd) and
// its soft limit on them (/proc/PID/limits; -1 if unlimited).
func procFiles(pid int) (open, limit int, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0, err
	}
	l, err := p.Limits()
	if err != nil {
		return 0, 0, err
	}
	if open, err = p.FileDescriptorsLen(); err != nil {
		return 0, 0, err
	}
	if l.OpenFiles == math.MaxUint64 { // how procfs reads "unlimited"
		return open, -1, nil
	}
	return open, int(l.OpenFiles), nil
}

// mib is n bytes in MiB, to a tenth.
func mib(n int64) float64 {
	return math.Round(float64(n)/(1<<20)*10) / 10
}

// MachineSample is the whole machine's CPU time from /proc/stat.
type MachineSample struct {
	At   time.Time
	Busy time.Duration // all CPUs: user, nice, system, irq, softirq, steal
	Wait time.Duration // all CPUs: iowait
}

// readMachine samples the "cpu" line of /proc/stat, the total of all CPUs.
// Guest time is not added to Busy: the kernel already counts it in user.
func readMachine() (MachineSample, error) {
	at := time.Now()
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return MachineSample{}, err
	}
	st, err := fs.Stat()
	if err != nil {
		return MachineSample{}, err
	}
	c := st.CPUTotal
	if c == (procfs.CPUStat{}) {
		return MachineSample{}, errors.New("/proc/stat has no cpu line")
	}
	busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return MachineSample{At: at, Busy: seconds(busy), Wait: seconds(c.Iowait)}, nil
}

// seconds is s seconds as a Duration, to the nanosecond. procfs gives CPU
// times in seconds as floats (clock ticks divided by USER_HZ).
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}
