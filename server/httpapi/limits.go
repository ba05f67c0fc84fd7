package httpapi

import (
	"time"

	"qrlogin/server"
	"qrlogin/server/ratelimit"
)

// Limits are the per-minute budgets. Zero values take DefaultLimits'.
type Limits struct {
	// Per client IP, for each class of call.
	PerIP float64
	// BurstIP is how many calls of a class one IP may make at once: room for
	// a household (or a test) behind one address.
	BurstIP int
	// Per account, for scans and confirms.
	PerAccount   float64
	BurstAccount int
	// Failures (401, 403, 404) per IP: guessing is cut off after these.
	Failures     float64
	BurstFailure int
	// Logins per username, whatever the IP.
	LoginsPerUser float64
	BurstLogin    int
}

// DefaultLimits: at least 60 ticket creations and scans a minute per IP
// (PROTOCOL.md asks for that much room), at most 30 failures.
var DefaultLimits = Limits{
	PerIP: 600, BurstIP: 200,
	PerAccount: 300, BurstAccount: 150,
	Failures: 30, BurstFailure: 30,
	LoginsPerUser: 30, BurstLogin: 20,
}

// Classes of rate-limited calls.
const (
	classCreate   = "create"
	classScan     = "scan"
	classConfirm  = "confirm"
	classRedeem   = "redeem"
	classLogin    = "login"
	classRegister = "register"
	classWatch    = "watch"
)

type limiters struct {
	off      bool
	perIP    map[string]*ratelimit.Limiter
	account  *ratelimit.Limiter
	login    *ratelimit.Limiter
	failures *ratelimit.Limiter
}

func newLimiters(l Limits, off bool) *limiters {
	d := DefaultLimits
	if l.PerIP == 0 {
		l.PerIP, l.BurstIP = d.PerIP, d.BurstIP
	}
	if l.PerAccount == 0 {
		l.PerAccount, l.BurstAccount = d.PerAccount, d.BurstAccount
	}
	if l.Failures == 0 {
		l.Failures, l.BurstFailure = d.Failures, d.BurstFailure
	}
	if l.LoginsPerUser == 0 {
		l.LoginsPerUser, l.BurstLogin = d.LoginsPerUser, d.BurstLogin
	}
	ls := &limiters{
		off:      off,
		perIP:    map[string]*ratelimit.Limiter{},
		account:  ratelimit.New(l.PerAccount, l.BurstAccount),
		login:    ratelimit.New(l.LoginsPerUser, l.BurstLogin),
		failures: ratelimit.New(l.Failures, l.BurstFailure),
	}
	for _, c := range []string{classCreate, classScan, classConfirm, classRedeem, classLogin, classRegister, classWatch} {
		ls.perIP[c] = ratelimit.New(l.PerIP, l.BurstIP)
	}
	return ls
}

// limited is the rate_limited error, retry saying when to try again.
func limited(retry time.Duration) error {
	e := server.Errorf(server.CodeRateLimited, "too many requests; try again later")
	e.RetryAfter = retry
	return e
}

// ip checks the IP's failure budget and takes one call of class from its
// budget.
func (ls *limiters) ip(class, ip string) error {
	if ls.off {
		return nil
	}
	if blocked, wait := ls.failures.Blocked(ip); blocked {
		return limited(wait)
	}
	if ok, wait := ls.perIP[class].Allow(ip); !ok {
		return limited(wait)
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

// forLogin takes one login from a username's budget.
func (ls *limiters) forLogin(username string) error {
	if ls.off {
		return nil
	}
	if ok, wait := ls.login.Allow(username); !ok {
		return limited(wait)
	}
	return nil
}

// failed charges a failed call to ip.
func (ls *limiters) failed(ip string) {
	if !ls.off {
		ls.failures.Allow(ip)
	}
}
