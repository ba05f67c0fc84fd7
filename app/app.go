// Package app is the desktop app's binding to Wails: App holds the Wails
// context and forwards the window's calls to desktop.Desktop, which does the
// work and is tested without a window.
package app

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/qrlogin/qrlogin/app/desktop"
)

// App is bound to the window: its exported methods, but Startup and
// Shutdown, are callable from the frontend (frontend/src/bridge.ts).
type App struct {
	opts desktop.Options
	d    atomic.Pointer[desktop.Desktop] // nil until Startup
	ctx  atomic.Pointer[context.Context] // the Wails context; nil until Startup
}

// New returns an App that opens a Desktop with opts at Startup; opts.Emit
// is set there to the window's events.
func New(opts desktop.Options) *App {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &App{opts: opts}
}

// Startup is Wails' OnStartup: it starts the server and the log-in. If the
// Desktop cannot open (its data folder cannot be made), it logs why and
// quits.
func (a *App) Startup(ctx context.Context) {
	a.ctx.Store(&ctx)
	opts := a.opts
	opts.Emit = func(event string, data ...any) { runtime.EventsEmit(ctx, event, data...) }
	d, err := desktop.Open(opts)
	if err != nil {
		opts.Log.Error("cannot start", "err", err)
		runtime.Quit(ctx)
		return
	}
	a.d.Store(d)
}

// Shutdown is Wails' OnShutdown: it stops the log-in and the embedded
// server, giving running requests a few seconds.
func (a *App) Shutdown(ctx context.Context) {
	d := a.d.Load()
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		a.opts.Log.Warn("shutdown", "err", err)
	}
}

// BringForward returns Wails' OnSecondInstanceLaunch for a's window: when
// the app is launched again on the same data folder, that launch exits and
// this window is shown and unminimised (raised, where the window manager
// allows), and a logs msg="brought forward" with the launch's arguments,
// which are otherwise ignored. Before Startup there is no window yet: it
// only logs. It is a function, not a method, so that the window cannot
// call it.
func BringForward(a *App) func(options.SecondInstanceData) {
	return func(launch options.SecondInstanceData) {
		if ctx := a.ctx.Load(); ctx != nil {
			runtime.WindowShow(*ctx)
			runtime.WindowUnminimise(*ctx)
		}
		a.opts.Log.Info("brought forward", "args", launch.Args)
	}
}

// GetView returns what the window shows now; the window calls it once it
// listens for desktop.EventView.
func (a *App) GetView() desktop.View {
	if d := a.d.Load(); d != nil {
		return d.View()
	}
	return desktop.View{State: desktop.ViewLoading}
}

// Refresh shows a new QR code, or retries after an error.
func (a *App) Refresh() {
	if d := a.d.Load(); d != nil {
		d.Refresh()
	}
}

// Cancel cancels the QR code on show.
func (a *App) Cancel() {
	if d := a.d.Load(); d != nil {
		d.Cancel()
	}
}

// Logout ends the session and shows a new QR code.
func (a *App) Logout() {
	if d := a.d.Load(); d != nil {
		d.Logout()
	}
}

// LogIn asks the phone of the account this computer is remembered for to
// let it in again (one-tap login): the window shows the number to tap.
func (a *App) LogIn() {
	if d := a.d.Load(); d != nil {
		d.LogIn()
	}
}

// SwitchAccount leaves one-tap login for a QR code.
func (a *App) SwitchAccount() {
	if d := a.d.Load(); d != nil {
		d.SwitchAccount()
	}
}

// UseServer switches to the remote server at url, or to the embedded one
// when url is empty, and keeps the choice. A malformed url is refused with
// an error for a person, and changes nothing.
func (a *App) UseServer(url string) error {
	if d := a.d.Load(); d != nil {
		return d.UseServer(url)
	}
	return nil
}

// Shown logs that the window now shows state (for the QR states, once the
// image has loaded): the end-to-end test reads these lines.
func (a *App) Shown(state string) {
	if len(state) > 32 {
		state = state[:32]
	}
	a.opts.Log.Info("shown", "state", state)
}
