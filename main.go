// Command qrlogin is the qrlogin desktop app: a small window that shows a
// QR code to scan with the phone app, and the account once signed in (see
// docs/desktop.md). It runs an embedded login server on loopback by default,
// or uses a remote one (--server URL). It logs to stderr, starting with the
// server in use: msg="using server" server=URL mode=embedded|remote.
// One instance runs per data folder: a second launch on the same folder
// brings the first one's window forward and exits. --version prints the
// version and exits, without a display.
package main

import (
	"crypto/sha256"
	_ "embed" // the icon
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/logger"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"

	"github.com/qrlogin/qrlogin/app"
	"github.com/qrlogin/qrlogin/app/desktop"
	"github.com/qrlogin/qrlogin/server/node"
)

//go:embed build/appicon.png
var icon []byte

// version is what --version prints. The Makefile stamps it
// (-ldflags "-X main.version=...", from build/version.sh) with a version
// that is also a valid Debian package version; other builds say dev.
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the window until it closes, and returns the exit
// code: 2 for bad flags, 1 when the app cannot start (no display, no data
// folder). --version writes "qrlogin VERSION" to stdout and returns 0
// before anything else is checked. A second launch on the data folder of
// a running instance does not return: Wails ends it once the first
// instance has been told (status 1 on Linux, 0 on Windows and macOS).
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qrlogin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "use the remote login server at `URL` for this run, instead of the embedded one or the one chosen in the window")
	dataDir := fs.String("data-dir", "", "keep the embedded database, the settings and the saved session in `DIR` (default: the user's data folder, qrlogin)")
	debug := fs.Bool("debug", false, "log every request of the embedded server")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qrlogin: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "qrlogin %s\n", version)
		return 0
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if *server != "" {
		if _, err := desktop.NormalizeServerURL(*server); err != nil {
			fmt.Fprintf(stderr, "qrlogin: --server: %v\n", err)
			return 2
		}
	}
	if windowed && noDisplay() { // GTK would panic
		fmt.Fprintln(stderr, "qrlogin: no display: set DISPLAY (or WAYLAND_DISPLAY), or run it under Xvfb: xvfb-run -a qrlogin")
		return 1
	}
	if *dataDir == "" {
		d, err := node.DataDir()
		if err != nil {
			log.Error("no data folder: pass --data-dir", "err", err)
			return 1
		}
		*dataDir = d
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		log.Error("cannot make the data folder", "err", err)
		return 1
	}
	instance, err := instanceID(*dataDir)
	if err != nil {
		log.Error("no data folder", "err", err)
		return 1
	}

	a := app.New(desktop.Options{DataDir: *dataDir, ServerURL: *server, Log: log})
	err = wails.Run(&options.App{
		Title:            "qrlogin",
		Width:            380,
		Height:           520,
		DisableResize:    true,
		Frameless:        true,
		BackgroundColour: &options.RGBA{R: 255, G: 255, B: 255, A: 255},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        a.Startup,
		OnShutdown:       a.Shutdown,
		Bind:             []any{a},
		// Wails' lock: on Linux a name on the D-Bus session bus (with no
		// session bus, no lock), on Windows a mutex, on macOS a lock file.
		// On Linux Wails calls OnStartup before it takes the lock, so a
		// second launch may open the data folder's database for a moment
		// before it ends (SQLite shares it safely).
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId:               instance,
			OnSecondInstanceLaunch: app.BringForward(a),
		},
		LogLevel:           logger.WARNING,
		LogLevelProduction: logger.ERROR,
		Linux: &linux.Options{
			Icon:             icon,
			ProgramName:      "qrlogin",
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
	if err != nil {
		log.Error("the window could not run", "err", err)
		return 1
	}
	return 0
}

// instanceID returns the single-instance lock's id for the data folder
// dataDir: the same for every spelling of its absolute path (symbolic
// links are not followed), different for another folder, so that runs on
// different folders (tests, --data-dir) run side by side. It holds only
// letters, digits and a hyphen, which Wails' locks accept on every
// platform (a D-Bus name on Linux).
func instanceID(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return "qrlogin-" + hex.EncodeToString(sum[:12]), nil
}

// noDisplay reports whether a Linux app has no display to open a window on.
func noDisplay() bool {
	return runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == ""
}
