package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"qrlogin/server"
	"qrlogin/server/node"
	"qrlogin/server/oauth"
)

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// runApps serves "qrlogin-server apps add|list|remove": the registered apps
// of the open platform, in the database of -db.
func runApps(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprint(stderr, `Usage:
  qrlogin-server apps add -db FILE --name NAME --redirect-uri URI [--redirect-uri URI...] [--public] [-json]
  qrlogin-server apps list -db FILE [-json]
  qrlogin-server apps remove -db FILE CLIENT_ID

add registers an app and prints its client id and, for a confidential app,
its secret: shown once, stored only as a hash. A --public app (a single-page
or native app) has no secret and must use PKCE.
`)
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	fs := flag.NewFlagSet("apps "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the server's database: a SQLite `file` or a postgres:// URL (default: the user's data folder)")
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "the app's name, shown on the phone")
	public := fs.Bool("public", false, "a public client: no secret, PKCE required")
	var redirects stringList
	fs.Var(&redirects, "redirect-uri", "a redirect `URI`, compared byte for byte (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	if *db == "" {
		if *db, err = node.DefaultDBPath(); err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps:", err)
			return 1
		}
	}
	st, err := node.OpenStore(ctx, *db)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server apps:", err)
		return 1
	}
	defer st.Close()
	os, ok := st.(oauth.Store)
	if !ok {
		fmt.Fprintln(stderr, "qrlogin-server apps: this database has no open platform")
		return 1
	}
	switch args[0] {
	case "add":
		return appsAdd(ctx, os, *name, redirects, *public, *asJSON, stdout, stderr)
	case "list":
		return appsList(ctx, os, *asJSON, stdout, stderr)
	case "remove":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "qrlogin-server apps remove: give one client id")
			return 2
		}
		if err := os.DeleteClient(ctx, fs.Arg(0)); err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps remove:", err)
			return 1
		}
		fmt.Fprintln(stdout, "removed", fs.Arg(0))
		return 0
	}
	usage()
	return 2
}

// checkRedirect accepts absolute http(s) URIs without a fragment.
func checkRedirect(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("redirect URI %q: want an absolute http(s) URI without a #fragment", s)
	}
	return nil
}

func appsAdd(ctx context.Context, st oauth.Store, name string, redirects []string, public, asJSON bool, stdout, stderr io.Writer) int {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 || len(redirects) == 0 {
		fmt.Fprintln(stderr, "qrlogin-server apps add: --name (at most 128 bytes) and at least one --redirect-uri are required")
		return 2
	}
	for _, r := range redirects {
		if err := checkRedirect(r); err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps add:", err)
			return 2
		}
	}
	c := oauth.Client{ID: server.NewRef(), Name: name, RedirectURIs: redirects, Public: public, CreatedAt: time.Now().UTC()}
	var secret string
	if !public {
		secret = server.NewSecret()
		c.SecretHash = server.HashToken(secret)
	}
	if err := st.CreateClient(ctx, c); err != nil {
		fmt.Fprintln(stderr, "qrlogin-server apps add:", err)
		return 1
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(map[string]string{"client_id": c.ID, "client_secret": secret})
		return 0
	}
	fmt.Fprintf(stdout, "client_id:     %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n(shown once: it is stored only as a hash)\n", secret)
	} else {
		fmt.Fprintln(stdout, "public client: no secret; it must use PKCE (S256)")
	}
	return 0
}

func appsList(ctx context.Context, st oauth.Store, asJSON bool, stdout, stderr io.Writer) int {
	list, err := st.ListClients(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server apps list:", err)
		return 1
	}
	type app struct {
		ClientID     string    `json:"client_id"`
		Name         string    `json:"name"`
		RedirectURIs []string  `json:"redirect_uris"`
		Public       bool      `json:"public"`
		CreatedAt    time.Time `json:"created_at"`
	}
	out := make([]app, 0, len(list))
	for _, c := range list {
		out = append(out, app{c.ID, c.Name, c.RedirectURIs, c.Public, c.CreatedAt})
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(out)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tREDIRECT URIS")
	for _, a := range out {
		kind := "confidential"
		if a.Public {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ClientID, a.Name, kind, strings.Join(a.RedirectURIs, " "))
	}
	tw.Flush()
	return 0
}
