package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
)

// cmdGrants lists the apps' live grants on the account (websites and
// devices logged in through the open platform), or with "revoke ID" ends
// one: every token of that grant stops working, and the app is told.
func cmdGrants(e *env, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return cmdGrantsRevoke(e, args[1:])
	}
	f := newFlags("grants", "| grants revoke ID")
	asJSON := f.Bool("json", false, "print a JSON array of grants")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	list, err := m.Grants(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list, true)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no apps have access")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAPP\tSCOPES\tGRANTED\tLAST USED")
	now := e.now()
	for _, g := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(g.ID), printable(g.App), printable(strings.Join(g.Scopes, " ")),
			ago(now.Sub(g.CreatedAt)), ago(now.Sub(g.LastUsedAt)))
	}
	return tw.Flush()
}

// cmdGrantsRevoke ends one grant: grants revoke ID.
func cmdGrantsRevoke(e *env, args []string) error {
	f := newFlags("grants revoke", "ID")
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usageErr("give exactly one grant ID (see mobile-sim grants)")
	}
	_, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	if err := m.RevokeGrant(context.Background(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked grant %s: the app's tokens no longer work\n", printable(pos[0]))
	return nil
}
