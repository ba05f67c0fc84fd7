package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// browser is the phone web app's view of the server: a cookie jar, and the
// headers a browser sends on its own.
type browser struct {
	t      *testing.T
	h      *harness
	client *http.Client
}

func newPhoneBrowser(t *testing.T, h *harness) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request as a page of origin would (none: "" leaves Origin out),
// with Sec-Fetch-Site site ("" leaves it out).
func (b *browser) do(method, path, origin, site string, body any, hdr ...string) (int, http.Header, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.h.node.URL()+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, out
}

// The phone web app's credential is a pair of HttpOnly, SameSite=Strict
// cookies that the answer's body never shows; they authenticate the mobile
// API from the server's own pages only, and the logout clears them.
func TestPhoneCookieCredential(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice") // registers the account
	self := h.node.URL()
	b := newPhoneBrowser(t, h)

	st, hdr, body := b.do("POST", api.PathMobileLogin, self, "same-origin", api.MobileLoginRequest{
		Username: p.Username, Password: "correct horse", Device: api.MobileDevice{ID: "web-1", Name: "Pixel", Platform: "Android"},
	}, api.HeaderCredential, api.CredentialCookie)
	var lr api.MobileLoginResponse
	json.Unmarshal(body, &lr)
	if st != http.StatusOK || lr.DeviceToken != "" || lr.DeviceID != "web-1" || lr.User.ID != p.User.ID {
		t.Fatalf("cookie login: %d %s", st, body)
	}
	cookies := hdr.Values("Set-Cookie")
	if len(cookies) != 2 {
		t.Fatalf("Set-Cookie: %q", cookies)
	}
	for _, c := range cookies {
		if !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") || !strings.Contains(c, "Path=/api/v1/mobile") {
			t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/api/v1/mobile", c)
		}
	}

	// Reads from the page work.
	if st, _, body := b.do("GET", api.PathMobileAccount, "", "same-origin", nil); st != http.StatusOK || !strings.Contains(string(body), p.Username) {
		t.Fatalf("account: %d %s", st, body)
	}
	// A cross-site request gets nothing from the cookies, read or write.
	if st, _, _ := b.do("GET", api.PathMobileSessions, "", "cross-site", nil); st != http.StatusUnauthorized {
		t.Errorf("a cross-site read: %d, want 401", st)
	}
	tk := h.NewTicket()
	scan := api.ScanRequest{QRPayload: tk.QRPayload}
	if st, _, _ := b.do("POST", api.PathMobileScan, "https://evil.example", "", scan); st != http.StatusForbidden {
		t.Errorf("a scan from another origin: %d, want 403", st)
	}
	if st, _, _ := b.do("POST", api.PathMobileScan, "", "", scan); st != http.StatusUnauthorized {
		t.Errorf("a scan that names no origin: %d, want 401", st)
	}
	st, _, body = b.do("POST", api.PathMobileScan, self, "same-origin", scan)
	var sr api.ScanResponse
	json.Unmarshal(body, &sr)
	if st != http.StatusOK || sr.ScanToken == "" {
		t.Fatalf("a scan from the app: %d %s", st, body)
	}
	yes := true
	if st, _, body := b.do("POST", api.PathMobileConfirm, self, "same-origin", api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &yes}); st != http.StatusOK {
		t.Fatalf("confirm: %d %s", st, body)
	}

	// The phone channel takes the cookies too, from the app's origin only.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(self, "http") + api.PathMobileEvents
	if c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: b.client, HTTPHeader: http.Header{"Origin": {self}}}); err != nil {
		t.Errorf("the phone channel with cookies: %v", err)
	} else {
		c.Close(websocket.StatusNormalClosure, "")
	}
	// Without an Origin the cookies are not taken: the socket waits for a
	// first-message auth, and the server drops it when none comes (5 s); an
	// authenticated socket would stay open past the read's deadline.
	if c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: b.client}); err == nil {
		rctx, rcancel := context.WithTimeout(ctx, 8*time.Second)
		_, _, err = c.Read(rctx)
		rcancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the phone channel took the cookies without an Origin: %v", err)
		}
	}

	// Logout clears them; the token is dead anyway.
	st, hdr, _ = b.do("POST", api.PathMobileLogout, self, "same-origin", nil)
	if st != http.StatusNoContent || !strings.Contains(strings.Join(hdr.Values("Set-Cookie"), ";"), "Max-Age=0") {
		t.Fatalf("logout: %d %q", st, hdr.Values("Set-Cookie"))
	}
	if st, _, _ := b.do("GET", api.PathMobileAccount, "", "same-origin", nil); st != http.StatusUnauthorized {
		t.Errorf("account after logout: %d, want 401", st)
	}
}

// A QR code's link opened by a phone's camera app goes to the phone web
// app, with the ref in the fragment; without the app, to the page that says
// to scan with it.
func TestQRLinkOpensPhoneApp(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "phone app") })
	h := start(t, func(c *node.Config) { c.Phone = app })
	tk := h.NewTicket()
	b := newPhoneBrowser(t, h)
	st, hdr, _ := b.do("GET", strings.TrimPrefix(tk.QRPayload, h.node.URL()), "", "", nil)
	if st != http.StatusFound || hdr.Get("Location") != h.node.URL()+"/m/#q="+tk.Ref {
		t.Fatalf("the QR's link: %d %q", st, hdr.Get("Location"))
	}
	if st, _, body := b.do("GET", "/m/", "", "", nil); st != http.StatusOK || string(body) != "phone app" {
		t.Fatalf("/m/: %d %s", st, body)
	}

	plain := start(t, nil)
	r := plain.Do("GET", strings.TrimPrefix(plain.NewTicket().QRPayload, plain.node.URL()), protocoltest.Auth{}, nil)
	if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
		t.Fatalf("without the app: %d %q", r.Status, r.Header.Get("Location"))
	}
}
