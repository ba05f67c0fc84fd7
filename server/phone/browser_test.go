package phone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/proctest"
	"github.com/qrlogin/qrlogin/server/qrimage"
)

// TestBrowser runs the phone web app in Debian's Chromium, driven by
// playwright-core from frontend/e2e/phone.mjs, as a phone (a phone's
// viewport, touch and user agent) on the real qrlogin-server: accounts,
// approving and denying a desktop's QR code opened as a link (signed in
// or not), a photo instead of the camera, the fake camera and a refused
// one, a TV's code, the match code, devices, offline, and that no token
// is readable by the page. It runs only with QRLOGIN_E2E_BROWSER=1,
// and then fails (never skips) when Chromium, node or
// frontend/node_modules is missing. Screenshots go to
// $QRLOGIN_ARTIFACTS/phone/ (default test-output/phone/ at the
// repository's root).
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
	if t.Failed() {
		t.Logf("qrlogin-server log:\n%s", srv.Tail(80))
		t.Logf("qrlogin-server (match always) log:\n%s", strict.Tail(30))
	}
	t.Logf("screenshots: %s", shots)
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
