package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// CLK_TCK: 100 on every Linux architecture Go runs on).
const clockTick = 10 * time.Millisecond

// ProcSample is what /proc says of a process at one moment.
type ProcSample struct {
	At  time.Time
	CPU time.Duration // user + system time used since it started
	RSS int64         // resident set now, bytes (VmRSS)
	HWM int64         // peak resident set, bytes (VmHWM)
}

// readProc samples process pid from /proc/PID/stat and /proc/PID/status.
func readProc(pid int) (ProcSample, error) {
	at := time.Now()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, err
	}
	cpu, err := parseStat(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, err
	}
	rss, hwm, err := parseStatus(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return ProcSample{At: at, CPU: cpu, RSS: rss, HWM: hwm}, nil
}

// parseStat returns utime+stime of a /proc/PID/stat line. The command name
// (field 2) is in parentheses and may hold spaces and parentheses itself, so
// the fields are counted from the last ')': state is field 3, utime field 14
// and stime field 15 (proc(5)).
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no ')' in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	const utime, stime = 14 - 3, 15 - 3 // indexes in f, which starts at field 3
	if len(f) <= stime {
		return 0, fmt.Errorf("%d fields after the command, want more than %d", len(f), stime)
	}
	u, err1 := strconv.ParseInt(f[utime], 10, 64)
	s, err2 := strconv.ParseInt(f[stime], 10, 64)
	if err1 != nil || err2 != nil || u < 0 || s < 0 {
		return 0, fmt.Errorf("utime %q, stime %q: not tick counts", f[utime], f[stime])
	}
	return time.Duration(u+s) * clockTick, nil
}

// parseStatus returns VmRSS and VmHWM of a /proc/PID/status file, in bytes.
func parseStatus(b []byte) (rss, hwm int64, err error) {
	rss, hwm = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: %q, want \"<n> kB\"", name, strings.TrimSpace(val))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss < 0 || hwm < 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM line (a kernel thread, or a zombie?)")
	}
	return rss, hwm, nil
}

// parseMaxOpenFiles returns the soft "Max open files" limit of a
// /proc/PID/limits file (-1 for unlimited).
func parseMaxOpenFiles(b []byte) (int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		if f[0] == "unlimited" {
			return -1, nil
		}
		return strconv.Atoi(f[0])
	}
	return 0, fmt.Errorf("no \"Max open files\" line")
}

// procFiles returns how many files process pid has open and its soft limit.
func procFiles(pid int) (open, limit int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, 0, err
	}
	if limit, err = parseMaxOpenFiles(b); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/limits: %w", pid, err)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, err
	}
	return len(ents), limit, nil
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

// readMachine samples /proc/stat.
func readMachine() (MachineSample, error) {
	at := time.Now()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineSample{}, err
	}
	busy, wait, err := parseProcStat(b)
	if err != nil {
		return MachineSample{}, fmt.Errorf("/proc/stat: %w", err)
	}
	return MachineSample{At: at, Busy: busy, Wait: wait}, nil
}

// parseProcStat returns the busy and iowait time of all CPUs from the
// "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal
// (guest time is already counted in user).
func parseProcStat(b []byte) (busy, iowait time.Duration, err error) {
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("first line %q is not the cpu total", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, err
		}
	}
	user, nice, system, _, wait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	return time.Duration(user+nice+system+irq+softirq+steal) * clockTick, time.Duration(wait) * clockTick, nil
}
