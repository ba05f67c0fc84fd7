package e2e

import (
	"bytes"
	"debug/pe"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDesktopPackage installs the Debian package that make package built
// (dpkg -i), checks what it put where, runs the installed app (--version
// without a display; the window under Xvfb) and removes the package
// (dpkg -r), even when it fails. It also checks the Windows app that make
// package cross-compiled: a 64-bit PE with the GUI subsystem (Windows
// cannot run here). The packages are taken from $QRLOGIN_PACKAGE_DIR when
// set (make test builds them first), else built with make package into
// build/bin. It runs only when QRLOGIN_E2E_DESKTOP is set, and skips when
// the test does not run as root, when there is no dpkg, or when qrlogin is
// already installed on the machine (it would be replaced, then removed).
func TestDesktopPackage(t *testing.T) {
	if os.Getenv("QRLOGIN_E2E_DESKTOP") == "" {
		t.Skip("set QRLOGIN_E2E_DESKTOP=1 to run the desktop app under Xvfb (needs xvfb, imagemagick, libwebkit2gtk-4.0)")
	}
	// make test builds the packages on purpose (QRLOGIN_PACKAGE_DIR): then
	// a reason not to test them is a failure, not a skip.
	skip := t.Skip
	if os.Getenv("QRLOGIN_PACKAGE_DIR") != "" {
		skip = t.Fatal
	}
	if os.Geteuid() != 0 {
		skip("installing the Debian package (dpkg -i) needs root: run the test as root, as CI does")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		skip("no dpkg on this machine: the Debian package is tested on Debian")
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "qrlogin").Output(); strings.Contains(string(out), "installed") {
		skip("qrlogin is installed on this machine (dpkg-query): the test would replace it, then remove it; remove it (dpkg -r qrlogin) first")
	}
	if _, err := os.Lstat("/usr/bin/qrlogin"); err == nil {
		skip("/usr/bin/qrlogin exists: the test would replace it, then remove it")
	}
	needTools(t)
	start := time.Now()
	dir := packageDir(t)
	debs, _ := filepath.Glob(filepath.Join(dir, "qrlogin_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("%s holds %d Debian packages of qrlogin (%q), want one", dir, len(debs), debs)
	}
	deb := debs[0]
	display := startXvfb(t)
	env := environ(display, t.TempDir())

	// Install it.
	installed := time.Now()
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "-r", "qrlogin").CombinedOutput(); err != nil {
			t.Errorf("dpkg -r qrlogin: %v\n%s", err, out)
		}
		if _, err := os.Lstat("/usr/bin/qrlogin"); err == nil {
			t.Error("dpkg -r qrlogin left /usr/bin/qrlogin")
		}
	})
	run(t, env, 0, "dpkg", "-i", deb)
	t.Logf("installed %s in %v", filepath.Base(deb), time.Since(installed).Round(time.Millisecond))
	if deps := run(t, env, 0, "dpkg-query", "-W", "-f=${Depends}", "qrlogin"); !strings.Contains(deps, "libgtk-3-0") || !strings.Contains(deps, "libwebkit2gtk-4.0-37") {
		t.Errorf("the package depends on %q, want libgtk-3-0 and libwebkit2gtk-4.0-37", deps)
	}
	files := strings.Fields(run(t, env, 0, "dpkg", "-L", "qrlogin"))
	want := []string{"/usr/bin/qrlogin", "/usr/share/applications/qrlogin.desktop"}
	for _, n := range []string{"16", "32", "48", "64", "128", "256", "512"} {
		want = append(want, "/usr/share/icons/hicolor/"+n+"x"+n+"/apps/qrlogin.png")
	}
	for _, f := range want {
		if !slices.Contains(files, f) {
			t.Errorf("dpkg -L qrlogin does not list %s", f)
		} else if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s, which the package lists: %v", f, err)
		}
	}
	if fi, err := os.Stat("/usr/bin/qrlogin"); err == nil && fi.Mode().Perm() != 0o755 {
		t.Errorf("/usr/bin/qrlogin has mode %v, want 0755", fi.Mode().Perm())
	}

	// The installed app says its version, which is the package's, without
	// a display.
	var noDisplay []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DISPLAY=") {
			noDisplay = append(noDisplay, kv)
		}
	}
	version := strings.TrimSpace(run(t, noDisplay, 0, "/usr/bin/qrlogin", "--version"))
	pkgVersion := strings.TrimSpace(run(t, env, 0, "dpkg-query", "-W", "-f=${Version}", "qrlogin"))
	if version != "qrlogin "+pkgVersion {
		t.Errorf("/usr/bin/qrlogin --version says %q, want \"qrlogin %s\" (the package's version)", version, pkgVersion)
	}

	// The installed app opens its window, with a QR code of its embedded
	// server.
	launched := time.Now()
	app := startApp(t, "/usr/bin/qrlogin", env, t.TempDir(), "package-app.log")
	app.wait(t, reServer, startWait)
	app.wait(t, reShown("pending"), startWait)
	screenshot(t, display, "package-window.png", nil, nil)
	t.Logf("the installed app showed its QR code %v after launch", time.Since(launched).Round(time.Millisecond))
	app.stop(t)

	// The Windows app.
	exe := filepath.Join(dir, "qrlogin.exe")
	head := make([]byte, 2)
	f, err := os.Open(exe)
	if err == nil {
		_, err = io.ReadFull(f, head)
		f.Close()
	}
	if err != nil {
		t.Errorf("the Windows app: %v", err)
	} else if !bytes.Equal(head, []byte("MZ")) {
		t.Errorf("%s starts with %q, want MZ", exe, head)
	} else {
		checkWindowsGUI(t, exe)
	}
	t.Logf("packages checked in %v", time.Since(start).Round(time.Millisecond))
}

// checkWindowsGUI fails the test unless the file at path is a 64-bit x86
// Windows executable of the GUI subsystem (built with -H windowsgui: no
// console window opens beside the app's).
func checkWindowsGUI(t *testing.T, path string) {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Errorf("%s is not a PE file: %v", path, err)
		return
	}
	defer f.Close()
	opt, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || !ok {
		t.Errorf("%s is for machine %#x, want amd64 (%#x)", path, f.Machine, pe.IMAGE_FILE_MACHINE_AMD64)
		return
	}
	if opt.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("%s has subsystem %d, want the GUI's (%d)", path, opt.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
}

// packageDir returns $QRLOGIN_PACKAGE_DIR, or builds the packages with make
// package and returns build/bin.
func packageDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("QRLOGIN_PACKAGE_DIR"); dir != "" {
		return dir
	}
	built := time.Now()
	root := repoRoot(t)
	out, err := exec.Command("make", "-C", root, "package").CombinedOutput()
	os.WriteFile(filepath.Join(artifacts(t), "make-package.log"), out, 0o644)
	if err != nil {
		t.Fatalf("make package: %v (see make-package.log)\n%s", err, out[max(0, len(out)-2000):])
	}
	t.Logf("make package in %v", time.Since(built).Round(time.Millisecond))
	return filepath.Join(root, "build", "bin")
}
