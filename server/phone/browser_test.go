package phone

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/dpop"
	"github.com/qrlogin/qrlogin/server/internal/proctest"
	"github.com/qrlogin/qrlogin/server/qrimage"
)

// TestBrowser runs the phone web app in Debian's Chromium, driven by
// playwright-core from frontend/e2e/phone.mjs, as a phone (a phone's
// viewport, touch and user agent) on the real qrlogin-server: accounts,
// approving and denying a desktop's QR code opened as a link (signed in
// or not), a photo instead of the camera, the fake camera and a refused
// one, a TV's code, the match code, devices, offline, one-tap login
// requests of an enrolled desktop, and that no token is readable by the
// page. It runs only with QRLOGIN_E2E_BROWSER=1, and then fails (never
// skips) when Chromium, node or frontend/node_modules is missing.
// Screenshots go to $QRLOGIN_ARTIFACTS/phone/ (default test-output/phone/
// at the repository's root); with QRLOGIN_UPDATE_SCREENSHOTS=1 those that
// docs/phone.md shows (docShots) are also copied to docs/screenshots.
func TestBrowser(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_BROWSER") != "1" {
		t.Skip("browser tests: set QRLOGIN_E2E_BROWSER=1 (needs chromium, node and frontend/node_modules)")
	}
	node, chromium := browserTools(t)
	root, _ := filepath.Abs(repoRoot)
	bin := filepath.Join(t.TempDir(), "qrlogin-server")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/qrlogin-server")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./server/cmd/qrlogin-server: %v\n%s", err, b)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "qrlogin.db")
	// A TV app of the device grant, registered as its operator would.
	tv := exec.Command(bin, "apps", "add", "-db", db, "--name", "Living room TV", "--public", "--grants", "device", "-json")
	var stderr bytes.Buffer
	tv.Stderr = &stderr
	out, err := tv.Output()
	var tvApp struct {
		ClientID string `json:"client_id"`
	}
	if err != nil || json.Unmarshal(out, &tvApp) != nil || tvApp.ClientID == "" {
		t.Fatalf("qrlogin-server apps add: %v\n%s%s", err, out, stderr.Bytes())
	}
	srv := proctest.Start(t, "qrlogin-server", bin, "-addr", "127.0.0.1:0", "-db", db,
		"-ticket-ttl", "5m", "-rotate-every", "4m", "-device-interval", "1s", "-log-level", "debug")

	// A server that always asks the phone for the code the desktop shows.
	strict := proctest.Start(t, "qrlogin-server", bin, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "strict.db"), "-match", "always")

	// The fake camera's clip: a desktop's QR code as the server draws it,
	// on a white frame, after a few blank frames. Its ticket is made now,
	// as a desktop would, for the camera scenario to approve.
	camera := createTicket(t, srv.URL, "Camera desk")
	code, err := decodePNG(srv.URL + api.PathQRPrefix + camera.Ref + ".png?px=360")
	if err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(dir, "clip.y4m")
	if err := os.WriteFile(clip, y4m(onFrame(code, 640, 480), 5, 20), 0o644); err != nil {
		t.Fatal(err)
	}
	// A QR code that is not qrlogin's.
	other, err := qrimage.Encode("https://example.com/menu")
	if err != nil {
		t.Fatal(err)
	}
	otherPNG, err := other.PNG(360)
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(dir, "menu.png")
	if err := os.WriteFile(otherFile, otherPNG, 0o644); err != nil {
		t.Fatal(err)
	}

	shots := shotsDir(t, root)
	env := append(os.Environ(),
		"QRLOGIN_E2E_SERVER="+srv.URL,
		"QRLOGIN_E2E_CHROMIUM="+chromium,
		"QRLOGIN_E2E_SHOTS="+shots,
		"QRLOGIN_E2E_CAMERA_CLIP="+clip,
		"QRLOGIN_E2E_CAMERA_REF="+camera.Ref,
		"QRLOGIN_E2E_CAMERA_SECRET="+camera.PollSecret,
		"QRLOGIN_E2E_OTHER_QR="+otherFile,
		"QRLOGIN_E2E_TMP="+dir,
		"QRLOGIN_E2E_TV_CLIENT="+tvApp.ClientID,
		"QRLOGIN_E2E_STRICT_SERVER="+strict.URL,
	)
	for _, scenario := range []string{
		"camera", "account_and_approve", "deny", "signed_out_link", "photo", "not_qrlogin", "camera_refused",
		"enter_code", "match_code", "devices", "offline",
	} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "phone.mjs"), scenario)
			cmd.Dir = filepath.Join(root, "frontend")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Errorf("%s: %v (screenshots in %s)", scenario, err, shots)
			}
		})
	}
	t.Run("login_request", func(t *testing.T) {
		testLoginRequest(t, node, root, srv.URL, env)
	})
	if t.Failed() {
		t.Logf("qrlogin-server log:\n%s", srv.Tail(80))
		t.Logf("qrlogin-server (match always) log:\n%s", strict.Tail(30))
	}
	t.Logf("screenshots: %s", shots)
	updateDocShots(t, root, shots)
}

// docShots are the screenshots of TestBrowser that docs/phone.md shows.
var docShots = []string{"phone-login-request.png"}

// updateDocShots copies docShots from shots to docs/screenshots when
// QRLOGIN_UPDATE_SCREENSHOTS=1 (as app/e2e does for the desktop's).
func updateDocShots(t *testing.T, root, shots string) {
	t.Helper()
	if os.Getenv("QRLOGIN_UPDATE_SCREENSHOTS") != "1" || t.Failed() {
		return
	}
	for _, name := range docShots {
		data, err := os.ReadFile(filepath.Join(shots, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "docs", "screenshots", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("updated docs/screenshots: %s", strings.Join(docShots, ", "))
}

// testLoginRequest is one-tap login on the phone: an account whose other
// phone approved a desktop's QR code, redeemed with a DPoP proof (so the
// desktop's key is enrolled), signs in in the app; the desktop asks to log
// in again, before the sign-in (the app finds it in the list) and while
// the app is open (it comes on the channel). e2e/phone.mjs login_request
// taps the right number, then a wrong one, and removes the computer; this
// test makes the desktop's requests when the scenario asks (a line on its
// stdout, the answer on its stdin) and checks the tickets' states and the
// enrolment from the desktop's side.
func testLoginRequest(t *testing.T, node, root, base string, env []string) {
	username := fmt.Sprintf("tap-%d", time.Now().UnixNano()%1e9)
	phone := mobileLogin(t, base, username)
	key := enrolDesktop(t, base, phone, "Office PC")

	var asked []api.DesktopLoginResponse
	answer := func(what string) (any, error) {
		switch what {
		case "account":
			return map[string]string{"username": username, "password": phonePassword}, nil
		case "login_request":
			r, err := askLogin(base, key, "Office PC")
			if err == nil {
				asked = append(asked, r)
			}
			return r, err
		}
		return nil, fmt.Errorf("nothing to answer to %q", what)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := converse(ctx, node, root, env, "login_request", answer)
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("login_request: %v", err)
	}
	if len(asked) != 2 {
		t.Fatalf("the scenario asked for %d login requests, want 2", len(asked))
	}
	// The right number confirms the first, which the desktop redeems with its key; a wrong one denies the second.
	for i, want := range []string{"confirmed", "denied"} {
		if got := ticketState(t, base, asked[i], want); got != want {
			t.Errorf("login request %d (number %s): ticket %s, want %s", i+1, asked[i].Number, got, want)
		}
	}
	// Remove in the app ended the enrolment: the key asks for nothing any more.
	if code := desktopKeyStatus(t, base, key); code != http.StatusNotFound {
		t.Errorf("GET %s after Remove: %d, want 404", api.PathDesktopKey, code)
	}
}

// phonePassword is the password of the accounts the Go side makes.
const phonePassword = "correct horse battery staple"

// mobilePhone is a phone signed in the way mobile-sim is: a bearer token.
type mobilePhone struct {
	token, deviceID string
}

// mobileLogin creates the account username and signs a phone in to it.
func mobileLogin(t *testing.T, base, username string) mobilePhone {
	t.Helper()
	if code := postJSON(t, base+api.PathAccounts, nil, api.RegisterRequest{Username: username, Password: phonePassword, DisplayName: "Tapio"}, nil); code != http.StatusCreated {
		t.Fatalf("create account: %d", code)
	}
	dev := api.MobileDevice{ID: fmt.Sprintf("go-phone-%d", time.Now().UnixNano()), Name: "Other phone", Platform: "test"}
	var login api.MobileLoginResponse
	if code := postJSON(t, base+api.PathMobileLogin, nil, api.MobileLoginRequest{Username: username, Password: phonePassword, Device: dev}, &login); code != http.StatusOK {
		t.Fatalf("mobile login: %d", code)
	}
	return mobilePhone{token: login.DeviceToken, deviceID: dev.ID}
}

// header returns the headers of a call of p.
func (p mobilePhone) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + p.token}, api.HeaderDeviceID: {p.deviceID}}
}

// enrolDesktop signs a desktop named name in by its QR code, approved by
// phone, and redeems the ticket with a DPoP proof: the key it returns is
// enrolled for one-tap login.
func enrolDesktop(t *testing.T, base string, phone mobilePhone, name string) *ecdsa.PrivateKey {
	t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tk := createTicket(t, base, name)
	var scan api.ScanResponse
	if code := postJSON(t, base+api.PathMobileScan, phone.header(), api.ScanRequest{QRPayload: tk.QRPayload}, &scan); code != http.StatusOK {
		t.Fatalf("scan: %d", code)
	}
	yes := true
	confirm := api.ConfirmRequest{ScanToken: scan.ScanToken, Approve: &yes}
	if scan.MatchRequired {
		confirm.MatchCode = tk.MatchCode
	}
	var state api.StateBody
	if code := postJSON(t, base+api.PathMobileConfirm, phone.header(), confirm, &state); code != http.StatusOK || state.State != "confirmed" {
		t.Fatalf("confirm: %d %q", code, state.State)
	}
	redeem := base + api.PathTickets + "/" + tk.Ref + "/redeem"
	var session api.RedeemResponse
	if code := postJSON(t, redeem, withProof(t, key, http.MethodPost, redeem, http.Header{"Authorization": {"Bearer " + tk.PollSecret}}), nil, &session); code != http.StatusOK {
		t.Fatalf("redeem with a DPoP proof: %d", code)
	}
	if session.TokenType != api.TokenDPoP {
		t.Fatalf("redeem with a DPoP proof: token type %q, want %q", session.TokenType, api.TokenDPoP)
	}
	return key
}

// askLogin asks the account's phones, as the desktop whose key is key, to
// let it in again (POST /api/v1/desktop/login).
func askLogin(base string, key *ecdsa.PrivateKey, name string) (api.DesktopLoginResponse, error) {
	var out api.DesktopLoginResponse
	u := base + api.PathDesktopLogin
	proof, err := dpop.Proof(key, http.MethodPost, u, "", time.Now())
	if err != nil {
		return out, err
	}
	body, _ := json.Marshal(api.DesktopLoginRequest{Device: api.DesktopDevice{Name: name, OS: "Ubuntu 24.04", App: "qrlogin desktop"}})
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dpop.Header, proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return out, fmt.Errorf("POST %s: %d %s", api.PathDesktopLogin, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Ref == "" || out.Number == "" {
		return out, fmt.Errorf("POST %s: %s: %v", api.PathDesktopLogin, data, err)
	}
	return out, nil
}

// ticketState waits up to 15 seconds for the ticket of r to reach want,
// as the desktop follows it (GET .../wait with its poll secret), and
// returns the last state seen.
func ticketState(t *testing.T, base string, r api.DesktopLoginResponse, want string) string {
	t.Helper()
	var last string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, base+api.PathTickets+"/"+r.Ref+"/wait", nil)
		req.Header.Set("Authorization", "Bearer "+r.PollSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ev api.TicketEvent
		err = json.NewDecoder(resp.Body).Decode(&ev)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET .../wait: %d %v", resp.StatusCode, err)
		}
		if last = string(ev.State); last == want {
			break
		}
	}
	return last
}

// desktopKeyStatus is the status of GET /api/v1/desktop/key with a proof of key.
func desktopKeyStatus(t *testing.T, base string, key *ecdsa.PrivateKey) int {
	t.Helper()
	u := base + api.PathDesktopKey
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header = withProof(t, key, http.MethodGet, u, req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// withProof returns h (made if nil) with a DPoP proof of key for method and url.
func withProof(t *testing.T, key *ecdsa.PrivateKey, method, url string, h http.Header) http.Header {
	t.Helper()
	proof, err := dpop.Proof(key, method, url, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.Header{}
	}
	h.Set(dpop.Header, proof)
	return h
}

// postJSON posts in (none if nil) as JSON with h to url, decodes a 2xx
// answer into out (if not nil) and returns the status.
func postJSON(t *testing.T, url string, h http.Header, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %d %s: %v", url, resp.StatusCode, data, err)
		}
	} else if resp.StatusCode/100 != 2 {
		t.Logf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// askPrefix starts a line of e2e/phone.mjs that asks the Go side for
// something (askGo in e2e/phone.mjs): "qrlogin-e2e ask WHAT". The answer is one
// line of JSON on the scenario's stdin: {"ok": ...} or {"error": "..."}.
const askPrefix = "qrlogin-e2e ask "

// converse runs e2e/phone.mjs scenario and answers what it asks with
// answer; it returns the scenario's output.
func converse(ctx context.Context, node, root string, env []string, scenario string, answer func(what string) (any, error)) (string, error) {
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "phone.mjs"), scenario)
	cmd.Dir = filepath.Join(root, "frontend")
	cmd.Env = append(env[:len(env):len(env)], "QRLOGIN_E2E_ASK=1")
	var out, stderr bytes.Buffer // stderr: written by exec's goroutine, joined at the end
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		what, ok := strings.CutPrefix(line, askPrefix)
		if !ok {
			continue
		}
		reply := map[string]any{}
		if v, err := answer(what); err != nil {
			reply["error"] = err.Error()
		} else {
			reply["ok"] = v
		}
		b, _ := json.Marshal(reply)
		if _, err := stdin.Write(append(b, '\n')); err != nil {
			break
		}
	}
	stdin.Close()
	err = cmd.Wait()
	return out.String() + stderr.String(), err
}

// shotsDir returns, made, the folder of the screenshots:
// $QRLOGIN_ARTIFACTS/phone, or test-output/phone at the repository's root.
func shotsDir(t *testing.T, root string) string {
	t.Helper()
	shots := os.Getenv("QRLOGIN_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(root, "test-output")
	}
	shots = filepath.Join(shots, "phone")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
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

// createTicket asks the server for a ticket, as a desktop named name.
func createTicket(t *testing.T, server, name string) api.CreateTicketResponse {
	t.Helper()
	body, _ := json.Marshal(api.CreateTicketRequest{Device: api.DesktopDevice{Name: name, OS: "Ubuntu 24.04", App: "qrlogin desktop"}})
	resp, err := http.Post(server+api.PathTickets, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out api.CreateTicketResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create ticket: %d %v", resp.StatusCode, err)
	}
	return out
}

// decodePNG fetches and decodes a PNG.
func decodePNG(url string) (image.Image, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return png.Decode(resp.Body)
}

// onFrame centres img on a white w×h frame.
func onFrame(img image.Image, w, h int) image.Image {
	frame := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), image.White, image.Point{}, draw.Src)
	b := img.Bounds()
	at := image.Pt((w-b.Dx())/2, (h-b.Dy())/2)
	draw.Draw(frame, image.Rectangle{Min: at, Max: at.Add(b.Size())}, img, b.Min, draw.Src)
	return frame
}

// y4m returns a 4:2:0 YUV4MPEG2 clip of blank white frames followed by
// frames of img (as mobile-sim's tests make theirs), for Chromium's
// --use-file-for-fake-video-capture.
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

// TestPhoneBench is a measurement, not a test: frontend/e2e/phone-bench.mjs
// times the WebAssembly decoder's worker in Chromium on 640×480 frames,
// and the fake camera's QR code to the approval screen, on the real
// qrlogin-server, and prints the numbers. It runs only with
// QRLOGIN_PHONE_BENCH=1 (QRLOGIN_BENCH_RUNS camera runs, default 7):
//
//	QRLOGIN_PHONE_BENCH=1 go test -run TestPhoneBench -v ./server/phone/
func TestPhoneBench(t *testing.T) {
	if os.Getenv("QRLOGIN_PHONE_BENCH") != "1" {
		t.Skip("a measurement: set QRLOGIN_PHONE_BENCH=1 (needs chromium, node and frontend/node_modules)")
	}
	node, chromium := browserTools(t)
	root, _ := filepath.Abs(repoRoot)
	bin := filepath.Join(t.TempDir(), "qrlogin-server")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/qrlogin-server")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./server/cmd/qrlogin-server: %v\n%s", err, b)
	}
	dir := t.TempDir()
	srv := proctest.Start(t, "qrlogin-server", bin, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "qrlogin.db"), "-ticket-ttl", "5m")

	runs := 7
	if n, err := strconv.Atoi(os.Getenv("QRLOGIN_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	// One ticket and one clip a camera run: the QR code in every frame.
	var clips []string
	var ref string
	for i := 1; i <= runs; i++ {
		name := fmt.Sprintf("Bench desk %d", i)
		tk := createTicket(t, srv.URL, name)
		ref = tk.Ref
		code, err := decodePNG(srv.URL + api.PathQRPrefix + tk.Ref + ".png?px=360")
		if err != nil {
			t.Fatal(err)
		}
		clip := filepath.Join(dir, fmt.Sprintf("clip%d.y4m", i))
		if err := os.WriteFile(clip, y4m(onFrame(code, 640, 480), 0, 25), 0o644); err != nil {
			t.Fatal(err)
		}
		clips = append(clips, clip+"="+name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "phone-bench.mjs"))
	cmd.Dir = filepath.Join(root, "frontend")
	cmd.Env = append(os.Environ(),
		"QRLOGIN_E2E_SERVER="+srv.URL,
		"QRLOGIN_E2E_CHROMIUM="+chromium,
		"QRLOGIN_E2E_CAMERA_REF="+ref, // the decode bench's QR code (the last run's ticket: only drawn, never scanned before)
		"QRLOGIN_BENCH_CLIPS="+strings.Join(clips, ";"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("e2e/phone-bench.mjs: %v\nqrlogin-server log:\n%s", err, srv.Tail(40))
	}
}
