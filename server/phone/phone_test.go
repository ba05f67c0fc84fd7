package phone

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository's root, from this package's folder.
const repoRoot = "../.."

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(method, target, nil)
	r.Host = "phone.example:8443"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	h.ServeHTTP(rec, r)
	return rec
}

// builtName returns the name of the built file of static/ that matches re.
func builtName(t *testing.T, re string) string {
	t.Helper()
	for name := range files {
		if regexp.MustCompile(re).MatchString(name) {
			return name
		}
	}
	t.Fatalf("static/ has no file matching %s", re)
	return ""
}

func TestHandlerServesTheAppWithItsHeaders(t *testing.T) {
	h := Handler()
	script, style := builtName(t, `^index-.*\.js$`), builtName(t, `^index-.*\.css$`)
	for _, tc := range []struct {
		path, contentType, cache string
	}{
		{"/m/", "text/html; charset=utf-8", "no-cache"},
		{"/m/index.html", "text/html; charset=utf-8", "no-cache"},
		{"/m/sw.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/m/manifest.webmanifest", "application/manifest+json", "no-cache"},
		{"/m/icon.svg", "image/svg+xml", "no-cache"},
		{"/m/icon-192.png", "image/png", "no-cache"},
		{"/m/icon-512.png", "image/png", "no-cache"},
		{"/m/" + script, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/m/" + style, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
	} {
		rec := get(t, h, http.MethodGet, tc.path)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", tc.path, rec.Code, rec.Body.Len())
			continue
		}
		hd := rec.Header()
		for k, want := range map[string]string{
			"Content-Type": tc.contentType, "Cache-Control": tc.cache,
			"Content-Security-Policy": CSP("phone.example:8443"), "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "no-referrer", "Permissions-Policy": PermissionsPolicy, "X-Frame-Options": "DENY",
		} {
			if got := hd.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
		if hd.Get("ETag") == "" {
			t.Errorf("%s: no ETag", tc.path)
		}
	}
	// The page's ETag makes a reload cheap.
	page := get(t, h, http.MethodGet, "/m/")
	if rec := get(t, h, http.MethodGet, "/m/", "If-None-Match", page.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match of the page's ETag: %d, want 304", rec.Code)
	}
	if rec := get(t, h, http.MethodHead, "/m/"); rec.Code != http.StatusOK {
		t.Errorf("HEAD /m/: %d", rec.Code)
	}
	// Under http.StripPrefix too.
	if rec := get(t, http.StripPrefix("/m", h), http.MethodGet, "/m/sw.js"); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("under StripPrefix: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestHandlerRefusesTheRest(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/m/sources.txt", "/m/nope.js", "/m/static/index.html", "/m/../phone.go", "/m/.well-known/x"} {
		rec := get(t, h, http.MethodGet, p)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: a 404 without the CSP or with a cache: %v", p, rec.Header())
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if rec := get(t, h, m, "/m/"); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /m/: %d, want 405", m, rec.Code)
		}
	}
}

func TestCSP(t *testing.T) {
	for host, want := range map[string]string{
		"phone.example:8443": "connect-src 'self' ws://phone.example:8443 wss://phone.example:8443",
		"127.0.0.1:8080":     "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080",
		"[::1]:8080":         "connect-src 'self' ws://[::1]:8080 wss://[::1]:8080",
		"evil; script-src *": "connect-src 'self'",
		"":                   "connect-src 'self'",
	} {
		got := CSP(host)
		if !strings.HasSuffix(got, "; "+want) {
			t.Errorf("CSP(%q) = %q, want it to end with %q", host, got, want)
		}
		for _, d := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'",
			"img-src 'self' data: blob:", "media-src 'self' blob: mediastream:", "style-src 'self'", "manifest-src 'self'",
			"frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
			if !strings.Contains(got, d+";") {
				t.Errorf("CSP(%q) lacks %q", host, d)
			}
		}
		if strings.Contains(got, "unsafe-inline") || strings.Contains(got, "'unsafe-eval'") {
			t.Errorf("CSP(%q) = %q allows inline code or eval", host, got)
		}
	}
}

// The page loads nothing that the CSP refuses: no inline script or style,
// only files of this folder, and it names its manifest.
func TestPageKeepsToTheCSP(t *testing.T) {
	page := string(files["index.html"].data)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "style=") || strings.Contains(page, "<style") {
		t.Errorf("index.html has an inline script or style, which the CSP refuses:\n%s", page)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("index.html links %d files:\n%s", len(refs), page)
	}
	for _, m := range refs {
		name, ok := strings.CutPrefix(m[1], Prefix)
		if _, there := files[name]; !ok || !there {
			t.Errorf("index.html links %s, which Handler does not serve", m[1])
		}
	}
	if !strings.Contains(page, `rel="manifest" href="/m/manifest.webmanifest"`) {
		t.Error("index.html does not link its manifest")
	}
}

func TestManifest(t *testing.T) {
	var m struct {
		ID, Name, StartURL, Scope, Display string
		Icons                              []struct{ Src, Sizes, Type, Purpose string }
	}
	raw := files["manifest.webmanifest"].data
	// The manifest's keys are snake_case.
	raw = bytes.ReplaceAll(raw, []byte(`"start_url"`), []byte(`"StartURL"`))
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Scope != Prefix || !strings.HasPrefix(m.StartURL, Prefix) || m.Display != "standalone" || m.Name == "" {
		t.Errorf("manifest: %+v", m)
	}
	sizes := map[string]bool{}
	for _, ic := range m.Icons {
		f, ok := files[ic.Src]
		if !ok || f.contentType != ic.Type {
			t.Errorf("manifest icon %s (%s): served %t as %q", ic.Src, ic.Type, ok, f.contentType)
		}
		sizes[ic.Sizes] = true
	}
	for _, s := range []string{"any", "192x192", "512x512"} {
		if !sizes[s] {
			t.Errorf("manifest has no %s icon", s)
		}
	}
}

// The service worker caches the shell, names only files that are served
// (the decoder's as optional: they are built apart) and never touches the
// API.
func TestServiceWorkerShell(t *testing.T) {
	sw := string(files["sw.js"].data)
	m := regexp.MustCompile(`JSON\.parse\(("(?:[^"\\]|\\.)*")\)`).FindStringSubmatch(sw)
	if m == nil {
		t.Fatalf("sw.js holds no shell:\n%s", sw)
	}
	var text string
	if err := json.Unmarshal([]byte(m[1]), &text); err != nil {
		t.Fatal(err)
	}
	var shell struct {
		Version  string
		Files    []string
		Optional []string
	}
	if err := json.Unmarshal([]byte(text), &shell); err != nil {
		t.Fatal(err)
	}
	if len(shell.Version) < 12 || len(shell.Files) < 5 {
		t.Errorf("shell %+v", shell)
	}
	have := map[string]bool{}
	for _, f := range shell.Files {
		have[f] = true
		name := f
		if name == "" {
			name = "index.html"
		}
		if _, ok := files[name]; !ok {
			t.Errorf("sw.js caches %q, which is not served", f)
		}
	}
	for _, need := range []string{"", "manifest.webmanifest", "icon-192.png", builtName(t, `^index-.*\.js$`)} {
		if !have[need] {
			t.Errorf("sw.js does not cache %q", need)
		}
	}
	if strings.Join(shell.Optional, ",") != "decoder.wasm,wasm_exec.js" {
		t.Errorf("sw.js optional files %q", shell.Optional)
	}
	if regexp.MustCompile(`(?m)^\s*(import|export)\b`).MatchString(sw) {
		t.Error("sw.js imports or exports: it must run as a classic worker script")
	}
}

// static/ is built from frontend/ and committed: every file the build read
// must still be as it was (static/sources.txt records their SHA-256).
func TestStaticIsFresh(t *testing.T) {
	f, err := os.Open("static/sources.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, path, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("sources.txt: bad line %q", sc.Text())
		}
		n++
		b, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Errorf("server/phone/static was built from %s, which is gone: rebuild (cd frontend && npm run build:phone)", path)
			continue
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s changed since server/phone/static was built: rebuild (cd frontend && npm run build:phone) and commit it", path)
		}
	}
	if n < 15 {
		t.Errorf("sources.txt names %d files; the build reads more", n)
	}
}

// decoderFiles are the files of static/ that make wasm writes, not the
// app's build.
var decoderFiles = map[string]bool{"decoder.wasm": true, "wasm_exec.js": true}

// A build from the sources as they are gives the committed files byte for
// byte (but the decoder's, which another build makes). It needs
// frontend/node_modules (npm ci); without them TestStaticIsFresh stands
// guard alone.
func TestStaticMatchesARebuild(t *testing.T) {
	vite, _ := filepath.Abs(filepath.Join(repoRoot, "frontend/node_modules/.bin/vite"))
	if _, err := os.Stat(vite); err != nil {
		t.Skip("frontend/node_modules is not installed (cd frontend && npm ci)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	out := t.TempDir()
	cmd := exec.Command(vite, "build", "--config", "vite.phone.config.ts", "--outDir", out, "--logLevel", "error")
	cmd.Dir = filepath.Join(repoRoot, "frontend")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, b)
	}
	built, _ := filepath.Glob(filepath.Join(out, "*"))
	committed, _ := filepath.Glob("static/*")
	n := 0
	for _, c := range committed {
		if !decoderFiles[filepath.Base(c)] {
			n++
		}
	}
	if len(built) != n {
		t.Errorf("a build makes %d files, static/ has %d besides the decoder's: rebuild (cd frontend && npm run build:phone)", len(built), n)
	}
	for _, b := range built {
		want, _ := os.ReadFile(b)
		got, err := os.ReadFile(filepath.Join("static", filepath.Base(b)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("static/%s differs from a fresh build: rebuild (cd frontend && npm run build:phone) and commit it", filepath.Base(b))
		}
	}
}

// A browser that takes gzip gets the decoder (and the other text files)
// gzipped, with its own ETag; one that does not, or refuses it, gets them
// as they are. PNGs, compressed already, are never gzipped.
func TestGzip(t *testing.T) {
	h := Handler()
	raw := get(t, h, "GET", "/m/decoder.wasm")
	gz := get(t, h, "GET", "/m/decoder.wasm", "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= raw.Body.Len()/2 || gz.Header().Get("ETag") == raw.Header().Get("ETag") {
		t.Fatalf("gzip: %q, %d bytes of %d, ETag %q", gz.Header().Get("Content-Encoding"), gz.Body.Len(), raw.Body.Len(), gz.Header().Get("ETag"))
	}
	t.Logf("decoder.wasm: %d bytes, %d gzipped", raw.Body.Len(), gz.Body.Len())
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, raw.Body.Bytes()) {
		t.Fatalf("gunzipped: %d bytes, %v", len(b), err)
	}
	if r := get(t, h, "GET", "/m/decoder.wasm", "Accept-Encoding", "gzip;q=0"); r.Header().Get("Content-Encoding") != "" {
		t.Error("gzip refused with q=0 was sent gzipped")
	}
	if raw.Header().Get("Content-Encoding") != "" || raw.Header().Get("Vary") != "Accept-Encoding" {
		t.Errorf("plain: encoding %q, Vary %q", raw.Header().Get("Content-Encoding"), raw.Header().Get("Vary"))
	}
	if r := get(t, h, "GET", "/m/icon-192.png", "Accept-Encoding", "gzip"); r.Header().Get("Content-Encoding") != "" {
		t.Error("a PNG was gzipped")
	}
}
