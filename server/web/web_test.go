package web

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository's root, from this package's folder.
const repoRoot = "../.."

var dataBlock = regexp.MustCompile(`(?s)<script type="application/json" id="qrlogin-ticket">(.*?)</script>`)

func authorizePage() AuthorizePage {
	return AuthorizePage{
		AppName: "Demo Site", Ref: "ref-aaaaaaaaaaaaaaaaaaaaaa", PollSecret: "secret-bbbbbbbbbbbbbbbbbbbbbb",
		QRPayload: "http://127.0.0.1:8080/q/ref-aaaaaaaaaaaaaaaaaaaaaa", MatchCode: "42",
		ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Scopes: []string{"openid", "profile", "openid"},
		RedirectHost: "127.0.0.1:8090",
	}
}

func checkHeaders(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d", rec.Code, status)
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Frame-Options": "DENY",
		"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestAuthorizeHandsTheScriptItsTicketInTheJSONBlockOnly(t *testing.T) {
	rec := httptest.NewRecorder()
	p := authorizePage()
	Authorize(rec, p)
	checkHeaders(t, rec, http.StatusOK)
	body := rec.Body.String()
	m := dataBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no JSON block in\n%s", body)
	}
	var got authorizeData
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatalf("JSON block %q: %v", m[1], err)
	}
	want := authorizeData{AppName: "Demo Site", Ref: p.Ref, PollSecret: p.PollSecret, QRPayload: p.QRPayload,
		ExpiresAt: "2026-01-02T03:04:05Z", MatchCode: "42"}
	if got != want {
		t.Errorf("JSON block = %+v, want %+v", got, want)
	}
	// The secret is nowhere else: no URL, no attribute.
	if n := strings.Count(body, p.PollSecret); n != 1 {
		t.Errorf("the poll secret appears %d times, want once (in the JSON block)", n)
	}
	for _, want := range []string{`data-page="authorize"`, "Demo Site", "Your name and profile picture",
		"127.0.0.1:8090", `<script type="module" src="/static/web.js?v=` + version + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(body, "Your qrlogin account ID") != 1 {
		t.Error("a scope asked for twice is listed twice")
	}
}

// An app name is the app owner's text: it must not break out of the page
// or of the JSON block.
func TestAuthorizeEscapesTheAppName(t *testing.T) {
	rec := httptest.NewRecorder()
	p := authorizePage()
	p.AppName = `Evil</script><script>alert(1)</script>`
	Authorize(rec, p)
	body := rec.Body.String()
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("the app name was not escaped:\n%s", body)
	}
	var got authorizeData
	if err := json.Unmarshal([]byte(dataBlock.FindStringSubmatch(body)[1]), &got); err != nil || got.AppName != p.AppName {
		t.Errorf("JSON block app_name = %q, %v; want %q", got.AppName, err, p.AppName)
	}
}

func TestAuthorizeErrorSaysWhyAndRunsNoScript(t *testing.T) {
	rec := httptest.NewRecorder()
	AuthorizeError(rec, http.StatusBadRequest, `redirect_uri "http://evil.example/<x>" is not registered`)
	checkHeaders(t, rec, http.StatusBadRequest)
	body := rec.Body.String()
	if !strings.Contains(body, "is not registered") || !strings.Contains(body, "&lt;x&gt;") {
		t.Errorf("message missing or unescaped:\n%s", body)
	}
	if strings.Contains(body, "<script") {
		t.Error("the error page loads a script")
	}
	rec = httptest.NewRecorder()
	AuthorizeError(rec, 0, "")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status 0 gave %d, want 400", rec.Code)
	}
}

func TestLoginAndDevicePages(t *testing.T) {
	rec := httptest.NewRecorder()
	Login(rec)
	checkHeaders(t, rec, http.StatusOK)
	if b := rec.Body.String(); !strings.Contains(b, `data-page="login"`) || !strings.Contains(b, `id="screen"`) || !strings.Contains(b, "/static/web.js") {
		t.Errorf("login page:\n%s", b)
	}
	rec = httptest.NewRecorder()
	Device(rec)
	checkHeaders(t, rec, http.StatusOK)
	b := rec.Body.String()
	for _, want := range []string{`data-page="device"`, `<form id="device-form"`, `<input id="user-code"`, `id="device-error"`,
		`id="device-next"`, `id="device-again"`, "data-code", "qrlogin app", "Enter code", `<script type="module" src="/static/web.js?v=` + version} {
		if !strings.Contains(b, want) {
			t.Errorf("device page lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(b, "<script>") || strings.Contains(b, " action=") || strings.Contains(b, "style=") {
		t.Errorf("device page: an inline script, a form action or an inline style, which the CSP refuses:\n%s", b)
	}
}

// The device page's script reads the elements of the template by the ids
// the template gives them.
func TestDeviceScriptReadsTheTemplatesIDs(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "frontend/src/web/device.ts"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templateFS.ReadFile("templates/device.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"device-form", "user-code", "device-error", "device-next", "device-again"} {
		if !bytes.Contains(src, []byte(`"`+id+`"`)) || !bytes.Contains(tmpl, []byte(`id="`+id+`"`)) {
			t.Errorf("id %q: not in both frontend/src/web/device.ts and templates/device.html", id)
		}
	}
}

func TestStatic(t *testing.T) {
	h := Static()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	for _, tc := range []struct {
		path, contentType, cache string
		status                   int
	}{
		{"/static/web.js?v=" + version, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"/static/web.css?v=" + version, "text/css; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"/static/web.js?v=old", "text/javascript; charset=utf-8", "no-cache", 200},
		{"/static/favicon.svg", "image/svg+xml", "no-cache", 200},
		{"/static/sources.txt", "", "", 404},
		{"/static/", "", "", 404},
		{"/static/../web.go", "", "", 404},
	} {
		rec := get(tc.path)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != tc.contentType || cc != tc.cache {
			t.Errorf("%s: Content-Type %q, Cache-Control %q; want %q, %q", tc.path, ct, cc, tc.contentType, tc.cache)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty", tc.path)
		}
	}
}

// The built script reads the JSON block by the names this package writes.
func TestScriptReadsTheJSONBlockFields(t *testing.T) {
	var src []byte
	for _, f := range []string{"frontend/src/web/authorize.ts", "frontend/src/web/ticket.ts", "frontend/src/web/main.ts"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	typ := reflect.TypeFor[authorizeData]()
	for field := range typ.Fields() {
		name := field.Tag.Get("json")
		if !regexp.MustCompile(`\b` + name + `: string;`).Match(src) {
			t.Errorf("frontend/src/web does not declare the JSON block's field %q", name)
		}
	}
	if !bytes.Contains(src, []byte(`"qrlogin-ticket"`)) {
		t.Error(`frontend/src/web/main.ts does not read the block with id "qrlogin-ticket"`)
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
			t.Errorf("%s was built from %s, which is gone: rebuild (cd frontend && npm run build:web)", "server/web/static", path)
			continue
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s changed since server/web/static was built: rebuild (cd frontend && npm run build:web) and commit it", path)
		}
	}
	if n < 10 {
		t.Errorf("sources.txt names %d files; the build reads more", n)
	}
}

// A build from the sources as they are gives the committed files byte for
// byte. It needs frontend/node_modules (npm ci); without them
// TestStaticIsFresh stands guard alone.
func TestStaticMatchesARebuild(t *testing.T) {
	vite, _ := filepath.Abs(filepath.Join(repoRoot, "frontend/node_modules/.bin/vite"))
	if _, err := os.Stat(vite); err != nil {
		t.Skip("frontend/node_modules is not installed (cd frontend && npm ci)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	out := t.TempDir()
	cmd := exec.Command(vite, "build", "--config", "vite.web.config.ts", "--outDir", out, "--logLevel", "error")
	cmd.Dir = filepath.Join(repoRoot, "frontend")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, b)
	}
	built, _ := filepath.Glob(filepath.Join(out, "*"))
	committed, _ := filepath.Glob("static/*")
	if len(built) != len(committed) {
		t.Errorf("a build makes %d files, static/ has %d: rebuild (cd frontend && npm run build:web)", len(built), len(committed))
	}
	for _, b := range built {
		want, _ := os.ReadFile(b)
		got, err := os.ReadFile(filepath.Join("static", filepath.Base(b)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("static/%s differs from a fresh build: rebuild (cd frontend && npm run build:web) and commit it", filepath.Base(b))
		}
	}
}

func TestInitialAndScopeLines(t *testing.T) {
	for in, want := range map[string]string{"demo": "D", "  émile": "É", "": "?", "日本": "日"} {
		if got := initial(in); got != want {
			t.Errorf("initial(%q) = %q, want %q", in, got, want)
		}
	}
	got := scopeLines([]string{"openid", "", "custom:read", "profile", "custom:read"})
	want := []string{scopeNames["openid"], "custom:read", scopeNames["profile"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scopeLines = %q, want %q", got, want)
	}
}
