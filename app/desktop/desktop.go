package desktop

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
	"github.com/qrlogin/qrlogin/server/node"
)

// Version is the desktop app's version, as the phone is shown it.
const Version = "1.0"

// Options configures a Desktop.
type Options struct {
	// DataDir holds the embedded server's database, the settings and the
	// saved session (when there is no keyring).
	DataDir string
	// ServerURL, if set, is a remote server for this run (the --server
	// flag): it overrides the settings without changing them.
	ServerURL string
	// Emit receives EventView and the View on every change (see Config.Emit).
	Emit func(event string, data ...any)
	Log  *slog.Logger
	// Vault keeps the session; NewSecureVault(DataDir) if nil.
	Vault Vault
	// Key is the desktop's DPoP key, which every client of the desktop
	// proves it holds, so that the sessions it redeems are bound to it
	// (client.WithDPoP); NewKeyStore(DataDir)'s if nil.
	Key *ecdsa.PrivateKey
	// Device is what the phone is shown; DefaultDevice() if zero.
	Device api.DesktopDevice
	// Node is the template of the embedded server's config: Addr, DBPath
	// and Logger are filled in where empty (127.0.0.1:0, DataDir/qrlogin.db).
	Node node.Config
	// Reconnect is passed to the Controller.
	Reconnect time.Duration
}

// Desktop is the app without its window: it runs the chosen server (an
// embedded one, or a client of a remote one) and a Controller on it, and
// switches servers on request. Its methods are safe for concurrent use.
type Desktop struct {
	opts Options

	mu   sync.Mutex // held across a switch of server
	node *node.Node // the embedded server, if running
	ctrl *Controller
	info ServerInfo
	down *View // what to show when no controller runs (the embedded server failed)
	// closed is set by Close, after which the methods do nothing.
	closed bool
}

// Open starts the server chosen by opts.ServerURL, else by the settings,
// else the embedded one, and starts the log-in on it. It fails only when
// the data folder or the key cannot be made; a server that cannot start
// shows as an error View with a retry.
func Open(opts Options) (*Desktop, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Emit == nil {
		opts.Emit = func(string, ...any) {}
	}
	if opts.Device == (api.DesktopDevice{}) {
		opts.Device = DefaultDevice()
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if opts.Vault == nil {
		opts.Vault = NewSecureVault(opts.DataDir, opts.Log)
	}
	if opts.Key == nil {
		key, err := NewKeyStore(opts.DataDir, opts.Log).Key()
		if err != nil {
			return nil, err
		}
		opts.Key = key
	}
	remote := opts.ServerURL
	if remote == "" {
		s, err := LoadSettings(opts.DataDir)
		if err != nil {
			opts.Log.Warn("settings unreadable; using the embedded server", "err", err)
		}
		remote = s.ServerURL
	}
	if remote != "" {
		u, err := NormalizeServerURL(remote)
		if err != nil {
			return nil, err
		}
		remote = u
	}
	d := &Desktop{opts: opts}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.connect(remote)
	return d, nil
}

// DefaultDevice describes this computer: its host name, OS and the app.
func DefaultDevice() api.DesktopDevice {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "Desktop"
	}
	return api.DesktopDevice{Name: name, OS: osName(), App: "qrlogin desktop " + Version}
}

func osName() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	}
	return runtime.GOOS
}

// View returns what the window shows now.
func (d *Desktop) View() View {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.ctrl != nil:
		return d.ctrl.View()
	case d.down != nil:
		return *d.down
	}
	return View{State: ViewLoading, Server: d.info}
}

// Refresh shows a new QR code (see Controller.Refresh); where the embedded
// server had failed, it tries to start it again.
func (d *Desktop) Refresh() {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
	case d.ctrl == nil:
		d.connect(d.info.URL)
	default:
		d.ctrl.Refresh()
	}
}

// Cancel ends the ticket on show (see Controller.Cancel).
func (d *Desktop) Cancel() {
	if c := d.controller(); c != nil {
		c.Cancel()
	}
}

// Logout ends the session (see Controller.Logout).
func (d *Desktop) Logout() {
	if c := d.controller(); c != nil {
		c.Logout()
	}
}

// LogIn asks the phone to let this computer in again (see
// Controller.LogIn).
func (d *Desktop) LogIn() {
	if c := d.controller(); c != nil {
		c.LogIn()
	}
}

// SwitchAccount leaves one-tap login for a QR code (see
// Controller.SwitchAccount).
func (d *Desktop) SwitchAccount() {
	if c := d.controller(); c != nil {
		c.SwitchAccount()
	}
}

func (d *Desktop) controller() *Controller {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ctrl
}

// UseServer switches to the remote server at rawURL, or to the embedded
// server when rawURL is empty, and keeps the choice in the settings. A
// malformed URL is refused and changes nothing. After Close it does nothing.
func (d *Desktop) UseServer(rawURL string) error {
	remote := ""
	if rawURL != "" {
		u, err := NormalizeServerURL(rawURL)
		if err != nil {
			return err
		}
		remote = u
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	if err := SaveSettings(d.opts.DataDir, Settings{ServerURL: remote}); err != nil {
		d.opts.Log.Warn("the server choice could not be kept", "err", err)
	}
	d.stop()
	d.connect(remote)
	return nil
}

// Close stops the log-in and the embedded server, waiting until ctx ends
// for running requests. Closing twice is no error.
func (d *Desktop) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return d.stopCtx(ctx)
}

// stop is stopCtx with a few seconds' grace.
func (d *Desktop) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.stopCtx(ctx); err != nil {
		d.opts.Log.Warn("the embedded server did not stop cleanly", "err", err)
	}
}

// stopCtx stops the controller and the embedded server. d.mu must be held.
func (d *Desktop) stopCtx(ctx context.Context) error {
	if d.ctrl != nil {
		d.ctrl.Close()
		d.ctrl = nil
	}
	if d.node == nil {
		return nil
	}
	err := d.node.Shutdown(ctx)
	d.node = nil
	return err
}

// connect starts using the remote server at base, or the embedded server if
// base is empty, and starts the log-in there. d.mu must be held and nothing
// running.
func (d *Desktop) connect(base string) {
	mode := ModeRemote
	if base == "" {
		mode = ModeEmbedded
		n, err := d.startNode()
		if err != nil {
			d.opts.Log.Error("the embedded server could not start", "err", err)
			d.info = ServerInfo{Mode: ModeEmbedded}
			d.down = &View{State: ViewError, Server: d.info,
				Message: "The embedded server could not start: " + err.Error()}
			d.opts.Emit(EventView, *d.down)
			return
		}
		d.node, base = n, n.URL()
	}
	d.info, d.down = ServerInfo{Mode: mode, URL: base}, nil
	d.opts.Log.Info("using server", "server", base, "mode", mode)
	d.ctrl = NewController(Config{
		Client: client.New(base, client.WithHTTPClient(httpClient()), client.WithOutageLimit(OutageLimit),
			client.WithUserAgent(fmt.Sprintf("qrlogin-desktop/%s (%s)", Version, runtime.GOOS)),
			client.WithDPoP(d.opts.Key)),
		Server: d.info, Vault: d.opts.Vault, Device: d.opts.Device,
		Emit: d.opts.Emit, Log: d.opts.Log, Reconnect: d.opts.Reconnect,
	})
	d.ctrl.Start()
}

// startNode starts the embedded server on loopback.
func (d *Desktop) startNode() (*node.Node, error) {
	cfg := d.opts.Node
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(d.opts.DataDir, "qrlogin.db")
	}
	if cfg.Logger == nil {
		cfg.Logger = d.opts.Log.With("component", "server")
	}
	return node.Start(context.Background(), cfg)
}

// httpClient bounds how long the desktop waits for a server that does not
// answer: long enough for a 25 s long-poll, short enough to say so.
func httpClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 40 * time.Second
	return &http.Client{Transport: t}
}
