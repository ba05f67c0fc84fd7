package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// requestsUsage is what follows "mobile-sim requests [flags]" in its usage.
const requestsUsage = "| requests --wait [--timeout D] | requests approve ID --number N | requests deny ID | requests not-me ID"

// cmdRequests lists the account's waiting one-tap login requests (a
// desktop enrolled by an earlier QR login asks to be let in again), or
// with --wait waits for the next one and prints it; "approve ID --number
// N", "deny ID" and "not-me ID" decide one.
func cmdRequests(e *env, args []string) error {
	if len(args) > 0 {
		if action, ok := requestActions[args[0]]; ok {
			return cmdRequestsDecide(e, args[0], action, args[1:])
		}
	}
	f := newFlags("requests", requestsUsage)
	asJSON := f.Bool("json", false, "print a JSON array of requests (with --wait, the request as a JSON object)")
	wait := f.Bool("wait", false, "wait on the phone's channel for the next request (or take one already waiting) and print it")
	timeout := f.Duration("timeout", time.Minute, "how long --wait waits")
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.usageErr("unexpected argument %q: give approve, deny or not-me first, as in requests approve ID --number N", pos[0])
	}
	timeoutSet := false
	f.Visit(func(fl *flag.Flag) { timeoutSet = timeoutSet || fl.Name == "timeout" })
	if timeoutSet && !*wait {
		return f.usageErr("--timeout goes with --wait")
	}
	if *timeout <= 0 {
		return f.usageErr("--timeout must be positive")
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	if *wait {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		r, err := m.WaitLoginRequest(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no login request came within %s", *timeout)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, r, true)
		}
		e.showRequest(r)
		return nil
	}
	list, err := m.LoginRequests(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list, true)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no login requests waiting")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDESKTOP\tOS\tIP\tNUMBERS\tEXPIRES")
	now := e.now()
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(r.ID), printable(r.Desktop.Name), printable(r.Desktop.OS),
			printable(r.Desktop.IP), printable(strings.Join(r.Choices, " ")), fromNow(r.ExpiresAt.Sub(now)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range list {
		if r.Warning != "" {
			fmt.Fprintf(e.stdout, "Warning for %s: %s\n", printable(r.ID), printable(r.Warning))
		}
	}
	return nil
}

// requestActions maps the subcommands of requests to the actions of
// api.DecideLoginRequest.
var requestActions = map[string]string{
	"approve": api.ActionApprove,
	"deny":    api.ActionDeny,
	"not-me":  api.ActionNotMe,
}

// cmdRequestsDecide decides one request: requests approve ID --number N,
// requests deny ID, requests not-me ID. It prints the resulting state. An
// approval with a number that is not the desktop's, which the server
// refuses (forbidden) and turns into a denial, prints the denied state
// and is an error, exit 1.
func cmdRequestsDecide(e *env, sub, action string, args []string) error {
	f := newFlags("requests "+sub, "ID")
	var number *string
	if action == api.ActionApprove {
		f.args = "ID --number N"
		number = f.String("number", "", "the number `N` that the desktop shows, one of the request's three (required)")
	}
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usageErr("give exactly one request ID (see mobile-sim requests)")
	}
	id := pos[0]
	req := api.DecideLoginRequest{Action: action}
	if number != nil {
		if req.Number = strings.TrimSpace(*number); req.Number == "" {
			return f.usageErr("--number is required: the number the desktop shows")
		}
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	state, err := m.DecideLoginRequest(context.Background(), id, req)
	switch {
	case action == api.ActionApprove && (errors.Is(err, server.ErrForbidden) || err == nil && state == server.StateDenied):
		fmt.Fprintf(e.stdout, "state: %s\n", server.StateDenied)
		return errors.New("denied: the number did not match")
	case errors.Is(err, server.ErrExpired):
		return fmt.Errorf("login request %s has expired: %s", id, describe(err))
	case errors.Is(err, server.ErrConflict):
		return fmt.Errorf("login request %s was decided already: %s", id, describe(err))
	case errors.Is(err, server.ErrNotFound):
		return fmt.Errorf("this account has no login request %s (see mobile-sim requests): %s", id, describe(err))
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "state: %s\n", printable(string(state)))
	if action == api.ActionNotMe {
		fmt.Fprintln(e.stdout, "the desktop is no longer enrolled, and its sessions are ended")
	}
	return nil
}

// showRequest prints one login request as the phone shows it: the
// desktop, where it asks from, its warning, the three numbers, and how to
// answer.
func (e *env) showRequest(r api.LoginRequest) {
	d := r.Desktop
	fmt.Fprintln(e.stdout, "An enrolled desktop asks to log in to your account again:")
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	now := e.now()
	for _, row := range [][2]string{
		{"ID", r.ID}, {"Device", d.Name}, {"OS", d.OS}, {"App", d.App}, {"IP", d.IP},
		{"User agent", d.UserAgent}, {"Asked", ago(now.Sub(d.CreatedAt))}, {"Expires", fromNow(r.ExpiresAt.Sub(now))},
	} {
		if row[1] == "" {
			row[1] = "(not given)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], printable(row[1]))
	}
	tw.Flush()
	if r.Warning != "" {
		fmt.Fprintf(e.stdout, "Warning: %s\n", printable(r.Warning))
	}
	fmt.Fprintf(e.stdout, "\n    Tap the number the desktop shows: %s\n\n", printable(strings.Join(r.Choices, "   ")))
	fmt.Fprintf(e.stdout, "mobile-sim requests approve %s --number N   (or deny, or not-me)\n", printable(r.ID))
}

// fromNow says how long until a time d from now, in whole units: "in 45 s",
// "in 2 min"; "expired" once d is not positive.
func fromNow(d time.Duration) string {
	switch {
	case d <= 0:
		return "expired"
	case d < time.Minute:
		return fmt.Sprintf("in %d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("in %d min", int(d/time.Minute))
	}
	return fmt.Sprintf("in %d h", int(d/time.Hour))
}
