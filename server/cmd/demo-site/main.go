// Command demo-site is a small third-party website that logs people in
// through the qrlogin open platform, as any site would: OAuth 2.0 with the
// authorization code flow, PKCE (S256), state and an OpenID Connect nonce,
// by golang.org/x/oauth2 and github.com/coreos/go-oidc. It shows what the
// platform hands over (the ID token's subject, userinfo's name and picture)
// and, plainly, every error the flow can end in.
//
// It implements OpenID Connect Back-Channel Logout 1.0: when the person's
// grant ends at the platform (revoked from the phone, or the phone logged
// out), the platform POSTs a signed logout token to /backchannel-logout,
// and the site ends that login's sessions at once; their browsers are told
// why on the home page. The endpoint answers 200, or 400 with a JSON error
// for a token that does not check out (signature, iss, aud, exp, iat,
// typ, the events claim, no nonce, sub or sid, a jti not seen before).
//
// Register it first, with its redirect and back-channel logout URIs:
//
//	qrlogin-server apps add --name "Demo Site" \
//	  --redirect-uri http://127.0.0.1:8090/callback \
//	  --backchannel-logout-uri http://127.0.0.1:8090/backchannel-logout -json
//
// then:
//
//	demo-site -issuer http://127.0.0.1:8080 -client-id ID -client-secret SECRET
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args and serves the site until SIGINT or SIGTERM; it returns
// the exit code. Once listening it logs `msg=listening url=...`.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-site", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr     = fs.String("addr", "127.0.0.1:8090", "listen `address`; port 0 picks a free one")
		issuer   = fs.String("issuer", "", "the qrlogin server's base `URL`, its OpenID Connect issuer (required)")
		clientID = fs.String("client-id", "", "this site's client `id` at the platform (required)")
		secret   = fs.String("client-secret", "", "this site's client `secret` (empty for a public client: PKCE only)")
		redirect = fs.String("redirect-url", "", "the registered redirect `URL` (default: http://ADDR/callback)")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: demo-site -issuer URL -client-id ID [-client-secret S] [flags]\n\nA third-party website that logs people in by scanning, through the qrlogin\nopen platform (OAuth 2.0 + OpenID Connect).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *issuer == "" || *clientID == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "demo-site: -issuer and -client-id are required, and no arguments")
		fs.Usage()
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "demo-site:", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	if *redirect == "" {
		*redirect = base + "/callback"
	}
	site, err := NewSite(Config{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, RedirectURL: *redirect, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "demo-site:", err)
		return 2
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("listening", "url", base, "issuer", *issuer, "redirect", *redirect, "backchannel_logout", base+backchannelPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-done:
		log.Error("server stopped", "err", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
