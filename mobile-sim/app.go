package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// Exit codes; README.md lists them for testers.
const (
	exitOK         = 0
	exitFailure    = 1 // the server refused, could not be reached, or no login
	exitUsage      = 2 // bad flags or arguments, or an unreadable file or source
	exitNoCode     = 3 // no QR code found in the image, screen or clip
	exitNotPayload = 4 // a QR code was found but it is not a qrlogin code
)

// command is one subcommand: run parses args itself.
type command struct {
	name, summary string
	run           func(e *env, args []string) error
}

// commands lists the subcommands in the order usage shows them.
var commands = []command{
	{"register", "create an account", cmdRegister},
	{"login", "log this phone (profile) in to an account", cmdLogin},
	{"logout", "log this phone out (and its desktops and apps)", cmdLogout},
	{"decode", "print the text of the QR codes in images", cmdDecode},
	{"scan", "scan a desktop's or a TV's QR code (or type a TV's code) and approve or deny the log-in", cmdScan},
	{"sessions", "list the account's desktop sessions", cmdSessions},
	{"revoke", "log a desktop session out remotely", cmdRevoke},
	{"grants", "list the apps with access to the account; grants revoke ID ends one", cmdGrants},
	{"requests", "list, wait for and decide desktops' one-tap login requests", cmdRequests},
	{"desktops", "list the desktops enrolled for one-tap login; desktops remove ID removes one", cmdDesktops},
}

// env is what a command may touch besides the network and the profile
// folder: its streams and the clock.
type env struct {
	cmd    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	lines  *bufio.Reader // stdin by lines, made on first use
}

// run runs the mobile-sim command line args (without the program name) and
// returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			e.cmd = c.name
			return e.exit(c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "mobile-sim: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// usage prints the list of commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mobile-sim COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes -server URL, -profile NAME and -h. Run mobile-sim COMMAND -h for its flags.")
}

// exitError carries an exit code other than exitFailure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode returns err with the exit code code.
func withCode(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// quietExit is an exit code whose reason the command has printed already.
type quietExit int

func (q quietExit) Error() string { return fmt.Sprintf("exit status %d", int(q)) }

// exitCode returns the exit code that err calls for.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// errHelp is returned by a command that printed its help on request.
var errHelp = errors.New("help requested")

// exit prints err, if any, as "mobile-sim: CMD: message" and returns its
// exit code. Server errors show the protocol's message and code, never more;
// the message goes through printable, as it may quote a server or a QR code.
func (e *env) exit(err error) int {
	var q quietExit
	switch {
	case err == nil || errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &q):
		return int(q)
	}
	fmt.Fprintf(e.stderr, "mobile-sim: %s: %s\n", e.cmd, printable(describe(err)))
	var ue *usageError
	if errors.As(err, &ue) {
		ue.printUsage(e.stderr)
		return exitUsage
	}
	return exitCode(err)
}

// describe says what went wrong in words for a person.
func describe(err error) string {
	var se *server.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return "cannot reach the server: " + ue.Err.Error()
	case !errors.As(err, &se):
		return err.Error()
	}
	msg := se.Message
	if msg == "" {
		msg = "the server refused"
	}
	msg = fmt.Sprintf("%s (%s)", strings.TrimSuffix(msg, "."), se.Code)
	if se.RetryAfter > 0 {
		msg += fmt.Sprintf("; try again in %s", se.RetryAfter.Round(time.Second))
	}
	return msg
}

// readLine reads one line of stdin, without its line end. At the end of
// input it returns what it read and io.EOF if that is nothing.
func (e *env) readLine() (string, error) {
	if e.lines == nil {
		e.lines = bufio.NewReader(e.stdin)
	}
	s, err := e.lines.ReadString('\n')
	if err == io.EOF && s != "" {
		err = nil
	}
	return strings.TrimRight(s, "\r\n"), err
}
