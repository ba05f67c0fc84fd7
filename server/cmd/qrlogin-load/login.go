package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// phone is a logged-in mobile of the pool that scans and confirms.
type phone struct {
	creds
	ep *endpoint
}

// setupPhones registers n accounts and logs a phone in to each, a few at a
// time (each costs the server two password hashes).
func (l *loader) setupPhones(ctx context.Context, n int) ([]phone, error) {
	var idb [4]byte
	rand.Read(idb[:])
	run := hex.EncodeToString(idb[:])
	phones := make([]phone, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range phones {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			phones[i], errs[i] = l.newPhone(ctx, l.eps[i%len(l.eps)], run, i)
		}()
	}
	wg.Wait()
	return phones, errors.Join(errs...)
}

func (l *loader) newPhone(ctx context.Context, ep *endpoint, run string, i int) (phone, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var pw [12]byte
	rand.Read(pw[:])
	password := hex.EncodeToString(pw[:])
	username := fmt.Sprintf("load%s_%d", run, i)
	err := call(ctx, 0, ep.hc, http.MethodPost, l.nodes.base()+api.PathAccounts, creds{},
		api.RegisterRequest{Username: username, Password: password, DisplayName: fmt.Sprintf("Load Phone %d", i)}, nil)
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusForbidden {
		return phone{}, fmt.Errorf("registering phone %d: 403: the server's registration is closed; the tool needs -open-registration", i)
	}
	if errors.As(err, &he) && he.status == http.StatusTooManyRequests {
		return phone{}, fmt.Errorf("registering phone %d: 429: rate-limited; start the server with -no-rate-limits", i)
	}
	if err != nil {
		return phone{}, fmt.Errorf("registering phone %d: %w", i, err)
	}
	var lr api.MobileLoginResponse
	err = call(ctx, 0, ep.hc, http.MethodPost, l.nodes.base()+api.PathMobileLogin, creds{}, api.MobileLoginRequest{
		Username: username, Password: password,
		Device: api.MobileDevice{ID: fmt.Sprintf("load-%s-%d", run, i), Name: "Load Phone", Platform: "qrlogin-load"},
	}, &lr)
	if err != nil {
		return phone{}, fmt.Errorf("logging phone %d in: %w", i, err)
	}
	return phone{creds: creds{bearer: lr.DeviceToken, deviceID: lr.DeviceID}, ep: ep}, nil
}

// desk is the desktop side of one login as the phone side sees it: the
// events its watcher received, in order.
type desk struct {
	evs  chan event
	err  error  // the watcher's error; read only once evs is closed
	qr   string // the QR payload shown now
	done chan struct{}
	t    *time.Timer // for next and rotatedWithin, made once
}

// timer returns d's timer, (re)started for dl.
func (d *desk) timer(dl time.Duration) *time.Timer {
	if d.t == nil {
		d.t = time.NewTimer(dl)
	} else {
		d.t.Reset(dl) // no stale tick since Go 1.23
	}
	return d.t
}

// next returns the next state event, within d, noting the QRs of rotated
// events it passes. A watcher that ended or a timeout is an error of kind
// timeoutKind or the watcher's.
func (d *desk) next(dl time.Duration, timeoutKind string) (event, error) {
	t := d.timer(dl)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-d.evs:
			if !ok {
				if d.err == nil {
					return event{}, kindError("watch:ended_early")
				}
				return event{}, d.err
			}
			if ev.Type == api.EventRotated {
				d.qr = ev.QRPayload
				continue
			}
			return ev, nil
		case <-t.C:
			return event{}, kindError(timeoutKind)
		}
	}
}

// rotatedWithin waits up to dl for a rotated event (a newer QR) and reports
// whether the QR changed since was.
func (d *desk) rotatedWithin(dl time.Duration, was string) bool {
	t := d.timer(dl)
	defer t.Stop()
	for d.qr == was {
		select {
		case ev, ok := <-d.evs:
			if !ok {
				return false
			}
			if ev.Type == api.EventRotated {
				d.qr = ev.QRPayload
			} else {
				return false // a state change: no new QR will come
			}
		case <-t.C:
			return false
		}
	}
	return true
}

// login runs one whole login, n-th of the run, planned to start at planned:
// a desktop asks for a ticket and watches it, a phone of the pool scans it
// and approves, the desktop gets each push and redeems. A failure is
// counted under its kind; a success adds the latencies.
func (l *loader) login(ctx context.Context, n int64, planned time.Time) {
	defer l.inflight.Add(-1)
	if err := l.loginOnce(ctx, n, planned); err != nil {
		if ctx.Err() != nil {
			if !l.stopping.Load() {
				l.errs.Add("interrupted")
			}
			return // cut off by the drain timeout (counted there) or a signal
		}
		l.errs.Add(kindOf("login", err))
		if l.cfg.Verbose {
			l.logf("login %d: %v", n, err)
		}
		return
	}
	l.logins.Add(1)
}

func (l *loader) loginOnce(ctx context.Context, n int64, planned time.Time) error {
	ep := l.eps[int(n%int64(len(l.eps)))]
	ph := l.phones[int(n%int64(len(l.phones)))]
	lp := longPollSlot(int(n), l.cfg.LongPoll)
	ctx, cancel := context.WithTimeout(ctx, l.cfg.LoginTimeout)
	defer cancel()

	t, err := l.createTicket(ctx, ep)
	if err != nil {
		return err
	}
	// A login's desktop gets three state events, and a rotated one now
	// and then: a few slots keep the watcher from waiting on this side.
	d := &desk{evs: make(chan event, 8), qr: t.QRPayload, done: make(chan struct{})}
	wnode := -1 // the node holding the desktop's WebSocket
	if !lp {
		wnode = l.nodes.pick()
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer func() { wcancel(); <-d.done }()
	l.workers.run(func() {
		defer close(d.done)
		defer close(d.evs)
		// The desktop stops watching at confirmed and redeems, as the Go
		// client does.
		d.err = l.watch(wctx, ep, t, lp, wnode, func(ev event) bool {
			select {
			case d.evs <- ev:
			case <-wctx.Done():
				return true
			}
			return ev.Type == api.EventState && ev.State != server.StatePending && ev.State != server.StateScanned
		})
	})

	ev, err := d.next(l.cfg.PushTimeout, "watch_timeout")
	if err != nil {
		return err
	}
	if ev.State != server.StatePending {
		return kindError("unexpected_state:" + ev.State)
	}

	// The phone scans what the desktop shows. Should the server replace
	// the QR between the look and the scan (410), scan the new one, as a
	// person would.
	var sr struct { // what the tool uses of an api.ScanResponse
		ScanToken     string `json:"scan_token"`
		MatchRequired bool   `json:"match_required"`
	}
	var scanStart time.Time
	for attempt := 0; ; attempt++ {
		shown := d.qr
		scanStart = time.Now()
		err = call(ctx, l.cfg.RequestTimeout, ph.ep.hc, http.MethodPost, l.nodes.base()+api.PathMobileScan, ph.creds, api.ScanRequest{QRPayload: shown}, &sr)
		var he *httpError
		if err != nil && errors.As(err, &he) && he.status == http.StatusGone && attempt < 3 && d.rotatedWithin(2*time.Second, shown) {
			l.rescans.Add(1)
			continue
		}
		if err != nil {
			return &stepError{"scan", err}
		}
		break
	}
	if ev, err = d.next(l.cfg.PushTimeout, "scan_push_timeout"); err != nil {
		return err
	}
	if ev.State != server.StateScanned {
		return kindError("unexpected_state:" + ev.State)
	}
	scanPush := ev.at.Sub(scanStart)

	code := ""
	if sr.MatchRequired {
		code = t.MatchCode // the person reads it off the desktop
	}
	approve := true
	var sb api.StateBody
	cnode := l.nodes.pick()
	confirmStart := time.Now()
	err = call(ctx, l.cfg.RequestTimeout, ph.ep.hc, http.MethodPost, l.nodes.bases[cnode]+api.PathMobileConfirm, ph.creds,
		api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &approve, MatchCode: code}, &sb)
	if err != nil {
		return &stepError{"confirm", err}
	}
	if ev, err = d.next(l.cfg.PushTimeout, "push_timeout"); err != nil {
		return err
	}
	if ev.State != server.StateConfirmed {
		return kindError("unexpected_state:" + ev.State)
	}
	push := ev.at.Sub(confirmStart)

	var rr struct { // what the tool uses of an api.RedeemResponse
		SessionToken string `json:"session_token"`
	}
	err = call(ctx, l.cfg.RequestTimeout, ep.hc, http.MethodPost, l.nodes.base()+api.PathTickets+"/"+t.Ref+"/redeem", creds{bearer: t.PollSecret}, nil, &rr)
	if err != nil {
		return &stepError{"redeem", err}
	}
	if rr.SessionToken == "" {
		return kindError("redeem:no_token")
	}
	l.scanPush.Add(scanPush)
	l.push.Add(push)
	kind := "ws"
	var cross *bool
	if lp {
		kind = "longpoll"
		l.pushLP.Add(push)
	} else {
		l.pushWS.Add(push)
		if len(l.nodes.bases) > 1 {
			cross = new(cnode != wnode)
			if *cross {
				l.pushCross.Add(push)
			} else {
				l.pushSame.Add(push)
			}
		}
	}
	if l.cfg.Samples != nil {
		l.samples.add(kind, "scanned", scanPush, nil)
		l.samples.add(kind, "confirmed", push, cross)
	}
	l.loginLat.Add(time.Since(planned))
	return nil
}
