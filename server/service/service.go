// Package service implements the scan-to-log-in protocol's rules
// (docs/protocol.md) on a server.Store, and fans its events out through
// in-process hubs. It knows nothing of HTTP: callers pass what they learned
// from the request (client IP, user agent, credentials).
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
)

// MatchPolicy says when approving a scan also needs the desktop's code.
type MatchPolicy string

// The match policies of -match.
const (
	MatchNever  MatchPolicy = "never"
	MatchRisky  MatchPolicy = "risky"
	MatchAlways MatchPolicy = "always"
)

// Config holds the protocol's knobs. Zero durations take the defaults.
type Config struct {
	// BaseURL is the public base URL put in QR payloads.
	BaseURL string
	// Aliases are other base URLs the server is known by (another name,
	// an address on the LAN): requests for their hosts are served, pages
	// from their origins may call the API, and QR payloads naming them
	// scan. Payloads naming any other host are refused.
	Aliases     []string
	TicketTTL   time.Duration // life of a ref, a scan token, a confirmed ticket; 60 s
	RotateEvery time.Duration // QR replacement period while watched; 20 s
	RotateMax   time.Duration // life of a watched ticket; 5 min
	SessionTTL  time.Duration // life of a desktop session; 30 days
	// EnrollmentTTL: a desktop enrolled for one-tap login and unused that
	// long lapses (30 days).
	EnrollmentTTL time.Duration
	Match         MatchPolicy // risky
	// OpenRegistration lets anyone create an account.
	OpenRegistration bool
	Password         server.PasswordParams // server.DefaultPasswordParams
	// HashesInFlight bounds the password hashes computed at once (each
	// takes Password.Memory): runtime.NumCPU() by default. A call that
	// finds them all busy waits up to HashWait (1 s), then gets
	// rate_limited.
	HashesInFlight int
	HashWait       time.Duration
	Now            func() time.Time // time.Now
	Logger         *slog.Logger     // slog.Default()
	Metrics        Metrics          // no-op
	// Apps is the open platform (provider.Apps); nil for none.
	Apps Apps
	// Bus carries events to the other nodes of a cluster; nil for a
	// single node.
	Bus Bus
}

// Apps links tickets to third-party apps (the open platform). A server
// without one has only its own desktop tickets.
type Apps interface {
	// App describes the app that ticket id logs in to, or returns nil for a
	// ticket of the server's own desktop.
	App(ctx context.Context, ticketID string) (*api.App, error)
	// RefForUserCode returns the ref of the device-grant ticket whose user
	// code is code; server.ErrNotFound if there is none.
	RefForUserCode(ctx context.Context, code string) (string, error)
	// PhoneLoggedOut ends what the phone d approved for apps, as its
	// logout ends the desktop sessions it approved.
	PhoneLoggedOut(ctx context.Context, d server.Device) error
}

// Metrics receives what the service measures. Any method may be a no-op.
type Metrics interface {
	// Transition counts a ticket entering state.
	Transition(state server.State)
}

type noMetrics struct{}

func (noMetrics) Transition(server.State) {}

func (c *Config) setDefaults() error {
	if c.TicketTTL == 0 {
		c.TicketTTL = 60 * time.Second
	}
	if c.RotateEvery == 0 {
		c.RotateEvery = 20 * time.Second
	}
	if c.RotateMax == 0 {
		c.RotateMax = 5 * time.Minute
	}
	if c.EnrollmentTTL == 0 {
		c.EnrollmentTTL = 30 * 24 * time.Hour
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 30 * 24 * time.Hour
	}
	if c.Match == "" {
		c.Match = MatchRisky
	}
	if c.Password == (server.PasswordParams{}) {
		c.Password = server.DefaultPasswordParams
	}
	if c.HashesInFlight == 0 {
		c.HashesInFlight = runtime.NumCPU()
	}
	if c.HashWait == 0 {
		c.HashWait = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = noMetrics{}
	}
	switch {
	case c.Match != MatchNever && c.Match != MatchRisky && c.Match != MatchAlways:
		return fmt.Errorf("match policy %q: want never, risky or always", c.Match)
	case c.TicketTTL < 0 || c.RotateEvery < 0 || c.RotateMax < 0 || c.SessionTTL < 0 || c.EnrollmentTTL < 0:
		return errors.New("durations must be positive")
	case c.RotateEvery >= c.TicketTTL:
		return fmt.Errorf("rotate-every (%s) must be shorter than ticket-ttl (%s), or refs expire before they are replaced", c.RotateEvery, c.TicketTTL)
	case c.RotateMax < c.TicketTTL:
		return fmt.Errorf("rotate-max (%s) must be at least ticket-ttl (%s)", c.RotateMax, c.TicketTTL)
	case c.BaseURL == "":
		return errors.New("a base URL is required")
	}
	for _, b := range append([]string{c.BaseURL}, c.Aliases...) {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", b)
		}
	}
	return nil
}

// TicketMsg is an event for the desktop watching a ticket. At is when the
// request that caused it arrived (zero for timers), for latency metrics.
type TicketMsg struct {
	Event api.TicketEvent
	At    time.Time
}

// UserMsg is an event for an account's phones; the device whose ID is
// Except (the one that caused it) does not get it.
type UserMsg struct {
	Event  api.MobileEvent
	Except string
}

// Service is the protocol. Its methods are safe for concurrent use.
type Service struct {
	cfg   Config
	store server.Store
	log   *slog.Logger

	// Tickets carries TicketMsg by ticket id, Sessions api.SessionEvent by
	// session id, Users UserMsg by user id.
	Tickets  *hub.Hub[TicketMsg]
	Sessions *hub.Hub[api.SessionEvent]
	Users    *hub.Hub[UserMsg]

	rot  rotator
	refs refSealer
	apps Apps // cfg.Apps
	bus  Bus  // cfg.Bus

	profiles profiles

	// dummyHash is checked against on a login for an unknown username, so
	// that such a login takes as long as one with a wrong password.
	dummyHash string
	// bases are the normalized base URL and aliases (normalBase).
	bases map[string]bool
	// hashes holds a token per password hash being computed.
	hashes chan struct{}

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New returns a Service on store. Start its timers with Run.
func New(store server.Store, cfg Config) (*Service, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:       cfg,
		store:     store,
		log:       cfg.Logger,
		apps:      cfg.Apps,
		bus:       cfg.Bus,
		Tickets:   hub.New[TicketMsg](),
		Sessions:  hub.New[api.SessionEvent](),
		Users:     hub.New[UserMsg](),
		dummyHash: cfg.Password.HashPassword(server.NewSecret()),
		hashes:    make(chan struct{}, cfg.HashesInFlight),
		stop:      make(chan struct{}),
		profiles:  newProfiles(),
	}
	s.bases = map[string]bool{}
	for _, b := range append([]string{cfg.BaseURL}, cfg.Aliases...) {
		s.bases[normalBase(b)] = true
	}
	var err error
	if s.refs, err = loadRefSealer(store); err != nil {
		return nil, err
	}
	s.rot.init(s)
	return s, nil
}

// Config returns the configuration in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Store returns the service's store.
func (s *Service) Store() server.Store { return s.store }

// Run drives expiry and clean-up until Close: it expires due tickets (and
// tells their watchers) every sweep interval, and deletes tickets, desktop
// sessions and revoked devices that ended more than an hour ago.
func (s *Service) Run() {
	s.wg.Go(func() {
		sweep := time.NewTicker(sweepEvery)
		defer sweep.Stop()
		lastPurge := s.cfg.Now()
		for {
			select {
			case <-s.stop:
				return
			case <-sweep.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.expireDue(ctx)
			if now := s.cfg.Now(); now.Sub(lastPurge) > time.Minute {
				lastPurge = now
				if n, err := s.store.DeleteTicketsBefore(ctx, now.Add(-time.Hour)); err != nil {
					s.log.Error("purge old tickets", "err", err)
				} else if n > 0 {
					s.log.Debug("purged old tickets", "count", n)
				}
				s.purgeSessions(ctx, now.Add(-time.Hour))
			}
			cancel()
		}
	})
}

// sweepEvery is how often due tickets are looked for: the most a watcher
// waits past a deadline to be told "expired".
const sweepEvery = 200 * time.Millisecond

// Close stops the timers and ends every subscription, so that sockets are
// told and closed. It does not close the store.
func (s *Service) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.rot.close()
		s.wg.Wait()
		s.Tickets.Close()
		s.Sessions.Close()
		s.Users.Close()
	})
}

// expireDue moves every ticket whose deadline passed to expired.
func (s *Service) expireDue(ctx context.Context) {
	for {
		due, err := s.store.DueTickets(ctx, s.cfg.Now(), 500)
		if err != nil {
			s.log.Error("due tickets", "err", err)
			return
		}
		for _, t := range due {
			s.expire(ctx, t.ID)
		}
		if len(due) < 500 {
			return
		}
	}
}

// expire moves ticket id to expired if its deadline has passed, and tells its
// watcher.
func (s *Service) expire(ctx context.Context, id string) {
	now := s.cfg.Now()
	t, err := s.store.UpdateTicket(ctx, id, func(t *server.Ticket) (*server.Session, error) {
		if !t.Expired(now) {
			return nil, server.ErrConflict
		}
		t.State, t.UpdatedAt = server.StateExpired, now
		return nil, nil
	})
	if err != nil {
		if server.ErrorCode(err) == server.CodeInternal {
			s.log.Error("expire ticket", "err", err)
		}
		return
	}
	s.publishState(t, time.Time{})
}

// sameNetwork reports whether two client addresses share an IPv4 /24 or an
// IPv6 /64. Unparseable addresses never match.
func sameNetwork(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil {
		return false
	}
	x, y = x.Unmap(), y.Unmap()
	if x.Is4() != y.Is4() {
		return false
	}
	bits := 64
	if x.Is4() {
		bits = 24
	}
	px, _ := x.Prefix(bits)
	py, _ := y.Prefix(bits)
	return px == py
}
