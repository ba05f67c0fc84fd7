package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// hostile is text that would drive a terminal if printed as it is: a
// window title (OSC 0), a screen clear (CSI 2J), a right-to-left override,
// a bidi isolate, an 8-bit CSI and a forged line.
const hostile = "\x1b]0;pwned\x07 \x1b[2J\u202eevil\u2066 \u009b31m\nstate: confirmed"

// checkClean fails the test if out holds a control character other than
// the newlines that end mobile-sim's own lines, DEL, a C1 control, a bidi
// control, or bytes that are not UTF-8; and if it lacks any of readable.
func checkClean(t *testing.T, what, out string, readable ...string) {
	t.Helper()
	for i, r := range out {
		bad := r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f ||
			r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
			r == utf8.RuneError
		if bad {
			t.Errorf("%s: raw %U at byte %d of:\n%s", what, r, i, out)
			return
		}
	}
	for _, s := range readable {
		if !strings.Contains(out, s) {
			t.Errorf("%s: lacks %q:\n%s", what, s, out)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain Ünïcode 名前 ✓":            "plain Ünïcode 名前 ✓",
		"\x1b]0;pwned\x07":              `\x1b]0;pwned\x07`,
		"evil\x1b[2J\nname\u009b[m":     `evil\x1b[2J\x0aname\u009b[m`,
		"a\u202eb\u2066c\u2069d\u200fe": `a\u202eb\u2066c\u2069d\u200fe`,
		"tab\there\x7f\r":               `tab\x09here\x7f\x0d`,
		"bad\xffbyte\xc2":               `bad\xffbyte\xc2`,
		"line\u2028sep":                 `line\u2028sep`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintJSON(t *testing.T) {
	in := map[string]string{"text": hostile + "\x7f\u2028"}
	var out strings.Builder
	if err := printJSON(&out, in, true); err != nil {
		t.Fatal(err)
	}
	checkClean(t, "printJSON", out.String(), `\u202e`, `\u009b`, "pwned")
	var back map[string]string
	if err := json.Unmarshal([]byte(out.String()), &back); err != nil || back["text"] != in["text"] {
		t.Errorf("printJSON output %s decodes to %q, %v; want %q", out.String(), back["text"], err, in["text"])
	}
}

// hostileServer answers every call mobile-sim makes with names, states and
// messages full of terminal escapes.
func hostileServer(t *testing.T) string {
	t.Helper()
	user := api.User{ID: "u1", Username: "alice" + hostile, DisplayName: hostile + "Alice"}
	desktop := api.DesktopDevice{Name: "PC" + hostile, OS: "Linux" + hostile, App: "app" + hostile}
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathAccounts, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusCreated, api.UserBody{User: user})
	})
	mux.HandleFunc("POST "+api.PathMobileLogin, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.MobileLoginResponse{DeviceToken: "secret-token", User: user})
	})
	mux.HandleFunc("POST "+api.PathMobileScan, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.ScanResponse{
			ScanToken: "scan", ExpiresAt: time.Now().Add(time.Minute), Warning: "careful" + hostile,
			Desktop: api.DesktopInfo{Name: desktop.Name, OS: desktop.OS, App: desktop.App, IP: "10.0.0.1" + hostile,
				UserAgent: "agent" + hostile, CreatedAt: time.Now()},
			App: &api.App{ClientID: "c", Name: "Demo" + hostile, Scopes: []string{"openid" + hostile, "profile"},
				RedirectHost: "demo.example" + hostile},
		})
	})
	mux.HandleFunc("POST "+api.PathMobileConfirm, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.StateBody{State: server.StateConfirmed + hostile})
	})
	mux.HandleFunc("GET "+api.PathMobileSessions, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.SessionsBody{Sessions: []api.Session{{ID: "s1" + hostile, Device: desktop,
			IP: "10.0.0.2" + hostile, CreatedAt: time.Now(), LastSeenAt: time.Now()}}})
	})
	mux.HandleFunc("DELETE "+api.PathMobileSessions+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, api.ErrorBody{Error: api.Error{Code: "not_found" + hostile, Message: "no such session" + hostile}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Nothing that a server sends reaches the terminal raw.
func TestHostileServerText(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := hostileServer(t)
	payload := api.Payload(url, "AAAAAAAAAAAAAAAAAAAAAA")
	for _, c := range []struct {
		stdin    string
		code     int
		args     []string
		readable []string
	}{
		{"", exitOK, []string{"register", "-server", url, "--username", "alice", "--password", "pw"}, []string{"registered alice", "pwned", "Alice"}},
		{"", exitOK, []string{"login", "-server", url, "--username", "alice", "--password", "pw"}, []string{"logged in as alice", "pwned", "Alice"}},
		{"y\n", exitOK, []string{"scan", "--payload", payload}, []string{`The app "Demo`, "openid", "demo.example", "PC", "Linux", "10.0.0.1", "agent", "careful", "Log in to Demo", "state: confirmed", "pwned"}},
		{"", exitOK, []string{"sessions"}, []string{"s1", "PC", "10.0.0.2", "pwned"}},
		{"", exitOK, []string{"sessions", "-json"}, []string{`"s1`, "pwned"}},
		{"", exitFailure, []string{"revoke", "s1"}, []string{"mobile-sim: revoke: no such session", "pwned", "not_found"}},
	} {
		code, stdout, stderr := runCmd(t, c.stdin, c.args...)
		if code != c.code {
			t.Errorf("mobile-sim %q: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, code, c.code, stdout, stderr)
		}
		checkClean(t, strings.Join(c.args, " "), stdout+stderr, c.readable...)
		if n := strings.Count("\n"+stdout, "\nstate: "); n > 1 || n == 1 && c.args[0] != "scan" {
			t.Errorf("%s: a forged line:\n%s", c.args[0], stdout)
		}
	}
}

// Nor does the text of a QR code, read from an image.
func TestHostileQRText(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	text := "WIFI:S:" + hostile
	png, err := qrcode.Encode(text, qrcode.Medium, 400)
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "hostile.png", png)
	code, stdout, stderr := runCmd(t, "", "decode", file, file)
	if code != exitOK {
		t.Fatalf("decode: exit %d\n%s", code, stderr)
	}
	checkClean(t, "decode", stdout+stderr, "WIFI:S:", "pwned", file+": ")

	code, stdout, _ = runCmd(t, "", "decode", "-json", file)
	var r decodeResult
	if err := json.Unmarshal([]byte(stdout), &r); code != exitOK || err != nil || len(r.Texts) != 1 || r.Texts[0] != text {
		t.Fatalf("decode -json: exit %d, %s (%v); want the text %q", code, stdout, err, text)
	}
	checkClean(t, "decode -json", stdout, "pwned")

	p, _ := loadProfile("default")
	p.Server, p.DeviceToken = "http://127.0.0.1:1", "tok"
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(t, "", "scan", file, "--yes")
	if code != exitNotPayload {
		t.Errorf("scan: exit %d, want %d\n%s", code, exitNotPayload, stderr)
	}
	checkClean(t, "scan", stdout+stderr, "WIFI:S:", "pwned")
}
