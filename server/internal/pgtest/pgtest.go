// Package pgtest starts a throwaway PostgreSQL server for tests: one server
// per test binary, started on first use, and a fresh database for each call
// of Start.
//
// It needs PostgreSQL's server binaries (initdb and postgres; on Debian the
// postgresql-15 package, in /usr/lib/postgresql/15/bin). Where they are
// missing, Start skips the test, unless QRLOGIN_REQUIRE_POSTGRES is set
// (CI sets it): then it fails. QRLOGIN_PG_BIN names their folder explicitly.
//
// The server runs as a child of the test binary, never daemonized, with
// Linux's parent-death signal set: whatever way the test binary ends (a
// panic, a -timeout, a kill), the server is told to quit at once. A package
// whose tests use Start should also have
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// which stops the server and removes its files after the tests. Without it,
// the files of a finished run are removed by the next run that starts a
// server.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RequireEnv is the environment variable that turns a missing PostgreSQL
// from a skip into a failure.
const RequireEnv = "QRLOGIN_REQUIRE_POSTGRES"

// BinEnv is the environment variable that names the folder of initdb and
// postgres, ahead of every other place.
const BinEnv = "QRLOGIN_PG_BIN"

// dirPrefix names the server folders in os.TempDir(); short, because the
// Unix socket's path must fit in 107 bytes.
const dirPrefix = "qrlogin-pgtest-"

var (
	once     sync.Once
	srv      *pgServer
	startErr error
	dbSeq    atomic.Int64
)

// errNoBinaries is why Start skips rather than fails.
var errNoBinaries = errors.New("PostgreSQL's initdb and postgres were not found")

// Start returns the URL of a new, empty database on this test binary's
// PostgreSQL server, starting the server on first use. The database is
// dropped when tb's test ends (after the test's own cleanups, registered
// later, have closed their connections). It skips tb if PostgreSQL is not
// installed and RequireEnv is not set.
func Start(tb testing.TB) (dsn string) {
	tb.Helper()
	once.Do(func() { srv, startErr = startServer() })
	if startErr != nil {
		if skippable(startErr) {
			tb.Skipf("pgtest: %v; install Debian's postgresql-15 (or set %s to their folder) to run this test; set %s=1 to fail instead of skipping", startErr, BinEnv, RequireEnv)
		}
		tb.Fatalf("pgtest: %v", startErr)
	}
	name := fmt.Sprintf("test_%d", dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := srv.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends any connection a test left open.
		if _, err := srv.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

// skippable reports whether a failure to start is a reason to skip rather
// than fail: PostgreSQL is not installed, and RequireEnv is not set.
func skippable(err error) bool {
	return errors.Is(err, errNoBinaries) && os.Getenv(RequireEnv) == ""
}

// Main runs the tests and then stops the server, if one was started, and
// removes its files; it exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// pgServer is a running postgres.
type pgServer struct {
	dir    string // everything: data, socket, log
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	admin  *pgxpool.Pool // on the "postgres" database
}

func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// startServer finds the binaries, runs initdb into a new folder and starts
// postgres on a free loopback port.
func startServer() (*pgServer, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	// The owner's pid tells a later run whether the folder is left over.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s, err := startIn(bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func startIn(bin, dir string) (*pgServer, error) {
	cred, err := credential(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// Another process may take the free port between our probe and
	// postgres' bind: try a few.
	for attempt := 0; ; attempt++ {
		s, err := run(bin, dir, data, cred)
		if err == nil || attempt == 4 || !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
}

// credential returns whom to run PostgreSQL as: nobody else (nil) unless we
// are root, which initdb and postgres refuse; then the postgres user, who is
// given dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: no postgres user to run it as (%v)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

var errPortTaken = errors.New("port taken")

// run starts postgres on a free port and waits until it answers.
func run(bin, dir, data string, cred *syscall.Credential) (*pgServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		// A test database need not survive a crash of the machine.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT is postgres' immediate shutdown: when the test binary dies,
	// the server and its backends go at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	s := &pgServer{dir: dir, port: port, cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// child ends, not the process: keep this thread for the child's
		// whole life.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			break
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "Address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("postgres exited: %s", lastLines(string(log), 20))
		case <-ctx.Done():
			s.kill()
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres did not answer in time (%v): %s", err, lastLines(string(log), 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.admin, err = pgxpool.New(context.Background(), s.url("postgres"))
	if err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// stop shuts the server down and removes its folder.
func (s *pgServer) stop() error {
	s.admin.Close()
	s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown: ends sessions, checkpoints
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.kill()
	}
	return os.RemoveAll(s.dir)
}

func (s *pgServer) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// debianBins is where Debian's postgresql-NN packages put the binaries.
var debianBins = "/usr/lib/postgresql/*/bin"

// findBin returns the first folder holding both initdb and postgres: BinEnv,
// then initdb's on PATH, then /usr/lib/postgresql/<newest>/bin.
func findBin() (string, error) {
	var dirs []string
	if d := os.Getenv(BinEnv); d != "" {
		dirs = append(dirs, d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	versions, _ := filepath.Glob(debianBins)
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in $%s, PATH and /usr/lib/postgresql/*/bin)", errNoBinaries, BinEnv)
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// removeStale removes the folders of earlier runs whose test binary is gone
// (their server went with it).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			// Being set up right now, or broken: only remove it when old.
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(d)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
