package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The browser tests run Debian's Chromium, driven by playwright-core from
// frontend/e2e/browser.mjs, on the real qrlogin-server and this demo site,
// with mobile-sim as the phone. They run only with QRLOGIN_E2E_BROWSER=1,
// and then fail (never skip) when Chromium, node or frontend/node_modules
// is missing. Screenshots go to $QRLOGIN_ARTIFACTS/browser/ (default
// test-output/browser/ at the repository's root).

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
	srv := startProc(t, "qrlogin-server", bins["qrlogin-server"], "-addr", "127.0.0.1:0", "-db", db,
		"-code-ttl", codeTTL.String(), "-rotate-every", "50s", "-log-level", "debug")
	startProc(t, "demo-site", bins["demo-site"], "-addr", strings.TrimPrefix(demoURL, "http://"),
		"-issuer", srv.url, "-client-id", app.ClientID, "-client-secret", app.ClientSecret, "-redirect-url", demoURL+"/callback")

	// A server whose QR codes rotate and expire within seconds.
	fastDB := filepath.Join(dir, "fast.db")
	fastApp := registerApp(t, bins["qrlogin-server"], fastDB, demoURL+"/callback")
	fast := startProc(t, "qrlogin-server (fast)", bins["qrlogin-server"], "-addr", "127.0.0.1:0", "-db", fastDB,
		"-ticket-ttl", "3s", "-rotate-every", "2s", "-rotate-max", "5s")

	// A server that always asks the phone for the code the page shows.
	strict := startProc(t, "qrlogin-server (match always)", bins["qrlogin-server"], "-addr", "127.0.0.1:0",
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
	for _, phone := range []struct{ server, profile string }{{srv.url, "alice"}, {strict.url, "alice-strict"}} {
		sim(phone.server, phone.profile, "register", "-username", "alice", "-display-name", displayName, "-password", "correct horse battery staple")
		sim(phone.server, phone.profile, "login", "-username", "alice", "-password", "correct horse battery staple")
	}

	shots := os.Getenv("QRLOGIN_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(repoRoot, "test-output")
	}
	shots = filepath.Join(shots, "browser")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"QRLOGIN_E2E_SERVER="+srv.url,
		"QRLOGIN_E2E_DEMO="+demoURL,
		"QRLOGIN_E2E_MOBILE_SIM="+bins["mobile-sim"],
		"QRLOGIN_MOBILE_SIM_HOME="+phones,
		"QRLOGIN_E2E_PROFILE=alice",
		"QRLOGIN_E2E_DISPLAY_NAME="+displayName,
		"QRLOGIN_E2E_CHROMIUM="+chromium,
		"QRLOGIN_E2E_SHOTS="+shots,
		fmt.Sprintf("QRLOGIN_E2E_CODE_TTL_MS=%d", codeTTL.Milliseconds()),
		"QRLOGIN_E2E_FAST_SERVER="+fast.url,
		"QRLOGIN_E2E_FAST_AUTHORIZE="+authorizeURL(fast.url, fastApp.ClientID, demoURL+"/callback"),
		"QRLOGIN_E2E_STRICT_SERVER="+strict.url,
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
		t.Logf("qrlogin-server log:\n%s", tail(srv.log(), 60))
	}
	t.Logf("screenshots: %s", shots)
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

// registerApp registers "Demo Site" with redirect in the server's database
// db, as its operator would.
func registerApp(t *testing.T, server, db, redirect string) appCredentials {
	t.Helper()
	cmd := exec.Command(server, "apps", "add", "-db", db, "--name", "Demo Site", "--redirect-uri", redirect, "-json")
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

// proc is a command running for the test.
type proc struct {
	url    string
	mu     sync.Mutex
	output bytes.Buffer
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

var listening = regexp.MustCompile(`msg=listening url=(\S+)`)

// startProc starts bin with args and waits until it logs where it listens;
// it is killed when the test ends.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{}
	cmd := exec.Command(bin, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	select {
	case p.url = <-urls:
	case <-exited:
		t.Fatalf("%s exited:\n%s", name, p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not listen:\n%s", name, p.log())
	}
	return p
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
