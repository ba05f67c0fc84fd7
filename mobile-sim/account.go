package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
)

// userAgent is the User-Agent of mobile-sim's requests.
const userAgent = "qrlogin-mobile-sim/1"

// cmdRegister creates an account: register --username U [--password P]
// [--display-name D]. The password is prompted for when not given.
func cmdRegister(e *env, args []string) error {
	f := newFlags("register", "")
	username := f.String("username", "", "the account's `name` (required)")
	password := f.String("password", "", "the `password` (prompted for, unechoed, when not given)")
	display := f.String("display-name", "", "the `name` shown to people (default: the username)")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	if *username == "" {
		return f.usageErr("--username is required")
	}
	p, err := loadProfile(f.profile)
	if err != nil {
		return err
	}
	if *password == "" {
		if *password, err = e.newPassword(f); err != nil {
			return err
		}
	}
	if *display == "" {
		*display = *username
	}
	srv := pickServer(f.server, p)
	u, err := newClient(srv).Register(context.Background(), api.RegisterRequest{
		Username: *username, Password: *password, DisplayName: *display})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered %s (%s) on %s\n", printable(u.Username), printable(u.DisplayName), printable(srv))
	return nil
}

// cmdLogin logs the profile's phone in and saves its device token:
// login --username U [--password P].
func cmdLogin(e *env, args []string) error {
	f := newFlags("login", "")
	username := f.String("username", "", "the account's `name` (required)")
	password := f.String("password", "", "the `password` (prompted for, unechoed, when not given)")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	if *username == "" {
		return f.usageErr("--username is required")
	}
	p, err := loadProfile(f.profile)
	if err != nil {
		return err
	}
	if *password == "" {
		if *password, err = e.password(f, "Password: "); err != nil {
			return err
		}
	}
	srv := pickServer(f.server, p)
	resp, err := newClient(srv).MobileLogin(context.Background(), api.MobileLoginRequest{
		Username: *username, Password: *password,
		Device: api.MobileDevice{ID: p.DeviceID, Name: "mobile-sim (" + f.profile + ")", Platform: "mobile-sim"}})
	if err != nil {
		return err
	}
	if resp.DeviceID != "" {
		p.DeviceID = resp.DeviceID
	}
	p.Server, p.DeviceToken, p.User = srv, resp.DeviceToken, resp.User
	if err := p.Save(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "logged in as %s (%s) on %s, profile %q\n",
		printable(resp.User.Username), printable(resp.User.DisplayName), printable(srv), f.profile)
	return nil
}

// cmdLogout revokes the profile's device token, and with it every desktop
// session that this phone confirmed, then forgets the token. The device id
// stays. A token that the server already refuses is forgotten too.
func cmdLogout(e *env, args []string) error {
	f := newFlags("logout", "")
	if err := f.noArgs(args, e); err != nil {
		return err
	}
	p, m, err := loggedIn(f)
	if err != nil {
		return err
	}
	refused := m.Logout(context.Background())
	if refused != nil && !errors.Is(refused, server.ErrUnauthorized) {
		return refused
	}
	p.DeviceToken, p.User = "", api.User{}
	if err := p.Save(); err != nil {
		return err
	}
	if refused != nil {
		fmt.Fprintln(e.stdout, "the server had already ended this login; logged out here")
		return nil
	}
	fmt.Fprintln(e.stdout, "logged out; this phone's desktop sessions are ended")
	return nil
}

// noArgs parses a command line that takes flags only.
func (f *cmdFlags) noArgs(args []string, e *env) error {
	pos, err := f.parse(args, e.stdout)
	if err == nil && len(pos) > 0 {
		err = f.usageErr("unexpected argument %q", pos[0])
	}
	return err
}

// callTimeout bounds each call to the server.
const callTimeout = 30 * time.Second

// newClient returns a client of the server at srv.
func newClient(srv string) *client.Client {
	return client.New(srv, client.WithUserAgent(userAgent),
		client.WithHTTPClient(&http.Client{Timeout: callTimeout}))
}

// pickServer returns -server if set, else the profile's server, else the
// default.
func pickServer(flagServer string, p *Profile) string {
	switch {
	case flagServer != "":
		return flagServer
	case p.Server != "":
		return p.Server
	}
	return defaultServer
}

// loggedIn loads the profile of f and returns it with its phone, or an
// error saying to log in first.
func loggedIn(f *cmdFlags) (*Profile, *client.Mobile, error) {
	p, err := loadProfile(f.profile)
	if err != nil {
		return nil, nil, err
	}
	if !p.LoggedIn() {
		return nil, nil, fmt.Errorf("profile %q is not logged in: run mobile-sim login -profile %s --username NAME", f.profile, f.profile)
	}
	return p, newClient(pickServer(f.server, p)).Mobile(p.DeviceToken, p.DeviceID), nil
}

// password reads a password from the terminal without echoing it. When
// stdin is not a terminal it returns a usage error: pass --password.
func (e *env) password(f *cmdFlags, prompt string) (string, error) {
	in, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", f.usageErr("no --password given and stdin is not a terminal to ask for it")
	}
	fmt.Fprint(e.stderr, prompt)
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", f.usageErr("empty password")
	}
	return string(b), nil
}

// newPassword asks for a new password twice and checks that both agree.
func (e *env) newPassword(f *cmdFlags) (string, error) {
	pw, err := e.password(f, "New password: ")
	if err != nil {
		return "", err
	}
	again, err := e.password(f, "Repeat it: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", f.usageErr("the two passwords differ")
	}
	return pw, nil
}
