package desktop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/client"
)

// Config configures a Controller.
type Config struct {
	Client *client.Client
	Server ServerInfo
	Vault  Vault
	// Device is what the phone is shown of this desktop.
	Device api.DesktopDevice
	// Emit receives EventView and the new View on every change, in order.
	// It is called with the controller's lock held: it must not block or
	// call back into the controller.
	Emit func(event string, data ...any)
	Log  *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Reconnect is the first wait before the session channel is opened
	// again after it dropped; it doubles up to a minute (1 s if zero).
	Reconnect time.Duration
	// Retry is how long the unreachable view waits before it starts over
	// on its own (5 s if zero); the window's retry click does it at once.
	Retry time.Duration
}

// OutageLimit is how long the desktop's client rides out a server that went
// away under a shown QR code (a restart, a node behind a balancer) before
// the window says the server is unreachable; see client.WithOutageLimit.
const OutageLimit = 5 * time.Second

// Controller runs the log-in of one desktop against one server: it shows a
// QR code, follows the ticket, redeems it, keeps and watches the session,
// and goes back to a QR code when the session ends. Its methods are safe
// for concurrent use and return at once; what follows shows in the View.
//
// Work runs in phases, one at a time, each on a goroutine of its own: a
// method that starts a phase cancels the running one, whose later changes
// are then dropped.
type Controller struct {
	cfg Config

	mu      sync.Mutex
	view    View
	gen     uint64             // the running phase's number
	stop    context.CancelFunc // cancels the running phase
	ticket  *api.CreateTicketResponse
	request *api.DesktopLoginResponse // the one-tap request on show (one_tap_waiting)
	session *Saved
	// account is the account this desktop's key was last seen enrolled
	// for (the one-tap views); nil if none.
	account *OneTap
	// qrOnly is set by SwitchAccount: until the next sign-in, a log-out
	// shows the QR code, not the one-tap view.
	qrOnly bool
	closed bool
	wg     sync.WaitGroup
}

// NewController returns a Controller in the loading state; Start begins.
func NewController(cfg Config) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Reconnect <= 0 {
		cfg.Reconnect = time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 5 * time.Second
	}
	if cfg.Emit == nil {
		cfg.Emit = func(string, ...any) {}
	}
	return &Controller{cfg: cfg, view: View{State: ViewLoading, Server: cfg.Server}}
}

// View returns what the window shows now.
func (c *Controller) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view
}

// Start signs in with the saved session if the server still accepts it, and
// otherwise shows the one-tap view if this desktop's key is enrolled, else
// a new QR code.
func (c *Controller) Start() { c.run(nil, c.start) }

// Refresh starts over as Start does, unless signed in: the window's "new QR
// code" and "retry" clicks.
func (c *Controller) Refresh() {
	c.run(func() bool { return c.session == nil }, c.start)
}

// Cancel ends the ticket on show (pending or scanned) and shows cancelled;
// while a one-tap request waits, it ends the request and shows the one-tap
// view again.
func (c *Controller) Cancel() {
	var t *api.CreateTicketResponse
	var r *api.DesktopLoginResponse
	var acct *OneTap
	showing := func() bool {
		t, r, acct = c.ticket, c.request, c.account
		return t != nil && (c.view.State == ViewPending || c.view.State == ViewScanned) ||
			r != nil && acct != nil && c.view.State == ViewOneTapWaiting
	}
	c.run(showing, func(p *phase) {
		if r != nil {
			c.cancelRequest(p, r)
			p.set(View{State: ViewOneTap, OneTap: acct})
			return
		}
		if err := c.cfg.Client.Cancel(p.ctx, t.Ref, t.PollSecret); err != nil && p.ctx.Err() == nil {
			c.cfg.Log.Warn("cancel", "err", err)
		}
		p.update(func(v *View) { v.State = ViewCancelled; v.Scanner = nil; v.Message = "" })
	})
}

// Logout ends the session (on the server too, if it can be reached),
// forgets it, and shows the one-tap view if this desktop's key is enrolled,
// else a new QR code.
func (c *Controller) Logout() {
	var s *Saved
	signedIn := func() bool {
		s = c.session
		return s != nil
	}
	c.run(signedIn, func(p *phase) {
		p.set(View{State: ViewLoading, Message: "Logging out…"})
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		if err := c.cfg.Client.Logout(ctx, s.Token); err != nil && !errors.Is(err, server.ErrUnauthorized) {
			c.cfg.Log.Warn("logout: the server was not told", "err", err)
		}
		cancel()
		c.forget()
		c.loggedOut(p, "", "")
	})
}

// Close stops the running phase and waits for it. The controller does
// nothing afterwards.
func (c *Controller) Close() {
	c.mu.Lock()
	c.closed = true
	if c.stop != nil {
		c.stop()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// run cancels the running phase and starts fn as the next one, unless ok
// (if not nil), called with the lock held, says no.
func (c *Controller) run(ok func() bool, fn func(p *phase)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || (ok != nil && !ok()) {
		return
	}
	if c.stop != nil {
		c.stop()
	}
	c.gen++
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.ticket, c.request, c.session = nil, nil, nil
	p := &phase{c: c, gen: c.gen, ctx: ctx}
	c.wg.Go(func() {
		defer cancel()
		fn(p)
	})
}

// forget clears the saved session.
func (c *Controller) forget() {
	if err := c.cfg.Vault.Clear(); err != nil {
		c.cfg.Log.Warn("the saved session could not be removed", "err", err)
	}
}

// phase is one run of work. Its changes apply only while it is the running
// phase.
type phase struct {
	c   *Controller
	gen uint64
	ctx context.Context
}

// set shows v (with the server filled in) and reports whether the phase is
// still the running one.
func (p *phase) set(v View) bool {
	return p.update(func(cur *View) { *cur = v })
}

// update changes the view by fn, emits it, and logs state changes. It
// reports false, changing nothing, once the phase is no longer running.
func (p *phase) update(fn func(*View)) bool {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.gen != c.gen || c.closed {
		return false
	}
	prev := c.view.State
	fn(&c.view)
	c.view.Server = c.cfg.Server
	if c.view.State != prev {
		c.cfg.Log.Info("view", "state", c.view.State)
	}
	c.cfg.Emit(EventView, c.view)
	return true
}

// with runs fn with the lock held if the phase is still running.
func (p *phase) with(fn func(c *Controller)) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.gen == p.c.gen {
		fn(p.c)
	}
}

// fail shows err: unreachable when the server did not answer, error when it
// refused. A cancelled phase shows nothing. Unreachable starts over on its
// own after Config.Retry, for as long as the phase is still the running one.
func (p *phase) fail(what string, err error) {
	if p.ctx.Err() != nil {
		return
	}
	p.c.cfg.Log.Warn(what, "err", err)
	var se *server.Error
	if !errors.As(err, &se) || errors.Is(err, client.ErrUnavailable) {
		c := p.c
		p.set(View{State: ViewUnreachable, Message: fmt.Sprintf("No answer from %s. Check your connection, or that the server is running. Trying again every %v.",
			c.cfg.Server.URL, c.cfg.Retry)})
		if p.sleep(c.cfg.Retry) {
			c.run(func() bool { return p.gen == c.gen }, c.start)
		}
		return
	}
	msg := "The server could not " + what + ": " + server.ErrorMessage(se) + "."
	if se.Code == server.CodeRateLimited && se.RetryAfter > 0 {
		msg = fmt.Sprintf("Too many attempts: try again in %d s.", int(se.RetryAfter.Round(time.Second)/time.Second))
	}
	p.set(View{State: ViewError, Message: msg})
}

// sleep waits d or until the phase is cancelled, and reports whether it is
// still running.
func (p *phase) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
