package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// cmdSessions lists the account's live desktop sessions as a table, or with
// -json as a JSON array of the protocol's session objects.
func cmdSessions(e *env, args []string) error {
	f := newFlags("sessions", "")
	asJSON := f.Bool("json", false, "print a JSON array of sessions")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	list, err := m.Sessions(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list, true)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no desktop sessions")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDEVICE\tOS\tAPP\tIP\tSIGNED IN\tLAST SEEN")
	now := e.now()
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(s.ID), printable(s.Device.Name), printable(s.Device.OS),
			printable(s.Device.App), printable(s.IP), ago(now.Sub(s.CreatedAt)), ago(now.Sub(s.LastSeenAt)))
	}
	return tw.Flush()
}

// cmdRevoke logs one desktop session out remotely: revoke ID.
func cmdRevoke(e *env, args []string) error {
	f := newFlags("revoke", "ID")
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usageErr("give exactly one session ID (see mobile-sim sessions)")
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	if err := m.RevokeSession(context.Background(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked session %s\n", printable(pos[0]))
	return nil
}
