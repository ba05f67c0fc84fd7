package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// cmdDesktops lists the desktops enrolled for one-tap login on the account
// (each signed in once by a QR code and may ask the phones to let it in
// again), or with "remove ID" removes one: it can no longer ask, and its
// desktop sessions end.
func cmdDesktops(e *env, args []string) error {
	if len(args) > 0 && args[0] == "remove" {
		return cmdDesktopsRemove(e, args[1:])
	}
	f := newFlags("desktops", "| desktops remove ID")
	asJSON := f.Bool("json", false, "print a JSON array of enrolled desktops")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	list, err := m.Desktops(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list, true)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no desktops enrolled for one-tap login")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tOS\tIP\tENROLLED\tLAST USED")
	now := e.now()
	for _, d := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(d.ID), printable(d.Name), printable(d.OS), printable(d.IP),
			ago(now.Sub(d.CreatedAt)), ago(now.Sub(d.LastUsedAt)))
	}
	return tw.Flush()
}

// cmdDesktopsRemove removes one enrolled desktop: desktops remove ID.
func cmdDesktopsRemove(e *env, args []string) error {
	f := newFlags("desktops remove", "ID")
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usageErr("give exactly one desktop ID (see mobile-sim desktops)")
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	if err := m.RemoveDesktop(context.Background(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed desktop %s: it can no longer log in by one tap, and its sessions are ended\n", printable(pos[0]))
	return nil
}
