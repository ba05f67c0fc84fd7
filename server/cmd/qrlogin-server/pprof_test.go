package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

var pprofLogged = regexp.MustCompile(`msg=pprof url=(\S+)`)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pprofURL returns the /debug/pprof/ URL the server logged.
func pprofURL(t *testing.T, p *proc) string {
	t.Helper()
	m := pprofLogged.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no msg=pprof url=... logged before msg=listening:\n%s", p.log())
	}
	return m[1]
}

// The real command with -pprof serves the profiles on their own loopback
// listener, and never on the public one.
func TestPprofOwnListener(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "qrlogin.db"), "-pprof", "127.0.0.1:0")
	u := pprofURL(t, p)
	if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasPrefix(u, p.url) {
		t.Errorf("pprof at %s, want a loopback listener of its own (public: %s)", u, p.url)
	}
	if code, body := get(t, u); code != http.StatusOK || !strings.Contains(body, "Types of profiles available") {
		t.Errorf("GET %s = %d %.200q, want pprof's index", u, code, body)
	}
	if code, body := get(t, u+"goroutine?debug=1"); code != http.StatusOK || !strings.HasPrefix(body, "goroutine profile: total ") {
		t.Errorf("GET %sgoroutine?debug=1 = %d %.200q, want a goroutine profile", u, code, body)
	}
	// Without -pprof-mutex-fraction the mutex profile samples nothing.
	if _, body := get(t, u+"mutex?debug=1"); !strings.Contains(body, "sampling period=0\n") {
		t.Errorf("mutex profile %.200q, want sampling period=0", body)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		code, body := get(t, p.url+path)
		if code != http.StatusNotFound || strings.Contains(body, "profile") || strings.Contains(body, "qrlogin-server") {
			t.Errorf("the public listener answers GET %s with %d %.200q, want 404", path, code, body)
		}
	}
}

// -pprof-mutex-fraction and -pprof-block-rate turn those two profiles on.
func TestPprofProfileRates(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "qrlogin.db"), "-pprof", "127.0.0.1:0",
		"-pprof-mutex-fraction", "1", "-pprof-block-rate", "1")
	u := pprofURL(t, p)
	for range 5 { // something to block on
		get(t, p.url+api.PathHealth)
	}
	if _, body := get(t, u+"mutex?debug=1"); !strings.Contains(body, "sampling period=1\n") {
		t.Errorf("mutex profile %.200q, want sampling period=1", body)
	}
	// A sample is "cycles count @ pc...": every blocking event counts at
	// rate 1, and a server answering requests has some.
	sample := regexp.MustCompile(`(?m)^\d+ \d+ @ 0x`)
	if _, body := get(t, u+"block?debug=1"); !sample.MatchString(body) {
		t.Errorf("block profile %.300q has no sample", body)
	}
}

// -pprof refuses an address off loopback, and the profile rates refuse to
// go without -pprof.
func TestPprofRefuses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-pprof", "0.0.0.0:0"}, 1, "not a loopback address"},
		{[]string{"-pprof", ":0"}, 1, "not a loopback address"},
		{[]string{"-pprof-block-rate", "1"}, 2, "need -pprof"},
		{[]string{"-pprof-mutex-fraction", "1"}, 2, "need -pprof"},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"-addr", "127.0.0.1:0", "-db", db}, tc.args...), &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("qrlogin-server %s: exit %d, %q; want exit %d saying %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
}
