//go:build !(js && wasm)

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
	"github.com/qrlogin/qrlogin/mobile-sim/decode/internal/qrphotos"
)

// These tests run natively: they build this command for js/wasm as
// `make wasm` does, and run the committed build in Node.

// repoRoot is the repository's root, from this package's folder.
var repoRoot, _ = filepath.Abs("../../..")

// static is the folder of the phone app's files, where `make wasm` writes
// decoder.wasm and wasm_exec.js.
var static = filepath.Join(repoRoot, "server", "phone", "static")

// TestCommittedBuildIsFresh builds the decoder as `make wasm` does and
// requires the committed server/phone/static/decoder.wasm to be the same
// bytes, and wasm_exec.js to be the Go toolchain's: the server embeds
// them as they are. Another Go release may build other bytes; the
// failure names the release the test ran with.
func TestCommittedBuildIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the decoder for js/wasm (seconds); skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goroot, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	out := filepath.Join(t.TempDir(), "decoder.wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./mobile-sim/decode/wasm")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, b)
	}
	for _, f := range []struct{ name, fresh string }{
		{"decoder.wasm", out},
		{"wasm_exec.js", filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")},
	} {
		want, err := os.ReadFile(f.fresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(static, f.name))
		if err != nil {
			t.Errorf("server/phone/static/%s: %v: run `make wasm`", f.name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("server/phone/static/%s (%d bytes) is not what %s builds (%d bytes): run `make wasm` and commit it",
				f.name, len(got), runtime.Version(), len(want))
		}
	}
}

// photos lists the test photos of mobile-sim/decode's black-box test
// (package qrphotos: the folder QRLOGIN_QR_PHOTOS names), skipping the
// test when the variable is unset. They are all PNG, which is what
// e2e/wasm-decoder.mjs reads; another format fails the test until the
// script reads it too.
func photos(t *testing.T) []string {
	t.Helper()
	var list []string
	for _, p := range qrphotos.Require(t) {
		if !strings.EqualFold(filepath.Ext(p.Path), ".png") {
			t.Errorf("%s: e2e/wasm-decoder.mjs reads only PNG files", p.Path)
			continue
		}
		list = append(list, p.Path)
	}
	return list
}

// wasmResult is one entry of e2e/wasm-decoder.mjs's output.
type wasmResult struct {
	File  string    `json:"file"`
	Texts *[]string `json:"texts"`
	Error string    `json:"error"`
}

// TestNodeDecodesLikeGo runs the committed decoder.wasm in Node
// (frontend/e2e/wasm-decoder.mjs, which also checks that bad arguments
// give error values) on the test photos (QRLOGIN_QR_PHOTOS) and requires,
// photo by photo, the texts that package decode finds natively, in the same
// order, and none where it finds none. Without node or frontend/node_modules/pngjs
// it skips, saying how to install them, unless QRLOGIN_E2E_BROWSER is set
// (as `make test` sets it, after `npm ci`): then it fails.
func TestNodeDecodesLikeGo(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes every test photo twice (seconds); skipped with -short")
	}
	missing := func(what string) {
		t.Helper()
		if os.Getenv("QRLOGIN_E2E_BROWSER") != "" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("the WebAssembly decoder's test needs node (Node 20) on PATH")
	}
	frontend := filepath.Join(repoRoot, "frontend")
	if _, err := os.Stat(filepath.Join(frontend, "node_modules", "pngjs", "package.json")); err != nil {
		missing("the WebAssembly decoder's test needs frontend/node_modules/pngjs: run `npm ci` in frontend")
	}
	files := photos(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	script := filepath.Join("e2e", "wasm-decoder.mjs")
	cmd := exec.CommandContext(ctx, node, append([]string{script}, files...)...)
	cmd.Dir = frontend
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s%s", script, err, out, stderr.Bytes())
	}
	t.Logf("node %s: %d photos in %v", script, len(files), time.Since(start).Round(time.Millisecond))
	var got []wasmResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node %s: %v in its output:\n%s%s", script, err, out, stderr.Bytes())
	}
	if len(got) != len(files) {
		t.Fatalf("node %s: %d results for %d photos", script, len(got), len(files))
	}

	read := 0
	for i, f := range files {
		name, _ := filepath.Rel(filepath.Dir(filepath.Dir(f)), f)
		w := got[i]
		if w.File != f || w.Error != "" || w.Texts == nil {
			t.Errorf("%s: the WebAssembly decoder answered %+v", name, w)
			continue
		}
		want, err := nativeTexts(f)
		if err != nil {
			t.Errorf("%s: natively: %v", name, err)
			continue
		}
		if !slices.Equal(*w.Texts, want) {
			t.Errorf("%s: WebAssembly read %q, natively %q", name, *w.Texts, want)
		}
		if len(want) > 0 {
			read++
		}
	}
	t.Logf("%d photos, %d with a code read; the same texts from both", len(files), read)
}

// nativeTexts is what package decode reads in the image file, natively:
// the texts in order, none when it finds no code.
func nativeTexts(file string) ([]string, error) {
	img, err := decode.Load(file)
	if err != nil {
		return nil, err
	}
	res, err := decode.Decode(img)
	if errors.Is(err, decode.ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(res))
	for i, r := range res {
		texts[i] = r.Text
	}
	return texts, nil
}
