package main

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// A developer installs the server with `go install
// github.com/qrlogin/qrlogin/server/cmd/qrlogin-server@VERSION`, which
// builds it from the module's zip as a proxy serves it: without npm, and
// refused if go.mod has a replace directive. The test serves the committed
// tree (git archive HEAD) as that zip from a file proxy, installs from it
// with Go alone, and runs the installed command.
func TestGoInstallAtVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server from a module zip; skipped with -short")
	}
	const module, version = "github.com/qrlogin/qrlogin", "v0.0.0-20261204000000-000000000000"
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout: git archive has nothing to serve")
	}
	archive, err := exec.Command("git", "-C", strings.TrimSpace(string(top)), "archive", "--format=zip", "HEAD").Output()
	if err != nil {
		t.Fatalf("git archive: %v", err)
	}
	zipped, goMod := moduleZip(t, archive, module+"@"+version)

	proxy := t.TempDir()
	dir := filepath.Join(proxy, module, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": []byte(`{"Version":"` + version + `"}`),
		version + ".mod":  goMod,
		version + ".zip":  zipped,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	modCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gobin := t.TempDir()
	install := exec.Command("go", "install", module+"/server/cmd/qrlogin-server@"+version)
	install.Env = append(os.Environ(),
		// This module from the zip, its dependencies from the machine's
		// module cache, and what that lacks from the usual proxy.
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(strings.TrimSpace(string(modCache)), "cache", "download")+",https://proxy.golang.org",
		"GOSUMDB=off", "GOFLAGS=", "GOWORK=off", "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/server/cmd/qrlogin-server@%s: %v\n%s", module, version, err, out)
	}
	out, err := exec.Command(filepath.Join(gobin, "qrlogin-server"), "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-addr") {
		t.Fatalf("the installed qrlogin-server -h: %v\n%s", err, out)
	}
}

// moduleZip turns a git archive of the repository into the module zip a
// proxy serves for prefix (module@version): every file under prefix/,
// without the folders of nested modules (which are modules of their own),
// and returns it with the module's go.mod.
func moduleZip(t *testing.T, archive []byte, prefix string) (zipped, goMod []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	var nested []string
	for _, f := range zr.File {
		if path.Base(f.Name) == "go.mod" && f.Name != "go.mod" {
			nested = append(nested, path.Dir(f.Name)+"/")
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || hasAnyPrefix(f.Name, nested) {
			continue
		}
		data := readZipFile(t, f)
		if f.Name == "go.mod" {
			goMod = data
		}
		w, err := zw.Create(prefix + "/" + f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if goMod == nil {
		t.Fatal("the archive has no go.mod")
	}
	return buf.Bytes(), goMod
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func readZipFile(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
