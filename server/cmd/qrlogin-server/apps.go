package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// runApps serves "qrlogin-server apps add|update|list|remove": the
// registered apps of the open platform, in the database of -db.
func runApps(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprint(stderr, `Usage:
  qrlogin-server apps add -db FILE --name NAME [--redirect-uri URI...] [--grants LIST]
                         [--backchannel-logout-uri URI] [--public] [-json]
  qrlogin-server apps update -db FILE [--name NAME] [--redirect-uri URI...] [--grants LIST]
                            [--backchannel-logout-uri URI] CLIENT_ID
  qrlogin-server apps list -db FILE [-json]
  qrlogin-server apps remove -db FILE CLIENT_ID

add registers an app and prints its client id and, for a confidential app,
its secret: shown once, stored only as a hash. A --public app (a single-page
or native app) has no secret. Every app uses PKCE.

--grants lists what the app may use, of code (the authorization code flow of
a website, which needs a --redirect-uri), refresh (refresh tokens, issued
when the app asks for the offline_access scope) and device (the device grant
of a TV or a terminal). The default is code,refresh; an app registered for
code is not given the device grant unless the list names it, since a device
code is the usual bait of phishing.

--backchannel-logout-uri is where the app is told, with a signed logout
token, that a person's grant ended (revoked from the phone, or the phone
logged out): https, or http on a loopback address.

A client id is a random ref that never starts with -, so that update and
remove never take it for a flag; an id of an app added before that rule may,
and then follows --: apps remove -db FILE -- -XnQg4I...

update changes what its flags name, and keeps the rest (--redirect-uri
replaces the list; --backchannel-logout-uri "" removes the URI). Apps
registered before grant types existed may use every grant: narrow them with
update --grants. Grants and tokens already issued stay.
`)
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "add", "update", "list", "remove":
	case "-h", "-help", "--help":
		usage()
		return 0
	default: // refused before any database is opened
		fmt.Fprintf(stderr, "qrlogin-server apps: unknown command %q\n", args[0])
		usage()
		return 2
	}
	fs := flag.NewFlagSet("apps "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the server's database: a SQLite `file` or a postgres:// URL (default: the user's data folder)")
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "the app's name, shown on the phone")
	public := fs.Bool("public", false, "a public client: no secret")
	grants := fs.String("grants", "code,refresh", "the grants the app may use: a comma-separated `list` of code, refresh, device")
	logoutURI := fs.String("backchannel-logout-uri", "", "where the app is told that a grant ended (`URI`)")
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
	os, closeDB, err := openOAuth(ctx, *db)
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-server apps:", err)
		return 1
	}
	defer closeDB()
	switch args[0] {
	case "add":
		gt, err := grantTypes(*grants)
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps add:", err)
			return 2
		}
		c := oauth.Client{Name: strings.TrimSpace(*name), RedirectURIs: redirects, Public: *public, GrantTypes: gt, BackchannelLogoutURI: *logoutURI}
		return appsAdd(ctx, os, c, *asJSON, stdout, stderr)
	case "update":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "qrlogin-server apps update: give one client id")
			return 2
		}
		c, err := os.ClientByID(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps update:", err)
			return 1
		}
		var bad error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				c.Name = strings.TrimSpace(*name)
			case "redirect-uri":
				c.RedirectURIs = redirects
			case "grants":
				c.GrantTypes, bad = grantTypes(*grants)
			case "backchannel-logout-uri":
				c.BackchannelLogoutURI = *logoutURI
			case "public":
				bad = errors.New("--public cannot change: remove the app and add it again")
			}
		})
		if bad == nil {
			bad = checkApp(c)
		}
		if bad != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps update:", bad)
			return 2
		}
		if err := os.UpdateClient(ctx, c); err != nil {
			fmt.Fprintln(stderr, "qrlogin-server apps update:", err)
			return 1
		}
		fmt.Fprintln(stdout, "updated", c.ID)
		return 0
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

// openOAuth opens the open platform's store in the database db (the user's
// data folder's when empty) for a subcommand, with the function that
// closes it.
func openOAuth(ctx context.Context, db string) (oauth.Store, func(), error) {
	var err error
	if db == "" {
		if db, err = node.DefaultDBPath(); err != nil {
			return nil, nil, err
		}
	}
	st, err := node.OpenStore(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	os, ok := st.(oauth.Store)
	if !ok {
		st.Close()
		return nil, nil, errors.New("this database has no open platform")
	}
	return os, func() { st.Close() }, nil
}

// checkRedirect accepts absolute http(s) URIs without a fragment.
func checkRedirect(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("redirect URI %q: want an absolute http(s) URI without a #fragment", s)
	}
	return nil
}

// grantShort are --grants' names for the grant types.
var grantShort = map[string]string{"code": oauth.GrantCode, "refresh": oauth.GrantRefresh, "device": oauth.GrantDevice}

// grantTypes parses --grants.
func grantTypes(list string) ([]string, error) {
	var out []string
	for g := range strings.SplitSeq(list, ",") {
		full, ok := grantShort[strings.TrimSpace(g)]
		if !ok {
			return nil, fmt.Errorf("--grants: unknown grant %q (want code, refresh or device)", g)
		}
		if !slices.Contains(out, full) {
			out = append(out, full)
		}
	}
	return out, nil
}

// checkLogoutURI accepts an absolute https URI, or http on a loopback
// address (a site under development), without a fragment.
func checkLogoutURI(s string) error {
	u, err := url.Parse(s)
	loopback := false
	if err == nil {
		ip := net.ParseIP(u.Hostname())
		loopback = u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
	}
	if err != nil || u.Host == "" || u.Fragment != "" || u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("back-channel logout URI %q: want an absolute https URI (http only on a loopback address) without a #fragment", s)
	}
	return nil
}

// checkApp says what is wrong with an app's registration, or returns nil.
func checkApp(c oauth.Client) error {
	code := slices.Contains(c.GrantTypes, oauth.GrantCode)
	switch {
	case c.Name == "" || len(c.Name) > 128:
		return errors.New("--name is required, at most 128 bytes")
	case code && len(c.RedirectURIs) == 0:
		return errors.New("the code grant needs at least one --redirect-uri")
	case !code && !slices.Contains(c.GrantTypes, oauth.GrantDevice):
		return errors.New("--grants must name code or device: refresh alone logs nobody in")
	}
	for _, r := range c.RedirectURIs {
		if err := checkRedirect(r); err != nil {
			return err
		}
	}
	if c.BackchannelLogoutURI != "" {
		return checkLogoutURI(c.BackchannelLogoutURI)
	}
	return nil
}

// appsAdd registers c, after checking it, with a new client id and, for a
// confidential app, a new secret, and prints them.
func appsAdd(ctx context.Context, st oauth.Store, c oauth.Client, asJSON bool, stdout, stderr io.Writer) int {
	if !slices.Contains(c.GrantTypes, oauth.GrantCode) && len(c.RedirectURIs) > 0 {
		fmt.Fprintln(stderr, "qrlogin-server apps add: --redirect-uri is for the code grant, which --grants does not name")
		return 2
	}
	if err := checkApp(c); err != nil {
		fmt.Fprintln(stderr, "qrlogin-server apps add:", err)
		return 2
	}
	c.ID, c.CreatedAt = newClientID(), time.Now().UTC()
	var secret string
	if !c.Public {
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
		fmt.Fprintln(stdout, "public client: no secret")
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
		ClientID             string    `json:"client_id"`
		Name                 string    `json:"name"`
		RedirectURIs         []string  `json:"redirect_uris"`
		Public               bool      `json:"public"`
		GrantTypes           []string  `json:"grant_types"`
		BackchannelLogoutURI string    `json:"backchannel_logout_uri,omitempty"`
		CreatedAt            time.Time `json:"created_at"`
	}
	out := make([]app, 0, len(list))
	for _, c := range list {
		out = append(out, app{c.ID, c.Name, c.RedirectURIs, c.Public, c.GrantTypes, c.BackchannelLogoutURI, c.CreatedAt})
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(out)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tGRANTS\tREDIRECT URIS\tLOGOUT URI")
	for _, a := range out {
		kind := "confidential"
		if a.Public {
			kind = "public"
		}
		var short []string
		for _, g := range a.GrantTypes {
			for k, v := range grantShort {
				if v == g {
					short = append(short, k)
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ClientID, a.Name, kind, strings.Join(short, ","), strings.Join(a.RedirectURIs, " "), a.BackchannelLogoutURI)
	}
	tw.Flush()
	return 0
}

// newClientID returns a new random client id (a ref) that does not start
// with -, which the flag package would read as a flag in "apps remove ID".
func newClientID() string {
	for {
		if id := server.NewRef(); id[0] != '-' {
			return id
		}
	}
}
