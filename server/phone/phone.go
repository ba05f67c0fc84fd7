// Package phone serves the phone web app at /m/: the page that any phone's
// browser opens to sign in once and then log in on computers by scanning
// their QR code (docs/phone.md). Its files are built from frontend/src/phone
// (npm run build:phone) into static/, with the QR decoder's WebAssembly
// (make wasm) beside them; static/ is committed and embedded here, so that
// the server builds without npm or a wasm toolchain, and a test fails when
// static/ lags its sources.
//
// Every answer carries the app's own security headers, the CSP first: the
// page runs only its own scripts (and WebAssembly), talks only to its own
// origin, may use the camera, and can be framed by no one.
package phone

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Prefix is where the server mounts Handler.
const Prefix = "/m/"

// cspBase is the app's Content-Security-Policy but connect-src, which
// names the page's own host (CSP). The page's scripts and its decoder's
// worker come from its origin alone ('wasm-unsafe-eval' lets the decoder
// compile its WebAssembly, and nothing else: no eval of text); it shows
// the camera's stream and images of its own; it submits no form and is
// never framed (clickjacking an "Approve" button is what frame-ancestors
// 'none' rules out).
const cspBase = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self'; manifest-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// hostRe is a Host header that may go in the CSP as it is: a name or
// address and a port, nothing that could end the directive.
var hostRe = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// CSP returns the app's Content-Security-Policy for a request to host:
// fetches and the phone's WebSocket go to the page's own origin only
// ('self', and ws:// and wss:// of that host, which older browsers do not
// count as 'self'). A host that cannot be written in a policy gets 'self'
// alone.
func CSP(host string) string {
	connect := "connect-src 'self'"
	if hostRe.MatchString(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return cspBase + "; " + connect
}

// PermissionsPolicy lets the page, and only it, use the camera; nothing
// else that a page may ask for.
const PermissionsPolicy = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"

//go:embed static
var staticFS embed.FS

// file is one file that Handler serves.
type file struct {
	data        []byte
	contentType string
	cache       string
	etag        string
	gzipped     func() []byte // data gzipped, made on first use; nil for PNG
}

// gzipOf returns a function that gzips b once, when first called: the
// decoder's WebAssembly goes from 4.8 MB to 1.5 MB, which a phone on mobile
// data feels, and the work is done once per process, not at its start.
func gzipOf(b []byte) func() []byte {
	return sync.OnceValue(func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // errors only on a bad level
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	})
}

// acceptsGzip reports whether r's Accept-Encoding names gzip (every browser
// does); a q=0 refusal is honoured.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// contentTypes are the files of static/ that Handler serves, by extension;
// sources.txt (the build's record of its inputs) is not one of them.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".wasm":        "application/wasm",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
}

// hashedName is a file whose name holds a hash of its content (Vite's
// [name]-[hash]): it never changes, so it may be cached for good.
var hashedName = regexp.MustCompile(`-[A-Za-z0-9_-]{8,}\.(?:js|css|wasm)$`)

const (
	cacheForever = "public, max-age=31536000, immutable"
	// cacheCheck makes the browser ask again each time (a 304 while the
	// ETag holds): the page and sw.js must never be stale, nor the files
	// whose name stays across builds.
	cacheCheck = "no-cache"
)

var files = loadFiles()

func loadFiles() map[string]file {
	m := map[string]file{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok || e.IsDir() {
			continue
		}
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		f := file{data: b, contentType: ct, cache: cacheCheck, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if hashedName.MatchString(e.Name()) {
			f.cache = cacheForever
		}
		if path.Ext(e.Name()) != ".png" {
			f.gzipped = gzipOf(b)
		}
		m[e.Name()] = f
	}
	for _, need := range []string{"index.html", "sw.js", "manifest.webmanifest"} {
		if _, ok := m[need]; !ok {
			panic("phone: static/" + need + " is missing: run `npm run build:phone` in frontend/")
		}
	}
	return m
}

// Handler serves the app's files under Prefix: the page at /m/ (and
// /m/index.html), the rest by name (the page's script and styles, whose
// names hold their hash, may be cached for good; the page, sw.js and the
// other files are checked each time). Anything else under /m/ is 404; only
// GET and HEAD are answered.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP(r.Host))
	h.Set("Permissions-Policy", PermissionsPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		h.Set("Cache-Control", "no-store")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Mounted at Prefix, or under http.StripPrefix.
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		name = strings.TrimPrefix(r.URL.Path, "/")
	}
	if name == "" {
		name = "index.html"
	}
	f, found := files[name]
	if !found {
		h.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cache)
	if name == "sw.js" {
		h.Set("Service-Worker-Allowed", Prefix)
	}
	data, etag := f.data, f.etag
	if f.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			data, etag = f.gzipped(), strings.TrimSuffix(f.etag, `"`)+`-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
