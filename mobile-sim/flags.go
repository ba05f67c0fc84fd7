package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/qrlogin/qrlogin/server/api"
)

// defaultServer is the server used when neither -server, a scanned payload
// nor the profile names one.
const defaultServer = "http://127.0.0.1:8080"

// common holds the flags that every command takes.
type common struct {
	server  string
	profile string
}

// cmdFlags is a command's flag set with its usage line.
type cmdFlags struct {
	*flag.FlagSet
	args string // what follows the flags in the usage line
	common
}

// newFlags returns the flag set of command name with -server and -profile.
// args describes the positional arguments for the usage line.
func newFlags(name, args string) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), args: args}
	f.SetOutput(io.Discard)
	f.StringVar(&f.server, "server", "", "server `URL` (default: the scanned code's server, else the profile's, else "+defaultServer+")")
	f.StringVar(&f.profile, "profile", "default", "profile `NAME`: one per simulated phone")
	return f
}

// usageError is a bad command line: exit 2, with the command's usage.
type usageError struct {
	err   error
	flags *cmdFlags
}

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) printUsage(w io.Writer) { e.flags.printUsage(w) }

// usageErr returns a usage error of f's command.
func (f *cmdFlags) usageErr(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), flags: f}
}

func (f *cmdFlags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: mobile-sim %s [flags] %s\n\nflags:\n", f.Name(), f.args)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// parse parses args, flags and positional arguments in any order (as in
// "scan FILE --yes"); everything after "--" is positional, and so is an
// argument that has the form of a server id even where it starts with "-"
// (ids are base64url, as in "revoke -Xb3..."). It returns the positional
// arguments. On -h it prints the usage to stdout and returns errHelp; a bad
// flag gets a usage error.
func (f *cmdFlags) parse(args []string, stdout io.Writer) ([]string, error) {
	var pos, ids []string
	for i := 0; i < len(args) && args[i] != "--"; i++ {
		if strings.HasPrefix(args[i], "-") && api.ValidRef(args[i]) {
			ids = append(ids, args[i])
			args = append(args[:i:i], args[i+1:]...)
			i--
		}
	}
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(stdout)
			return nil, errHelp
		}
		if err != nil {
			return nil, f.usageErr("%v", err)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return append(pos, ids...), nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(append(pos, rest...), ids...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
