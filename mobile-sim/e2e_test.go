package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/oauth2"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth"
	"github.com/qrlogin/qrlogin/server/service"
)

// startServer runs the real server on loopback with a fresh SQLite file.
func startServer(t *testing.T, match service.MatchPolicy) string {
	t.Helper()
	return startNode(t, match).URL()
}

// startNode is startServer that returns the node, whose store the test may
// reach; devices poll it every second.
func startNode(t *testing.T, match service.MatchPolicy) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), node.Config{Addr: "127.0.0.1:0",
		DBPath: filepath.Join(t.TempDir(), "qrlogin.db"), Match: match, Logger: slog.New(slog.DiscardHandler),
		DeviceInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return n
}

// sim runs mobile-sim and fails the test unless it exits with want.
func sim(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := runCmd(t, "", args...)
	if code != want {
		t.Fatalf("mobile-sim %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}

// desktop is a desktop waiting on one ticket.
type desktop struct {
	c      *client.Client
	ticket api.CreateTicketResponse
	done   chan error
	last   chan api.TicketEvent
}

// newDesktop creates a ticket and watches it in the background.
func newDesktop(t *testing.T, url string) *desktop {
	t.Helper()
	d := &desktop{c: client.New(url, client.WithUserAgent("e2e-desktop/1")), done: make(chan error, 1), last: make(chan api.TicketEvent, 1)}
	var err error
	d.ticket, err = d.c.CreateTicket(context.Background(), api.DesktopDevice{Name: "Test Desktop", OS: "linux", App: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	go func() {
		var last api.TicketEvent
		err := d.c.Watch(ctx, d.ticket.Ref, d.ticket.PollSecret, func(ev api.TicketEvent) { last = ev })
		d.last <- last
		d.done <- err
	}()
	return d
}

// final waits for the watch to end and returns its last event.
func (d *desktop) final(t *testing.T) api.TicketEvent {
	t.Helper()
	select {
	case ev := <-d.last:
		if err := <-d.done; err != nil {
			t.Fatalf("Watch: %v", err)
		}
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("the desktop's watch did not end")
	}
	return api.TicketEvent{}
}

// qrPNG fetches the ticket's QR code as the server draws it.
func (d *desktop) qrPNG(t *testing.T) []byte {
	t.Helper()
	resp, err := http.Get(d.c.QRImageURL(d.ticket.Ref, 512))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET QR: %d %v", resp.StatusCode, err)
	}
	return b
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEndToEnd(t *testing.T) {
	home := t.TempDir()
	t.Setenv(homeEnv, home)
	url := startServer(t, service.MatchNever)
	const pw = "a long enough password"

	sim(t, exitOK, "register", "-server", url, "--username", "alice", "--password", pw, "--display-name", "Alice")
	out, _ := sim(t, exitOK, "login", "-server", url, "-profile", "alice", "--username", "alice", "--password", pw)
	if !strings.Contains(out, "logged in as alice") {
		t.Errorf("login printed %q", out)
	}
	p, err := loadProfile("alice")
	if err != nil || !p.LoggedIn() || p.Server != url {
		t.Fatalf("profile after login = %+v, %v", p, err)
	}
	if st, _ := os.Stat(filepath.Join(home, "alice.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("profile mode %v", st.Mode().Perm())
	}
	if strings.Contains(out, p.DeviceToken) {
		t.Error("login printed the device token")
	}

	// Scan a screenshot of the desktop's QR code and approve.
	d := newDesktop(t, url)
	shot := writeFile(t, "shot.png", d.qrPNG(t))
	out, _ = sim(t, exitOK, "decode", shot)
	if strings.TrimSpace(out) != d.ticket.QRPayload {
		t.Errorf("decode printed %q, want %q", out, d.ticket.QRPayload)
	}
	out, errOut := sim(t, exitOK, "scan", shot, "--yes", "-profile", "alice")
	for _, want := range []string{"Test Desktop", "linux", "e2e", "e2e-desktop/1", "127.0.0.1", " s ago", "state: confirmed"} {
		if !strings.Contains(out, want) {
			t.Errorf("scan output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, p.DeviceToken) {
		t.Error("scan printed the device token")
	}
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Fatalf("desktop's last event %+v, want confirmed", ev)
	}
	sess, err := d.c.Redeem(context.Background(), d.ticket.Ref, d.ticket.PollSecret)
	if err != nil {
		t.Fatal(err)
	}

	// A second scan of the same code: the server's word, exit 1.
	_, errOut = sim(t, exitFailure, "scan", shot, "--yes", "-profile", "alice")
	if !strings.HasPrefix(errOut, "mobile-sim: scan: ") || !strings.Contains(errOut, "(expired)") && !strings.Contains(errOut, "(conflict)") {
		t.Errorf("rescan stderr %q", errOut)
	}

	// The session is listed, and revoking it logs the desktop out.
	out, _ = sim(t, exitOK, "sessions", "-json", "-profile", "alice")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["id"] == "" {
		t.Fatalf("sessions -json = %s (%v)", out, err)
	}
	id := list[0]["id"].(string)
	out, _ = sim(t, exitOK, "sessions", "-profile", "alice")
	if !strings.Contains(out, id) || !strings.Contains(out, "Test Desktop") {
		t.Errorf("sessions table lacks the session:\n%s", out)
	}
	revoked := make(chan error, 1)
	go func() {
		revoked <- d.c.WatchSession(context.Background(), sess.SessionToken, func(api.SessionEvent) {})
	}()
	time.Sleep(300 * time.Millisecond) // let the session's socket open
	sim(t, exitOK, "revoke", id, "-profile", "alice")
	select {
	case err := <-revoked:
		if err != nil {
			t.Errorf("WatchSession = %v, want nil after revoked", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("the desktop was not told of the revoke")
	}
	out, _ = sim(t, exitOK, "sessions", "-json", "-profile", "alice")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("sessions after revoke = %s", out)
	}

	// Deny, with the payload given as text.
	d = newDesktop(t, url)
	out, _ = sim(t, exitOK, "scan", "--payload", d.ticket.QRPayload, "--deny", "-profile", "alice")
	if !strings.Contains(out, "state: denied") {
		t.Errorf("scan --deny printed %q", out)
	}
	if ev := d.final(t); ev.State != server.StateDenied {
		t.Errorf("desktop's last event %+v, want denied", ev)
	}

	// No answer on stdin is no.
	d = newDesktop(t, url)
	code, out, _ := runCmd(t, "", "scan", writeFile(t, "q.png", d.qrPNG(t)), "-profile", "alice")
	if code != exitOK || !strings.Contains(out, "state: denied") {
		t.Errorf("scan without an answer: exit %d, %q", code, out)
	}
	if ev := d.final(t); ev.State != server.StateDenied {
		t.Errorf("desktop's last event %+v, want denied", ev)
	}

	// Logout: the token is forgotten, the device id kept.
	sim(t, exitOK, "logout", "-profile", "alice")
	q, _ := loadProfile("alice")
	if q.LoggedIn() || q.DeviceID != p.DeviceID {
		t.Errorf("profile after logout = %+v", q)
	}
	_, errOut = sim(t, exitFailure, "sessions", "-profile", "alice")
	if !strings.Contains(errOut, "not logged in") {
		t.Errorf("sessions after logout: %q", errOut)
	}
}

func TestEndToEndMatchCode(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchAlways)
	sim(t, exitOK, "register", "-server", url, "--username", "bob", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "bob", "--password", "a long enough password")

	d := newDesktop(t, url)
	shot := writeFile(t, "shot.png", d.qrPNG(t))
	// The code asked for on stdin after "y".
	code, out, errOut := runCmd(t, "y\n"+d.ticket.MatchCode+"\n", "scan", shot)
	if code != exitOK || !strings.Contains(out, "state: confirmed") || !strings.Contains(errOut, "code shown on the desktop") {
		t.Fatalf("scan with the code typed: exit %d\n%s\n%s", code, out, errOut)
	}
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Errorf("desktop's last event %+v, want confirmed", ev)
	}

	d = newDesktop(t, url)
	wrong := "00"
	if d.ticket.MatchCode == wrong {
		wrong = "11"
	}
	_, errOut = sim(t, exitFailure, "scan", "--payload", d.ticket.QRPayload, "--yes", "--match", wrong)
	if !strings.Contains(errOut, "(forbidden)") {
		t.Errorf("wrong code: %q", errOut)
	}

	d = newDesktop(t, url)
	sim(t, exitOK, "scan", "--payload", d.ticket.QRPayload, "--yes", "--match", d.ticket.MatchCode)
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Errorf("desktop's last event %+v, want confirmed", ev)
	}
}

// The exit codes a tester relies on, against real images.
func TestEndToEndBadImages(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchNever)
	sim(t, exitOK, "register", "-server", url, "--username", "carol", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "carol", "--password", "a long enough password")

	notImage := writeFile(t, "notes.png", []byte("hello"))
	_, errOut := sim(t, exitUsage, "scan", notImage, "--yes")
	if !strings.Contains(errOut, notImage) {
		t.Errorf("unreadable file: %q does not name the file", errOut)
	}
	_, errOut = sim(t, exitUsage, "scan", filepath.Join(t.TempDir(), "missing.png"), "--yes")
	if !strings.Contains(errOut, "missing.png") {
		t.Errorf("missing file: %q", errOut)
	}

	var blank bytes.Buffer
	png.Encode(&blank, image.NewGray(image.Rect(0, 0, 200, 200)))
	blankFile := writeFile(t, "blank.png", blank.Bytes())
	_, errOut = sim(t, exitNoCode, "scan", blankFile, "--yes")
	if !strings.Contains(errOut, "no QR code found") || !strings.Contains(errOut, "tried") {
		t.Errorf("blank image: %q", errOut)
	}

	wifi, err := qrcode.Encode("WIFI:S:home;T:WPA;P:secret;;", qrcode.Medium, 256)
	if err != nil {
		t.Fatal(err)
	}
	wifiFile := writeFile(t, "wifi.png", wifi)
	_, errOut = sim(t, exitNotPayload, "scan", wifiFile, "--yes")
	if !strings.Contains(errOut, "not a qrlogin QR payload") || !strings.Contains(errOut, "WIFI:S:home") {
		t.Errorf("foreign QR code: %q", errOut)
	}

	// decode: several files, JSON lines, first failure's exit code.
	code, out, _ := runCmd(t, "", "decode", "-json", wifiFile, blankFile, notImage)
	if code != exitNoCode {
		t.Errorf("decode -json exit %d, want %d", code, exitNoCode)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("decode -json printed %d lines:\n%s", len(lines), out)
	}
	var first, second decodeResult
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first.File != wifiFile || len(first.Texts) != 1 || first.Error != "" || second.Error == "" || second.Texts == nil {
		t.Errorf("decode -json lines: %+v %+v", first, second)
	}
	code, out, _ = runCmd(t, "", "decode", wifiFile, wifiFile)
	if code != exitOK || out != fmt.Sprintf("%s: WIFI:S:home;T:WPA;P:secret;;\n", wifiFile)+fmt.Sprintf("%s: WIFI:S:home;T:WPA;P:secret;;\n", wifiFile) {
		t.Errorf("decode of two files: exit %d, %q", code, out)
	}
}

// scan --camera reads a YUV4MPEG2 clip until a frame carries a code.
func TestEndToEndCameraClip(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	url := startServer(t, service.MatchNever)
	sim(t, exitOK, "register", "-server", url, "--username", "dave", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", url, "--username", "dave", "--password", "a long enough password")

	d := newDesktop(t, url)
	img, err := png.Decode(bytes.NewReader(d.qrPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	clip := writeFile(t, "clip.y4m", y4m(img, 2, 2))
	out, _ := sim(t, exitOK, "scan", "--camera", clip, "--yes")
	if !strings.Contains(out, "state: confirmed") {
		t.Errorf("scan --camera printed %q", out)
	}
	if ev := d.final(t); ev.State != server.StateConfirmed {
		t.Errorf("desktop's last event %+v, want confirmed", ev)
	}

	blankClip := writeFile(t, "blank.y4m", y4m(image.NewGray(image.Rect(0, 0, 64, 64)), 3, 0))
	_, errOut := sim(t, exitNoCode, "scan", "--camera", blankClip, "--yes")
	if !strings.Contains(errOut, "in 3 frames") {
		t.Errorf("blank clip: %q", errOut)
	}
}

// y4m returns a 4:2:0 YUV4MPEG2 clip of blank white frames followed by
// frames of img.
func y4m(img image.Image, blank, frames int) []byte {
	b := img.Bounds()
	w, h := b.Dx()&^1, b.Dy()&^1
	gray := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(gray, gray.Bounds(), img, b.Min, draw.Src)
	white := bytes.Repeat([]byte{255}, w*h)
	chroma := bytes.Repeat([]byte{128}, 2*(w/2)*(h/2))
	var out bytes.Buffer
	fmt.Fprintf(&out, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n", w, h)
	for i := 0; i < blank+frames; i++ {
		out.WriteString("FRAME\n")
		if i < blank {
			out.Write(white)
		} else {
			for y := range h {
				out.Write(gray.Pix[y*gray.Stride : y*gray.Stride+w])
			}
		}
		out.Write(chroma)
	}
	return out.Bytes()
}

// tvApp registers a TV app (a public client of the device grant) on n and
// returns its OAuth configuration.
func tvApp(t *testing.T, n *node.Node) *oauth2.Config {
	t.Helper()
	c := oauth.Client{ID: server.NewRef(), Name: "TV App", Public: true, GrantTypes: []string{oauth.GrantDevice}, CreatedAt: time.Now()}
	if err := n.Store().(oauth.Store).CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return &oauth2.Config{ClientID: c.ID, Scopes: []string{"openid", "profile"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: n.URL() + "/oauth/device/code", TokenURL: n.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// tvStart is the TV asking for a device code, as it would show it.
func tvStart(t *testing.T, conf *oauth2.Config) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := conf.DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(da.UserCode) {
		t.Fatalf("user_code %q, want XXXX-XXXX", da.UserCode)
	}
	return da
}

// tvToken is the TV redeeming its device code at the token endpoint once
// approved; it fails the test on anything but an access token.
func tvToken(t *testing.T, conf *oauth2.Config, da *oauth2.DeviceAuthResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("the TV's token: %+v, %v", tok, err)
	}
}

// A TV's login approved three ways, each under -match always and with no
// match code (the TV shows none; the person compares the user code): the
// QR's text, the user code typed, and a picture of the QR. Each time the
// TV then gets its token.
func TestEndToEndDeviceGrant(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	n := startNode(t, service.MatchAlways)
	conf := tvApp(t, n)
	sim(t, exitOK, "register", "-server", n.URL(), "--username", "erin", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", n.URL(), "--username", "erin", "--password", "a long enough password")
	shown := func(out string, da *oauth2.DeviceAuthResponse) {
		t.Helper()
		for _, want := range []string{`The app "TV App" asks to log you in`, "Check that the TV shows " + da.UserCode, "state: confirmed"} {
			if !strings.Contains(out, want) {
				t.Errorf("scan output lacks %q:\n%s", want, out)
			}
		}
	}

	// The QR code's text: verification_uri_complete.
	da := tvStart(t, conf)
	out, _ := sim(t, exitOK, "scan", "--payload", da.VerificationURIComplete, "--yes")
	shown(out, da)
	tvToken(t, conf, da)

	// The code typed, in lower case and without the dash.
	da = tvStart(t, conf)
	out, _ = sim(t, exitOK, "scan", "--code", strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")), "--yes")
	shown(out, da)
	tvToken(t, conf, da)

	// A picture of the TV's QR code, approved on stdin after the question.
	da = tvStart(t, conf)
	qr, err := qrcode.Encode(da.VerificationURIComplete, qrcode.Medium, 512)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "y\n", "scan", writeFile(t, "tv.png", qr))
	if code != exitOK || !strings.Contains(errOut, "Does the TV show "+da.UserCode+"?") {
		t.Fatalf("scan of the TV's QR: exit %d\n%s\n%s", code, out, errOut)
	}
	shown(out, da)
	tvToken(t, conf, da)

	// A code that no TV shows: the server's not_found, exit 1.
	_, errOut = sim(t, exitFailure, "scan", "--code", "BCDF-GHJK", "--yes")
	if !strings.Contains(errOut, "(not_found)") {
		t.Errorf("a wrong code: %q", errOut)
	}
}

// grants lists the TV's grant once its login is approved, and grants
// revoke ends it: the TV's access token is refused at once.
func TestEndToEndGrants(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	n := startNode(t, service.MatchNever)
	conf := tvApp(t, n)
	sim(t, exitOK, "register", "-server", n.URL(), "--username", "gina", "--password", "a long enough password")
	sim(t, exitOK, "login", "-server", n.URL(), "--username", "gina", "--password", "a long enough password")
	if out, _ := sim(t, exitOK, "grants"); !strings.Contains(out, "no apps have access") {
		t.Fatalf("grants before any: %q", out)
	}
	da := tvStart(t, conf)
	sim(t, exitOK, "scan", "--code", da.UserCode, "--yes")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	userinfo := func() int {
		req, _ := http.NewRequest("GET", n.URL()+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := userinfo(); st != http.StatusOK {
		t.Fatalf("userinfo before the revoke: %d", st)
	}

	out, _ := sim(t, exitOK, "grants", "-json")
	var list []api.Grant
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].App != "TV App" || strings.Join(list[0].Scopes, " ") != "openid profile" {
		t.Fatalf("grants -json: %v %s", err, out)
	}
	if out, _ := sim(t, exitOK, "grants"); !strings.Contains(out, list[0].ID) || !strings.Contains(out, "TV App") {
		t.Fatalf("grants table: %s", out)
	}
	if out, _ := sim(t, exitOK, "grants", "revoke", list[0].ID); !strings.Contains(out, "revoked grant "+list[0].ID) {
		t.Fatalf("grants revoke: %s", out)
	}
	if st := userinfo(); st != http.StatusUnauthorized {
		t.Fatalf("userinfo after the revoke: %d, want 401", st)
	}
	if _, errOut := sim(t, exitFailure, "grants", "revoke", list[0].ID); !strings.Contains(errOut, "(not_found)") {
		t.Errorf("a second revoke: %q", errOut)
	}
	sim(t, exitUsage, "grants", "revoke")
}
