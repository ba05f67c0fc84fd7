package httpapi

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/ratelimit"
)

// Limits are the server's budgets and caps (docs/security.md explains each
// and what it costs a household or an office). Per-address budgets key IPv4
// addresses one by one and IPv6 addresses by their /64. Each field that is
// zero or negative takes DefaultLimits' value, a rate and its burst each
// on its own.
type Limits struct {
	// PerIP is each class of call's budget per address a minute; BurstIP
	// how many one address may make at once: room for a household (or a
	// test) behind one address.
	PerIP   float64
	BurstIP int
	// PerAccount is an account's budget of scans and confirms a minute.
	PerAccount   float64
	BurstAccount int
	// Failures is an address's guessing budget a minute: failed
	// credentials only (unknown refs, wrong secrets, tokens or passwords).
	Failures     float64
	BurstFailure int
	// LoginsPerUser is a username's budget of failed logins a minute,
	// whatever the address; the name is taken case-folded.
	LoginsPerUser float64
	BurstLogin    int
	// UserCodes is an account's budget a minute of wrong device-grant user
	// codes (RFC 8628 section 5.1), whatever the address; BurstUserCode
	// how many it may get wrong at once.
	UserCodes     float64
	BurstUserCode int
	// UserCodesPerAddress is the same budget for every account behind one
	// address (IPv6: /64) together, so that accounts made for guessing
	// share one.
	UserCodesPerAddress     float64
	BurstUserCodePerAddress int
	// PerCredential is a phone's or a desktop session's budget a minute of
	// authenticated calls (listing sessions, /me, ...).
	PerCredential   float64
	BurstCredential int
	// QRImages is an address's budget of QR images (/q/REF.png|svg) a
	// minute.
	QRImages float64
	BurstQR  int
	// TicketsPerHour is how many tickets one address may create an hour.
	TicketsPerHour float64
	BurstTickets   int
	// MaxPending bounds the tickets this node creates within one
	// rotate-max (the longest a ticket stays pending), whoever asks.
	MaxPending int
	// SocketsPerCredential caps the WebSockets and long-polls open at once
	// on one phone token, desktop session or ticket; SocketsPerAddress
	// those of one address.
	SocketsPerCredential int
	SocketsPerAddress    int
}

// DefaultLimits: at least 60 ticket creations and scans a minute per
// address (docs/protocol.md asks for that much room), at most 30 failures.
var DefaultLimits = Limits{
	PerIP: 600, BurstIP: 200,
	PerAccount: 300, BurstAccount: 150,
	Failures: 30, BurstFailure: 30,
	LoginsPerUser: 10, BurstLogin: 10,
	// 5 wrong user codes at once, then one every 2 minutes: 5 per 10
	// minutes, 720 a day. User codes are 8 letters of 20, 20^8 ≈ 2.56e10
	// of them; while N are live, each guess hits one with odds N/2.56e10,
	// so a day of this budget hits with odds at most 720·N/2.56e10: 2.8e-6
	// for N = 100, 2.8e-4 for N = 10,000 (docs/security.md, "Device
	// grant"). The accounts of one address share 20 at once, then 2 a
	// minute: 2,880 a day, odds at most 1.1e-5 for N = 100, 1.1e-3 for
	// N = 10,000.
	UserCodes: 0.5, BurstUserCode: 5,
	UserCodesPerAddress: 2, BurstUserCodePerAddress: 20,
	PerCredential: 120, BurstCredential: 60,
	QRImages: 120, BurstQR: 30,
	TicketsPerHour: 3600, BurstTickets: 600, // 60 a minute sustained (docs/protocol.md's floor)
	MaxPending:           200_000,
	SocketsPerCredential: 8,
	SocketsPerAddress:    256,
}

// Classes of rate-limited calls, each with its budget per address.
const (
	classCreate   = "create"
	classScan     = "scan"
	classConfirm  = "confirm"
	classRedeem   = "redeem"
	classLogin    = "login"
	classRegister = "register"
	classWatch    = "watch"
	classAccount  = "account" // authenticated calls of phones and desktop sessions
	classQR       = "qr"      // QR images
)

// limiters holds every budget and cap of one handler.
type limiters struct {
	off        bool
	perIP      map[string]*ratelimit.Limiter
	account    *ratelimit.Limiter
	login      *ratelimit.Limiter
	userCodes  *ratelimit.Limiter // by account
	userCodeIP *ratelimit.Limiter // by address
	failures   *ratelimit.Limiter
	credential *ratelimit.Limiter
	ticketsHr  *ratelimit.Limiter
	pending    *rate.Limiter
	sockets    sockets
}

func newLimiters(l Limits, off bool, rotateMax time.Duration) *limiters {
	d := DefaultLimits
	pick := func(v *float64, b *int, dv float64, db int) {
		if *v <= 0 {
			*v = dv
		}
		if *b <= 0 {
			*b = db
		}
	}
	pick(&l.PerIP, &l.BurstIP, d.PerIP, d.BurstIP)
	pick(&l.PerAccount, &l.BurstAccount, d.PerAccount, d.BurstAccount)
	pick(&l.Failures, &l.BurstFailure, d.Failures, d.BurstFailure)
	pick(&l.LoginsPerUser, &l.BurstLogin, d.LoginsPerUser, d.BurstLogin)
	pick(&l.UserCodes, &l.BurstUserCode, d.UserCodes, d.BurstUserCode)
	pick(&l.UserCodesPerAddress, &l.BurstUserCodePerAddress, d.UserCodesPerAddress, d.BurstUserCodePerAddress)
	pick(&l.PerCredential, &l.BurstCredential, d.PerCredential, d.BurstCredential)
	pick(&l.QRImages, &l.BurstQR, d.QRImages, d.BurstQR)
	pick(&l.TicketsPerHour, &l.BurstTickets, d.TicketsPerHour, d.BurstTickets)
	if l.MaxPending <= 0 {
		l.MaxPending = d.MaxPending
	}
	if l.SocketsPerCredential <= 0 {
		l.SocketsPerCredential = d.SocketsPerCredential
	}
	if l.SocketsPerAddress <= 0 {
		l.SocketsPerAddress = d.SocketsPerAddress
	}
	ls := &limiters{
		off:        off,
		perIP:      map[string]*ratelimit.Limiter{},
		account:    ratelimit.New(l.PerAccount, l.BurstAccount),
		login:      ratelimit.New(l.LoginsPerUser, l.BurstLogin),
		userCodes:  ratelimit.New(l.UserCodes, l.BurstUserCode),
		userCodeIP: ratelimit.New(l.UserCodesPerAddress, l.BurstUserCodePerAddress),
		failures:   ratelimit.New(l.Failures, l.BurstFailure),
		credential: ratelimit.New(l.PerCredential, l.BurstCredential),
		ticketsHr:  ratelimit.New(l.TicketsPerHour/60, l.BurstTickets),
		// A bucket of MaxPending refilled over one rotate-max: about
		// MaxPending tickets can be pending at once.
		pending: rate.NewLimiter(rate.Limit(float64(l.MaxPending)/rotateMax.Seconds()), l.MaxPending),
		sockets: sockets{perCredential: l.SocketsPerCredential, perAddress: l.SocketsPerAddress, open: map[string]int{}},
	}
	for _, c := range []string{classCreate, classScan, classConfirm, classRedeem, classLogin, classRegister, classWatch, classAccount} {
		ls.perIP[c] = ratelimit.New(l.PerIP, l.BurstIP)
	}
	ls.perIP[classQR] = ratelimit.New(l.QRImages, l.BurstQR)
	return ls
}

// addrKey is the key of ip's per-address budgets: an IPv4 address, or the
// /64 of an IPv6 address (one subscriber's usual allocation, which a client
// can fill with addresses at will).
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// limited is the rate_limited error, retry saying when to try again.
func limited(retry time.Duration) error {
	e := server.Errorf(server.CodeRateLimited, "too many requests; try again later")
	e.RetryAfter = retry
	return e
}

// ip checks the address's failure budget and takes one call of class from
// its budget.
func (ls *limiters) ip(class, ip string) error {
	if ls.off {
		return nil
	}
	key := addrKey(ip)
	if blocked, wait := ls.failures.Blocked(key); blocked {
		return limited(wait)
	}
	if ok, wait := ls.perIP[class].Allow(key); !ok {
		return limited(wait)
	}
	return nil
}

// ticketBudgets takes one ticket from the address's hourly budget and from
// the node's pending cap; a caller that can tell a malformed request first
// calls it once the request is valid. A full node refuses before the
// address's budget is spent.
func (ls *limiters) ticketBudgets(ip string) error {
	if ls.off {
		return nil
	}
	full := func() error {
		e := server.Errorf(server.CodeRateLimited, "the server holds too many QR codes at the moment; try again in a minute")
		e.RetryAfter = time.Minute
		return e
	}
	if ls.pending.Tokens() < 1 {
		return full()
	}
	if ok, wait := ls.ticketsHr.Allow(addrKey(ip)); !ok {
		return limited(wait)
	}
	if !ls.pending.Allow() { // drained by another caller since the look
		return full()
	}
	return nil
}

// forAccount takes one call from an account's budget (scans, confirms).
func (ls *limiters) forAccount(userID string) error {
	if ls.off {
		return nil
	}
	if ok, wait := ls.account.Allow(userID); !ok {
		return limited(wait)
	}
	return nil
}

// forCredential takes one call from a phone's or a session's budget of
// authenticated calls; key names the credential (a device or session id).
func (ls *limiters) forCredential(key string) error {
	if ls.off {
		return nil
	}
	if ok, wait := ls.credential.Allow(key); !ok {
		return limited(wait)
	}
	return nil
}

// charge is a failure reserved from one or more budgets until the call
// that may fail is judged.
type charge []*ratelimit.Reservation

// settle keeps the reserved failures if failed, else gives them back.
func (c charge) settle(failed bool) {
	for _, r := range c {
		if failed {
			r.Keep()
		} else {
			r.Refund()
		}
	}
}

// reserveWait is the longest a call waits for other calls from its address
// to be judged when their reservations hold the whole guessing budget.
const reserveWait = 3 * time.Second

// reserveFailure reserves one failure from the address's guessing budget
// and, if username is not "", from that (canonical) username's: before the
// credential is checked, so that concurrent calls cannot overdraw either.
func (ls *limiters) reserveFailure(ctx context.Context, ip, username string) (charge, error) {
	if ls.off {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reserveWait)
	defer cancel()
	r, wait := ls.failures.Reserve(ctx, addrKey(ip))
	if r == nil {
		return nil, limited(wait)
	}
	c := charge{r}
	if username != "" {
		u, wait := ls.login.Reserve(ctx, username)
		if u == nil {
			r.Refund()
			return nil, limited(wait)
		}
		c = append(c, u)
	}
	return c, nil
}

// reserveUserCode reserves one wrong user code from the account userID's
// budget and from the address ip's, before a device grant's user code is
// looked up (on top of the address's guessing budget, which the lookup
// spends too, through Handler.checked); the caller settles it as
// credentialFailure judges the lookup.
func (ls *limiters) reserveUserCode(ctx context.Context, userID, ip string) (charge, error) {
	if ls.off {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reserveWait)
	defer cancel()
	var c charge
	for _, b := range []struct {
		l   *ratelimit.Limiter
		key string
	}{{ls.userCodes, userID}, {ls.userCodeIP, addrKey(ip)}} {
		r, wait := b.l.Reserve(ctx, b.key)
		if r == nil {
			c.settle(false)
			return nil, limited(wait)
		}
		c = append(c, r)
	}
	return c, nil
}

// credentialFailure reports whether err, from checking a credential, is a
// failed guess: an unknown ref, ticket or token, a wrong secret, token or
// password. Other errors (expired, conflict, malformed, busy) are not.
func credentialFailure(err error) bool {
	switch server.ErrorCode(err) {
	case server.CodeUnauthorized, server.CodeForbidden, server.CodeNotFound:
		return err != nil
	}
	return false
}

// sockets counts the WebSockets and long-polls open per address and per
// credential.
type sockets struct {
	perCredential, perAddress int

	mu   sync.Mutex
	open map[string]int
}

// take opens one socket of key, whose cap is limit. It returns a release
// func, or false (and takes nothing) if the cap is reached.
func (s *sockets) take(key string, limit int) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= limit {
		return nil, false
	}
	s.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[key]--; s.open[key] <= 0 {
				delete(s.open, key)
			}
		})
	}, true
}

// errTooManySockets is the answer to an upgrade or long-poll over a cap.
func errTooManySockets(whose string) error {
	e := server.Errorf(server.CodeRateLimited, "too many open connections %s; close some first", whose)
	e.RetryAfter = 10 * time.Second
	return e
}

// addressSocket takes a socket slot of ip's address, or returns the
// rate_limited error to answer.
func (ls *limiters) addressSocket(ip string) (func(), error) {
	if ls.off {
		return func() {}, nil
	}
	release, ok := ls.sockets.take("a "+addrKey(ip), ls.sockets.perAddress)
	if !ok {
		return nil, errTooManySockets("from this address")
	}
	return release, nil
}

// credentialSocket takes a socket slot of a credential (a ticket, session
// or device, named by kind and id), or returns the rate_limited error.
func (ls *limiters) credentialSocket(kind, id string) (func(), error) {
	if ls.off {
		return func() {}, nil
	}
	release, ok := ls.sockets.take(kind+" "+id, ls.sockets.perCredential)
	if !ok {
		return nil, errTooManySockets("on this " + kind)
	}
	return release, nil
}
