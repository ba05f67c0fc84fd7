// Command qrlogin is the qrlogin desktop app: a small window that shows a
// QR code to scan with the phone app, and the account once signed in (see
// docs/desktop.md). It runs an embedded login server on loopback by default,
// or uses a remote one (--server URL). It logs to stderr, starting with the
// server in use: msg="using server" server=URL mode=embedded|remote.
package main

import (
	_ "embed" // the icon
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
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

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args, runs the window until it closes, and returns the exit
// code: 2 for bad flags, 1 when the app cannot start (no display, no data
// folder).
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("qrlogin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "use the remote login server at `URL` for this run, instead of the embedded one or the one chosen in the window")
	dataDir := fs.String("data-dir", "", "keep the embedded database, the settings and the saved session in `DIR` (default: the user's data folder, qrlogin)")
	debug := fs.Bool("debug", false, "log every request of the embedded server")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qrlogin: unexpected argument %q\n", fs.Arg(0))
		return 2
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

	a := app.New(desktop.Options{DataDir: *dataDir, ServerURL: *server, Log: log})
	err := wails.Run(&options.App{
		Title:              "qrlogin",
		Width:              380,
		Height:             520,
		DisableResize:      true,
		Frameless:          true,
		BackgroundColour:   &options.RGBA{R: 255, G: 255, B: 255, A: 255},
		AssetServer:        &assetserver.Options{Assets: assets},
		OnStartup:          a.Startup,
		OnShutdown:         a.Shutdown,
		Bind:               []any{a},
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

// noDisplay reports whether a Linux app has no display to open a window on.
func noDisplay() bool {
	return runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == ""
}
