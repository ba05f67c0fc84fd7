package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/internal/proctest"
)

// The browser tests run Debian's Chromium, driven by playwright-core from
// frontend/e2e/browser.mjs (and testdata/backchannel.mjs, on frontend/e2e's
// helpers), on the real qrlogin-server and this demo site, with mobile-sim
// as the phone. They run only with QRLOGIN_E2E_BROWSER=1, and then fail
// (never skip) when Chromium, node or frontend/node_modules is missing.
// Screenshots go to $QRLOGIN_ARTIFACTS/browser/ (default test-output/browser/
// at the repository's root).

const (
	// codeTTL is the server's -code-ttl: short, so that an expired code
	// can be tried, yet long enough for a browser's way back to the site.
	codeTTL     = 3 * time.Second
	displayName = "Alice Liddell"
)

// repoRoot is the repository's root, from this package's folder.
var repoRoot, _ = filepath.Abs("../../..")

func TestBrowser(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_BROWSER") != "1" {
		t.Skip("browser tests: set QRLOGIN_E2E_BROWSER=1 (needs chromium, node and frontend/node_modules)")
	}
	node, chromium := browserTools(t)
	bins := buildCommands(t, "./server/cmd/qrlogin-server", "./mobile-sim", "./server/cmd/demo-site")
	dir := t.TempDir()

	// The demo site's port is chosen first: its redirect URI is registered
	// before the server starts.
	demoURL := "http://" + freeAddr(t)
	db := filepath.Join(dir, "qrlogin.db")
	app := registerApp(t, bins["qrlogin-server"], db, demoURL+"/callback")
	srv := proctest.Start(t, "qrlogin-server", bins["qrlogin-server"], "-addr", "127.0.0.1:0", "-db", db,
		"-code-ttl", codeTTL.String(), "-rotate-every", "50s", "-log-level", "debug")
	proctest.Start(t, "demo-site", bins["demo-site"], "-addr", strings.TrimPrefix(demoURL, "http://"),
		"-issuer", srv.URL, "-client-id", app.ClientID, "-client-secret", app.ClientSecret, "-redirect-url", demoURL+"/callback")

	// A server whose QR codes rotate and expire within seconds.
	fastDB := filepath.Join(dir, "fast.db")
	fastApp := registerApp(t, bins["qrlogin-server"], fastDB, demoURL+"/callback")
	fast := proctest.Start(t, "qrlogin-server (fast)", bins["qrlogin-server"], "-addr", "127.0.0.1:0", "-db", fastDB,
		"-ticket-ttl", "3s", "-rotate-every", "2s", "-rotate-max", "5s")

	// A server that always asks the phone for the code the page shows.
	strict := proctest.Start(t, "qrlogin-server (match always)", bins["qrlogin-server"], "-addr", "127.0.0.1:0",
		"-db", filepath.Join(dir, "strict.db"), "-match", "always", "-rotate-every", "50s")

	phones := filepath.Join(dir, "phones")
	sim := func(server, profile string, args ...string) {
		t.Helper()
		cmd := exec.Command(bins["mobile-sim"], append(args, "-server", server, "-profile", profile)...)
		cmd.Env = append(os.Environ(), "QRLOGIN_MOBILE_SIM_HOME="+phones)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mobile-sim %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, phone := range []struct{ server, profile string }{{srv.URL, "alice"}, {strict.URL, "alice-strict"}} {
		sim(phone.server, phone.profile, "register", "-username", "alice", "-display-name", displayName, "-password", "correct horse battery staple")
		sim(phone.server, phone.profile, "login", "-username", "alice", "-password", "correct horse battery staple")
	}

	shots := shotsDir(t)
	env := append(os.Environ(),
		"QRLOGIN_E2E_SERVER="+srv.URL,
		"QRLOGIN_E2E_DEMO="+demoURL,
		"QRLOGIN_E2E_MOBILE_SIM="+bins["mobile-sim"],
		"QRLOGIN_MOBILE_SIM_HOME="+phones,
		"QRLOGIN_E2E_PROFILE=alice",
		"QRLOGIN_E2E_DISPLAY_NAME="+displayName,
		"QRLOGIN_E2E_CHROMIUM="+chromium,
		"QRLOGIN_E2E_SHOTS="+shots,
		fmt.Sprintf("QRLOGIN_E2E_CODE_TTL_MS=%d", codeTTL.Milliseconds()),
		"QRLOGIN_E2E_FAST_SERVER="+fast.URL,
		"QRLOGIN_E2E_FAST_AUTHORIZE="+authorizeURL(fast.URL, fastApp.ClientID, demoURL+"/callback"),
		"QRLOGIN_E2E_STRICT_SERVER="+strict.URL,
		"QRLOGIN_E2E_STRICT_PROFILE=alice-strict",
	)
	for _, scenario := range []string{
		"authorize_approve", "authorize_deny", "authorize_code_expired", "authorize_code_replayed",
		"login_page", "login_page_long_poll", "login_match_code", "qr_rotates_and_expires", "device_and_error_pages",
	} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "browser.mjs"), scenario)
			cmd.Dir = filepath.Join(repoRoot, "frontend")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Errorf("%s: %v (screenshots in %s)", scenario, err, shots)
			}
		})
	}
	if t.Failed() {
		t.Logf("qrlogin-server log:\n%s", srv.Tail(60))
	}
	t.Logf("screenshots: %s", shots)
}

// shotsDir returns, made, the folder of the screenshots:
// $QRLOGIN_ARTIFACTS/browser, or test-output/browser at the repository's
// root.
func shotsDir(t *testing.T) string {
	t.Helper()
	shots := os.Getenv("QRLOGIN_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(repoRoot, "test-output")
	}
	shots = filepath.Join(shots, "browser")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// TestBrowserBackchannelLogout runs the demo site in this process,
// registered with its back-channel logout URI, on the real qrlogin-server.
// Chromium logs in to it by a scan (testdata/backchannel.mjs, mobile-sim
// approving); then the phone, through the Go client, ends the login: it
// revokes the grant (Mobile.Grants, RevokeGrant), or logs out. Within a
// second the page, reloaded, shows the log-in button and the notice that
// only a logout token gives, and the login's access token gets 401 from
// userinfo (its refresh token, if it had one, invalid_grant).
func TestBrowserBackchannelLogout(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_BROWSER") != "1" {
		t.Skip("browser tests: set QRLOGIN_E2E_BROWSER=1 (needs chromium, node and frontend/node_modules)")
	}
	node, chromium := browserTools(t)
	bins := buildCommands(t, "./server/cmd/qrlogin-server", "./mobile-sim")
	dir := t.TempDir()

	// The site listens first: its URIs are registered before the server
	// starts, and the site needs the server's URL.
	web := httptest.NewUnstartedServer(nil)
	demoURL := "http://" + web.Listener.Addr().String()
	db := filepath.Join(dir, "qrlogin.db")
	app := registerApp(t, bins["qrlogin-server"], db, demoURL+"/callback", "--backchannel-logout-uri", demoURL+backchannelPath)
	srv := proctest.Start(t, "qrlogin-server", bins["qrlogin-server"], "-addr", "127.0.0.1:0", "-db", db,
		"-rotate-every", "50s", "-log-level", "debug")
	var siteLog logBuffer
	site, err := NewSite(Config{Issuer: srv.URL, ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		RedirectURL: demoURL + "/callback", Logger: slog.New(slog.NewTextHandler(&siteLog, nil))})
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = site
	web.Start()
	t.Cleanup(web.Close)

	phones := filepath.Join(dir, "phones")
	sim := func(profile string, args ...string) {
		t.Helper()
		cmd := exec.Command(bins["mobile-sim"], append(args, "-server", srv.URL, "-profile", profile)...)
		cmd.Env = append(os.Environ(), "QRLOGIN_MOBILE_SIM_HOME="+phones)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mobile-sim %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	const password = "correct horse battery staple"
	sim("alice", "register", "-username", "alice", "-display-name", displayName, "-password", password)
	shots := shotsDir(t)

	for _, ending := range []struct {
		name string
		end  func(ctx context.Context, phone *client.Mobile, g api.Grant) error
	}{
		{"revoke", func(ctx context.Context, phone *client.Mobile, g api.Grant) error {
			return phone.RevokeGrant(ctx, g.ID)
		}},
		{"logout", func(ctx context.Context, phone *client.Mobile, _ api.Grant) error { return phone.Logout(ctx) }},
	} {
		t.Run(ending.name, func(t *testing.T) {
			// Each ending has its own phone: a logout ends what that phone
			// approved.
			profile := "alice-" + ending.name
			sim(profile, "login", "-username", "alice", "-password", password)
			phone := phoneOf(t, srv.URL, phones, profile)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			t.Cleanup(cancel) // after the script's cleanup, which lets it end
			js := startScript(t, ctx, node, ending.name, append(os.Environ(),
				"QRLOGIN_E2E_SERVER="+srv.URL,
				"QRLOGIN_E2E_DEMO="+demoURL,
				"QRLOGIN_E2E_MOBILE_SIM="+bins["mobile-sim"],
				"QRLOGIN_MOBILE_SIM_HOME="+phones,
				"QRLOGIN_E2E_PROFILE="+profile,
				"QRLOGIN_E2E_DISPLAY_NAME="+displayName,
				"QRLOGIN_E2E_CHROMIUM="+chromium,
				"QRLOGIN_E2E_SHOTS="+shots,
				"QRLOGIN_E2E_NOTICE="+noticeRevokedByPhone,
			))
			failed := func(format string, args ...any) {
				t.Helper()
				t.Fatalf(format+"\nbackchannel.mjs:\n%s\ndemo site:\n%s\nqrlogin-server:\n%s",
					append(args, js.out.String(), siteLog.String(), srv.Tail(60))...)
			}
			select {
			case <-js.signedIn:
			case <-js.exited:
				failed("backchannel.mjs %s ended before signing in: %v", ending.name, js.err)
			}

			// The login is the phone's grant of Demo Site, and the site's
			// session holds its id as the ID token's sid.
			grants, err := phone.Grants(ctx)
			if err != nil {
				failed("grants: %v", err)
			}
			var mine []api.Grant
			for _, g := range grants {
				if g.ClientID == app.ClientID {
					mine = append(mine, g)
				}
			}
			if len(mine) != 1 || mine[0].App != "Demo Site" {
				failed("the phone lists %+v, want one grant of Demo Site", grants)
			}
			tok := loginToken(site, mine[0].ID)
			if tok == nil {
				failed("the site has no session whose ID token's sid is the grant %s", mine[0].ID)
			}
			p, err := site.oidcProvider(ctx)
			if err != nil {
				failed("discovery: %v", err)
			}
			if status := userinfoStatus(t, ctx, p, tok.AccessToken); status != http.StatusOK {
				failed("userinfo before the login ended: %d", status)
			}

			if err := ending.end(ctx, phone, mine[0]); err != nil {
				failed("%s: %v", ending.name, err)
			}
			js.tell("ended")
			<-js.exited
			if js.err != nil {
				failed("backchannel.mjs %s: %v (screenshots in %s)", ending.name, js.err, shots)
			}
			if status := userinfoStatus(t, ctx, p, tok.AccessToken); status != http.StatusUnauthorized {
				t.Errorf("userinfo with the ended login's access token: %d, want 401", status)
			}
			if tok.RefreshToken != "" {
				_, err := site.oauth2Config(p).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
				if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
					t.Errorf("the ended login's refresh token: %v, want invalid_grant", err)
				}
			}
			if loginToken(site, mine[0].ID) != nil {
				t.Error("the site still has a session of the ended login")
			}
			t.Logf("%s", js.out.String())
		})
	}
}

// phoneOf is the Go client of mobile-sim's logged-in phone profile, from
// its file in the folder phones, on server.
func phoneOf(t *testing.T, server, phones, profile string) *client.Mobile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(phones, profile+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		DeviceID    string `json:"device_id"`
		DeviceToken string `json:"device_token"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.DeviceToken == "" {
		t.Fatalf("mobile-sim profile %s: %v (logged in: %t)", profile, err, p.DeviceToken != "")
	}
	return client.New(server).Mobile(p.DeviceToken, p.DeviceID)
}

// loginToken returns the tokens of site's signed-in session whose ID
// token's sid is sid, or nil.
func loginToken(site *Site, sid string) *oauth2.Token {
	site.sessions.mu.Lock()
	defer site.sessions.mu.Unlock()
	for _, sess := range site.sessions.m {
		if sess.user != nil && sess.sid == sid {
			return sess.token
		}
	}
	return nil
}

// userinfoStatus returns the status of p's userinfo endpoint for the
// access token.
func userinfoStatus(t *testing.T, ctx context.Context, p *oidc.Provider, access string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserInfoEndpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// script is testdata/backchannel.mjs running one scenario.
type script struct {
	stdin    io.WriteCloser
	out      logBuffer     // its stdout and stderr
	signedIn chan struct{} // closed when it says "signed-in"
	exited   chan struct{} // closed once it has exited; then err is set
	err      error
}

// startScript starts backchannel.mjs scenario under ctx with env. When
// the test ends its stdin is closed (the script, if still waiting, fails
// and closes its browser) and it is waited for.
func startScript(t *testing.T, ctx context.Context, node, scenario string, env []string) *script {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "backchannel.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	s := &script{signedIn: make(chan struct{}), exited: make(chan struct{})}
	cmd := exec.CommandContext(ctx, node, path, scenario)
	cmd.Env = env
	cmd.Stderr = &s.out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&s.out, sc.Text())
			if sc.Text() == "signed-in" {
				close(s.signedIn)
			}
		}
		s.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		s.stdin.Close()
		<-s.exited
	})
	return s
}

// tell writes line to the script's stdin.
func (s *script) tell(line string) {
	io.WriteString(s.stdin, line+"\n")
}

// logBuffer is a buffer that goroutines write to at once.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browserTools returns node and Chromium, failing the test if either, or
// frontend/node_modules/playwright-core, is missing.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("browser tests need node (Node 20) on PATH")
	}
	chromium = os.Getenv("QRLOGIN_E2E_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("browser tests need Chromium at %s: apt-get install -y chromium (or set QRLOGIN_E2E_CHROMIUM)", chromium)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "frontend/node_modules/playwright-core/package.json")); err != nil {
		t.Fatal("browser tests need frontend/node_modules/playwright-core: cd frontend && npm ci")
	}
	return node, chromium
}

// buildCommands builds each package into a temporary folder, by its last
// path element.
func buildCommands(t *testing.T, pkgs ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, p := range pkgs {
		out := filepath.Join(dir, filepath.Base(p))
		cmd := exec.Command("go", "build", "-o", out, p)
		cmd.Dir = repoRoot
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, b)
		}
		bins[filepath.Base(p)] = out
	}
	return bins
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type appCredentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// registerApp registers "Demo Site" with redirect, and the further flags
// of apps add, in the server's database db, as its operator would.
func registerApp(t *testing.T, server, db, redirect string, flags ...string) appCredentials {
	t.Helper()
	cmd := exec.Command(server, append([]string{"apps", "add", "-db", db, "--name", "Demo Site", "--redirect-uri", redirect, "-json"}, flags...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qrlogin-server apps add: %v\n%s%s", err, out, stderr.Bytes())
	}
	var c appCredentials
	if err := json.Unmarshal(out, &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("qrlogin-server apps add -json printed %q (%v)", out, err)
	}
	return c
}

// authorizeURL is an authorization request of client, with a PKCE
// challenge, as a site would send.
func authorizeURL(server, client, redirect string) string {
	b := make([]byte, 32)
	rand.Read(b)
	sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(b)))
	return server + "/oauth/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"openid profile"},
		"state": {"s-" + randomString()}, "nonce": {"n-" + randomString()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
}
