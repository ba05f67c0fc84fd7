package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/procfs"
)

// serverProc is a server the report started.
type serverProc struct {
	cmd  *exec.Cmd
	URL  string // from its msg=listening line: its public base URL
	Addr string // and where it listens (host:port), if the line says
	Pid  int

	done chan struct{} // closed once it exited and its log was read
	mu   sync.Mutex
	tail []byte // the end of its log
}

const logTailMax = 8 << 10

// startServerProc starts bin with args and waits up to timeout for its
// "msg=listening url=..." line. The server's log is read all along (and
// its end kept), so that it never blocks writing it.
func startServerProc(ctx context.Context, bin string, args []string, timeout time.Duration) (*serverProc, error) {
	cmd := exec.Command(bin, args...)
	setPdeathsig(cmd)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, Pid: cmd.Process.Pid, done: make(chan struct{})}
	found := make(chan [2]string, 1)
	go func() {
		defer close(p.done)
		br := bufio.NewReader(pipe)
		listening := false
		for {
			line, err := br.ReadString('\n')
			p.keep(line)
			if !listening {
				if u, a, ok := parseListening(line); ok {
					listening = true
					found <- [2]string{u, a}
				}
			}
			if err != nil {
				break
			}
		}
		cmd.Wait()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ua := <-found:
		p.URL, p.Addr = ua[0], ua[1]
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening: %s", bin, p.logTail())
	case <-t.C:
		p.stop()
		return nil, fmt.Errorf("%s did not log msg=listening within %s: %s", bin, timeout, p.logTail())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *serverProc) keep(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tail = append(p.tail, line...)
	if n := len(p.tail); n > logTailMax {
		p.tail = append(p.tail[:0], p.tail[n-logTailMax:]...)
	}
}

// logTail is the end of the server's log so far.
func (p *serverProc) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(string(p.tail))
}

// exited reports whether the server has ended.
func (p *serverProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the server and waits for it to be gone.
func (p *serverProc) stop() {
	p.cmd.Process.Kill()
	<-p.done
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var (
	flagsMu sync.Mutex
	flagsOf = map[string]string{} // a binary's -h
)

// hasFlag reports whether the server binary bin lists -name in its -h.
func hasFlag(bin, name string) bool {
	flagsMu.Lock()
	defer flagsMu.Unlock()
	help, ok := flagsOf[bin]
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput() // exits 0 or 2
		help = string(out)
		flagsOf[bin] = help
	}
	return strings.Contains(help, "\n  -"+name+" ") || strings.Contains(help, "\n  -"+name+"\n")
}

// parseListening reads a server log line: for the line
//
//	time=... level=INFO msg=listening url=http://127.0.0.1:41234 addr=127.0.0.1:41234 db=x.db
//
// (log/slog's text handler, as qrlogin-server writes it; or the same as a
// JSON object, -log-json) it returns the url and addr. ok is false for any
// other line.
func parseListening(line string) (u, addr string, ok bool) {
	line = strings.TrimSpace(line)
	var f map[string]string
	if strings.HasPrefix(line, "{") {
		var j struct {
			Msg  string `json:"msg"`
			URL  string `json:"url"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &j) != nil {
			return "", "", false
		}
		f = map[string]string{"msg": j.Msg, "url": j.URL, "addr": j.Addr}
	} else {
		f = logfmtFields(line)
	}
	if f["msg"] != "listening" || f["url"] == "" {
		return "", "", false
	}
	return f["url"], f["addr"], true
}

// logfmtFields splits a key=value line as log/slog's text handler writes
// it: values are bare, or quoted Go strings when they hold spaces, quotes
// or =. A token without = is skipped.
func logfmtFields(line string) map[string]string {
	out := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " \t")
		key, rest, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(key, " \t") {
			// Not a key=value token: skip to the next space.
			if i := strings.IndexAny(line, " \t"); i >= 0 {
				line = line[i:]
				continue
			}
			break
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val = rest
			if i := strings.IndexAny(rest, " \t"); i >= 0 {
				val, rest = rest[:i], rest[i:]
			} else {
				rest = ""
			}
		}
		out[key] = val
		line = rest
	}
	return out
}

// quietCheck waits until the machine is quiet before a run.
type quietCheck struct {
	Below float64       // percent of the whole machine (all its cores) busy
	For   time.Duration // this long in a row
	Max   time.Duration // give up after this long
	Step  time.Duration // between readings
	Cores int
	read  func() (MachineSample, error)
	sleep func(context.Context, time.Duration) error
}

// quietResult is how the wait went: whether the machine got quiet, after
// how long, and how busy it was over the last step.
type quietResult struct {
	Quiet       bool    `json:"quiet"`
	WaitedS     float64 `json:"waited_s"`
	BusyPercent float64 `json:"busy_percent"` // of the whole machine
}

// wait reads the machine every Step until it has been less than Below busy
// for For (then Quiet), or for Max (then not). Each step's busy share is
// (busy CPU time) / (wall time × cores) from /proc/stat.
func (q quietCheck) wait(ctx context.Context) (quietResult, error) {
	var res quietResult
	prev, err := q.read()
	if err != nil {
		return res, err
	}
	start := prev.At
	var since time.Time // when the quiet streak began; zero: none
	for {
		if err := q.sleep(ctx, q.Step); err != nil {
			return res, err
		}
		cur, err := q.read()
		if err != nil {
			return res, err
		}
		if wall := cur.At.Sub(prev.At); wall > 0 {
			busy := float64(cur.Busy-prev.Busy) / float64(wall) / float64(max(q.Cores, 1)) * 100
			res.BusyPercent = math.Round(busy*10) / 10
			if busy < q.Below {
				if since.IsZero() {
					since = prev.At
				}
			} else {
				since = time.Time{}
			}
		}
		res.WaitedS = math.Round(cur.At.Sub(start).Seconds()*10) / 10
		if !since.IsZero() && cur.At.Sub(since) >= q.For {
			res.Quiet = true
			return res, nil
		}
		if cur.At.Sub(start) >= q.Max {
			return res, nil
		}
		prev = cur
	}
}

// databaseURL is the PostgreSQL URL dsn with its database replaced by
// name.
func databaseURL(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", fmt.Errorf("%q: want a URL, postgres://user@host:port/db?sslmode=disable", dsn)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// createDatabase creates database name on dsn's server and returns its URL
// and a function that drops it.
func createDatabase(ctx context.Context, dsn, name string) (string, func() error, error) {
	u, err := databaseURL(dsn, name)
	if err != nil {
		return "", nil, err
	}
	admin := func(ctx context.Context, sql string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := admin(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, err
	}
	drop := func() error {
		// The nodes are gone; FORCE ends backends that have not noticed
		// yet (PostgreSQL 13 and later).
		err := admin(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		if err != nil {
			err = errors.Join(err, admin(context.Background(), "DROP DATABASE IF EXISTS "+ident))
		}
		return err
	}
	return u, drop, nil
}

// postgresCPU is the CPU time used so far by every process on the machine
// whose /proc/PID/comm is "postgres" (the postmaster, its backends and
// helpers), by pid. Processes that end while it reads are skipped.
func postgresCPU() (map[int]time.Duration, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, err
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return nil, err
	}
	out := map[int]time.Duration{}
	for _, p := range procs {
		comm, err := p.Comm()
		if err != nil || comm != "postgres" {
			continue
		}
		st, err := p.Stat()
		if err != nil {
			continue
		}
		out[p.PID] = seconds(st.CPUTime())
	}
	return out, nil
}
