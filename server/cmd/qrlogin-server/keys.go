package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
)

// runKeys serves "qrlogin-server keys rotate|list": the open platform's
// token signing keys, in the database of -db.
func runKeys(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintf(stderr, `Usage:
  qrlogin-server keys rotate -db FILE|URL [-json]
  qrlogin-server keys list -db FILE|URL [-json]

rotate adds a new key that signs ID tokens and logout tokens, on every server
sharing the database, from %v after it is made: the servers publish it in
their JWKS first. The key it replaces stops signing then, and stays in the
JWKS until the tokens it signed have expired (%v later), then is dropped.
list shows the keys and those times; a key's state is next (published, not
yet signing), signing, retired (published, no longer signing) or expired
(about to be dropped).
`, provider.KeyActivation, provider.DefaultAccessTTL)
	}
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		usage()
		return 0
	case len(args) == 0 || args[0] != "rotate" && args[0] != "list":
		usage()
		return 2
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the server's database: a SQLite `file` or a postgres:// URL (default: the user's data folder)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qrlogin-server keys %s: unexpected argument %q\n", args[0], fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	os, closeDB, err := openOAuth(ctx, *db)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server keys:", err)
		return 1
	}
	defer closeDB()
	if args[0] == "rotate" {
		return keysRotate(ctx, os, *asJSON, stdout, stderr)
	}
	return keysList(ctx, os, *asJSON, stdout, stderr)
}

// keyJSON is a key as -json prints it; a time not set is left out.
type keyJSON struct {
	KID          string    `json:"kid"`
	CreatedAt    time.Time `json:"created_at"`
	SignsFrom    time.Time `json:"signs_from"`
	RetiredAt    time.Time `json:"retired_at,omitzero"`
	DroppedAfter time.Time `json:"dropped_after,omitzero"`
}

func toJSON(k provider.KeyInfo) keyJSON {
	return keyJSON{k.KID, k.CreatedAt, k.ActiveFrom, k.RetiredAt, k.DropAfter}
}

func keysRotate(ctx context.Context, st oauth.Store, asJSON bool, stdout, stderr io.Writer) int {
	now := time.Now()
	k, err := provider.RotateKey(ctx, st, now)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server keys rotate:", err)
		return 1
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(toJSON(k))
		return 0
	}
	fmt.Fprintf(stdout, "kid:        %s\nsigns from: %s (in %v; the servers publish it first)\n",
		k.KID, k.ActiveFrom.Local().Format(time.RFC3339), k.ActiveFrom.Sub(now).Round(time.Second))
	return 0
}

func keysList(ctx context.Context, st oauth.Store, asJSON bool, stdout, stderr io.Writer) int {
	// qrlogin-server's nodes use the default ID token life.
	keys, err := provider.Keys(ctx, st, provider.DefaultAccessTTL)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server keys list:", err)
		return 1
	}
	if asJSON {
		out := make([]keyJSON, len(keys))
		for i, k := range keys {
			out[i] = toJSON(k)
		}
		json.NewEncoder(stdout).Encode(out)
		return 0
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format(time.RFC3339)
	}
	now := time.Now()
	state := func(k provider.KeyInfo) string {
		switch {
		case now.Before(k.ActiveFrom):
			return "next"
		case k.RetiredAt.IsZero() || now.Before(k.RetiredAt):
			return "signing"
		case !now.After(k.DropAfter):
			return "retired"
		}
		return "expired"
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tDROPPED AFTER")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, state(k), when(k.CreatedAt), when(k.ActiveFrom), when(k.RetiredAt), when(k.DropAfter))
	}
	tw.Flush()
	return 0
}
