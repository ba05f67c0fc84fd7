package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// CreateTicket starts a ticket for a desktop. The server chooses every ref
// and secret; what the request names is only the device's labels. d carries
// what the server saw of the request (IP, user agent).
func (s *Service) CreateTicket(ctx context.Context, req api.CreateTicketRequest, d server.Desktop) (api.CreateTicketResponse, error) {
	var err error
	if d.Name, err = cleanLabel("device.name", req.Device.Name, maxLabel, false); err != nil {
		return api.CreateTicketResponse{}, err
	}
	if d.OS, err = cleanLabel("device.os", req.Device.OS, maxLabel, false); err != nil {
		return api.CreateTicketResponse{}, err
	}
	if d.App, err = cleanLabel("device.app", req.Device.App, maxLabel, false); err != nil {
		return api.CreateTicketResponse{}, err
	}
	if len(d.UserAgent) > 512 {
		d.UserAgent = d.UserAgent[:512]
	}
	_, resp, err := s.NewTicket(ctx, d, 0, server.AppNone)
	return resp, err
}

// NewTicket starts a ticket for desktop d, whose labels the caller has
// checked, in the open platform's flow (server.AppNone for a desktop's own
// login). A lifetime of 0 gives the protocol's: the pending ticket lives
// TicketTTL, longer while watched (up to RotateMax), and its QR is
// replaced every RotateEvery by a sealed ref (refs.go, rotation.go);
// another lifetime (a device grant's) is the pending ticket's whole life,
// with one ref.
func (s *Service) NewTicket(ctx context.Context, d server.Desktop, lifetime time.Duration, flow server.AppFlow) (server.Ticket, api.CreateTicketResponse, error) {
	now := s.cfg.Now().UTC()
	id, ref, secret := server.NewRef(), server.NewRef(), server.NewSecret()
	if lifetime == 0 { // it rotates: its refs are sealed (refs.go)
		id = newTicketID()
		ref, _ = s.refs.seal(id, 0)
	}
	t := server.Ticket{
		ID:             id,
		Version:        1,
		State:          server.StatePending,
		PollSecretHash: server.HashToken(secret),
		Ref:            ref,
		Desktop:        d,
		CreatedAt:      now,
		ExpiresAt:      now.Add(s.cfg.TicketTTL),
		RotateUntil:    now.Add(s.cfg.RotateMax),
		RotateEvery:    s.cfg.RotateEvery,
		MatchCode:      fmt.Sprintf("%02d", rand.N(100)), // math/rand/v2 is seeded from crypto/rand
		UpdatedAt:      now,
		App:            flow,
	}
	if lifetime > 0 {
		t.ExpiresAt, t.RotateUntil, t.RotateEvery = now.Add(lifetime), now.Add(lifetime), 0
	}
	if err := s.store.CreateTicket(ctx, t); err != nil {
		return t, api.CreateTicketResponse{}, err
	}
	s.cfg.Metrics.Transition(server.StatePending)
	_, exp := s.qr(t, 0)
	return t, api.CreateTicketResponse{
		Ref: ref, PollSecret: secret, QRPayload: api.Payload(s.cfg.BaseURL, ref),
		ExpiresAt: exp, MatchCode: t.MatchCode,
	}, nil
}

// AuthTicket returns the ticket that ref names (any of its refs) if secret is
// its poll secret. No secret is unauthorized; an unknown ref or a wrong
// secret is not_found, so a ref alone tells nothing.
func (s *Service) AuthTicket(ctx context.Context, ref, secret string) (server.Ticket, error) {
	if err := checkCredential(ref, secret); err != nil {
		return server.Ticket{}, err
	}
	t, _, err := s.ticketByRef(ctx, ref)
	if err != nil {
		return server.Ticket{}, err
	}
	if err := checkSecret(t, secret); err != nil {
		return server.Ticket{}, err
	}
	return t, nil
}

// checkCredential answers a desktop's credential that names no ticket
// without a look-up: no secret is unauthorized, a malformed ref not_found.
func checkCredential(ref, secret string) error {
	if secret == "" {
		return server.Errorf(server.CodeUnauthorized, "the ticket's poll secret is required")
	}
	if !api.ValidRef(ref) {
		return server.Errorf(server.CodeNotFound, "no such ticket")
	}
	return nil
}

// checkSecret returns not_found, as for an unknown ref, unless secret is
// t's poll secret (compared in constant time).
func checkSecret(t server.Ticket, secret string) error {
	if subtle.ConstantTimeCompare(t.PollSecretHash, server.HashToken(secret)) != 1 {
		return server.Errorf(server.CodeNotFound, "no such ticket")
	}
	return nil
}

// Follow is AuthTicket for a watcher of the ticket that ref names: it calls
// subscribe with the ticket's id before the read that the secret is checked
// against, so that no change after that read goes unseen, and returns the
// ticket as read with its state event as Current does. For a sealed ref
// that is the one read. subscribe may also be called with an id that is no
// ticket's (a random ref can open as sealed); nothing is published to it.
func (s *Service) Follow(ctx context.Context, ref, secret string, subscribe func(id string)) (server.Ticket, api.TicketEvent, error) {
	if err := checkCredential(ref, secret); err != nil {
		return server.Ticket{}, api.TicketEvent{}, err
	}
	var t server.Ticket
	err := error(server.ErrNotFound)
	if id, _, ok := s.refs.open(ref); ok {
		subscribe(id)
		t, err = s.store.TicketByID(ctx, id)
	}
	if errors.Is(err, server.ErrNotFound) {
		if t, _, err = s.storedTicket(ctx, ref); err == nil {
			subscribe(t.ID)
			t, err = s.store.TicketByID(ctx, t.ID)
		}
	}
	if err != nil {
		return server.Ticket{}, api.TicketEvent{}, err
	}
	if err := checkSecret(t, secret); err != nil {
		return server.Ticket{}, api.TicketEvent{}, err
	}
	ev, t, err := s.current(ctx, t)
	return t, ev, err
}

// Current reads ticket t again and returns its state event as a watcher
// should see it now, expiring it first if its deadline passed. While pending
// the event names the current QR. It also returns the ticket as read.
func (s *Service) Current(ctx context.Context, t server.Ticket) (api.TicketEvent, server.Ticket, error) {
	t, err := s.store.TicketByID(ctx, t.ID)
	if err != nil {
		return api.TicketEvent{}, t, err
	}
	return s.current(ctx, t)
}

// current is Current of t as just read.
func (s *Service) current(ctx context.Context, t server.Ticket) (api.TicketEvent, server.Ticket, error) {
	now := s.cfg.Now()
	var err error
	if t.Expired(now) {
		s.expire(ctx, t.ID)
		if t, err = s.store.TicketByID(ctx, t.ID); err != nil {
			return api.TicketEvent{}, t, err
		}
	}
	ev, err := s.stateEvent(ctx, t)
	if t.State == server.StatePending {
		qr := s.currentQR(t, now)
		ev.Ref, ev.QRPayload, ev.ExpiresAt = qr.Ref, qr.QRPayload, qr.ExpiresAt
	}
	return ev, t, err
}

// stateEvent builds the state message for t: for scanned, with the masked
// name and avatar of the account that scanned.
func (s *Service) stateEvent(ctx context.Context, t server.Ticket) (api.TicketEvent, error) {
	ev := api.TicketEvent{Type: api.EventState, State: t.State}
	if t.State == server.StateScanned {
		u, err := s.profile(ctx, t.UserID)
		if err != nil {
			return ev, err
		}
		scannedEvent(&ev, t, u)
	}
	return ev, nil
}

func scannedEvent(ev *api.TicketEvent, t server.Ticket, u server.User) {
	mr := t.MatchRequired
	ev.MatchRequired = &mr
	ev.User = &api.MaskedUser{DisplayName: Mask(u.DisplayName), AvatarURL: u.AvatarURL}
}

// publishState tells t's watchers its state; at is when the causing request
// arrived.
func (s *Service) publishState(t server.Ticket, at time.Time) {
	s.cfg.Metrics.Transition(t.State)
	ev, err := s.stateEvent(context.Background(), t)
	if err != nil {
		s.log.Error("ticket event", "err", err)
		return
	}
	s.publishTicket(t, ev, at)
}

// gone is the error for a call on a ticket in a state it cannot leave the
// way the call needs: 410 where it expired or was cancelled, 409 otherwise.
func gone(t server.Ticket, what string) error {
	switch t.State {
	case server.StateExpired:
		return server.Errorf(server.CodeExpired, "this QR code has expired")
	case server.StateCancelled:
		return server.Errorf(server.CodeExpired, "this login was cancelled (by the desktop, or by the phone logging out)")
	}
	return server.Errorf(server.CodeConflict, "%s: the login is already %s", what, t.State)
}

// errDeadline is returned by an updater that found the ticket's deadline
// passed; the caller expires the ticket and answers 410.
var errDeadline = errors.New("deadline passed")

// ticketKey names the ticket that update changes: by its id, or by the
// scan token that its scan handed out. With a poll secret, update changes
// only a ticket that it is the secret of, and answers any other as
// AuthTicket would an unknown ref, before it looks at anything else.
type ticketKey struct{ id, scanToken, secret string }

func byID(id string) ticketKey           { return ticketKey{id: id} }
func byScanToken(token string) ticketKey { return ticketKey{scanToken: token} }

// update runs the store's compare-and-swap on the ticket that k names; an
// updater that finds the deadline passed makes it expire the ticket and
// answer 410.
func (s *Service) update(ctx context.Context, k ticketKey, fn func(t *server.Ticket, now time.Time) (*server.Session, error)) (server.Ticket, error) {
	now := s.cfg.Now().UTC()
	id := k.id
	update := func(t *server.Ticket) (*server.Session, error) {
		if k.secret != "" {
			if err := checkSecret(*t, k.secret); err != nil {
				return nil, credentialError{err}
			}
		}
		id = t.ID
		if t.Expired(now) {
			return nil, errDeadline
		}
		sess, err := fn(t, now)
		t.UpdatedAt = now
		return sess, err
	}
	var t server.Ticket
	var err error
	if k.id != "" {
		t, err = s.store.UpdateTicket(ctx, k.id, update)
	} else {
		t, err = s.store.UpdateTicketByScanToken(ctx, server.HashToken(k.scanToken), update)
	}
	if errors.Is(err, errDeadline) {
		s.expire(ctx, id)
		return t, server.Errorf(server.CodeExpired, "this login has expired")
	}
	return t, err
}

// Scan binds a pending ticket to the device's account: the QR payload's ref
// must be the one the QR carries now. ip is the phone's address. Of racing
// scans exactly one wins; the rest get conflict.
//
// Where the networks differ (-match risky) or always (-match always), the
// approval must carry the desktop's match code; not so for a device grant's
// ticket, whose device shows no match code but its user code, which the
// answer carries (App.UserCode) for the person to compare instead.
func (s *Service) Scan(ctx context.Context, d server.Device, payload, ip string) (api.ScanResponse, error) {
	at := time.Now()
	ref, err := s.refOf(ctx, payload)
	if err != nil {
		return api.ScanResponse{}, err
	}
	// A sealed ref names its ticket and rotation: the update is the one
	// read. Another is looked up as stored first; so is a ref that opens
	// but names no ticket (a random one does, once in 2^16).
	id, n, sealed := s.refs.open(ref)
	if !sealed {
		if id, n, err = s.storedRef(ctx, ref); err != nil {
			return api.ScanResponse{}, err
		}
	}
	token := server.NewSecret()
	t, app, sameNet, err := s.scan(ctx, d, id, n, ip, token)
	if sealed && errors.Is(err, server.ErrNotFound) {
		if id, n, err = s.storedRef(ctx, ref); err != nil {
			return api.ScanResponse{}, err
		}
		t, app, sameNet, err = s.scan(ctx, d, id, n, ip, token)
	}
	if err != nil {
		return api.ScanResponse{}, err
	}
	u, err := s.profile(ctx, d.UserID)
	if err != nil {
		return api.ScanResponse{}, err
	}
	ev := api.TicketEvent{Type: api.EventState, State: server.StateScanned}
	scannedEvent(&ev, t, u)
	s.cfg.Metrics.Transition(t.State)
	s.publishTicket(t, ev, at)
	resp := api.ScanResponse{
		ScanToken: token,
		ExpiresAt: t.ExpiresAt,
		Desktop: api.DesktopInfo{
			Name: t.Desktop.Name, OS: t.Desktop.OS, App: t.Desktop.App,
			IP: t.Desktop.IP, UserAgent: t.Desktop.UserAgent, CreatedAt: t.CreatedAt,
		},
		MatchRequired: t.MatchRequired,
		App:           app,
	}
	switch {
	case sameNet:
	case app != nil && app.UserCode != "":
		resp.Warning = fmt.Sprintf("This device is on a different network from your phone. Approve only if you are in front of it and its screen shows the code %s.", app.UserCode)
	default:
		resp.Warning = "This desktop is on a different network from your phone. Log in only if you are sitting at it and asked for this QR code yourself."
	}
	return resp, nil
}

// scan moves ticket id from pending to scanned by device d, if n is the
// rotation it shows now. It returns the ticket as stored, the app the
// login is for (nil for a desktop's), and whether the phone's address ip
// is on the desktop's network.
func (s *Service) scan(ctx context.Context, d server.Device, id string, n int, ip, token string) (t server.Ticket, app *api.App, sameNet bool, err error) {
	t, sameNet, err = s.scanWith(ctx, d, id, n, ip, token, nil)
	if !errors.Is(err, errNeedApp) {
		return t, nil, sameNet, err
	}
	// The ticket is an app's (t.App never changes): learn which, then scan
	// again, so that a failed look-up leaves the ticket as it was.
	if app, err = s.apps.App(ctx, id); err != nil {
		return t, nil, false, err
	}
	if app == nil { // its request went with the app: nothing can complete it
		return t, nil, false, server.Errorf(server.CodeExpired, "the app this login was for has been removed")
	}
	t, sameNet, err = s.scanWith(ctx, d, id, n, ip, token, app)
	return t, app, sameNet, err
}

// errNeedApp is scanWith's error for an app's ticket scanned without its
// app.
var errNeedApp = errors.New("the ticket is an app's")

// scanWith is scan with app, the app of the ticket if known: an app's
// ticket without it changes nothing and is errNeedApp.
func (s *Service) scanWith(ctx context.Context, d server.Device, id string, n int, ip, token string, app *api.App) (t server.Ticket, sameNet bool, err error) {
	t, err = s.update(ctx, byID(id), func(t *server.Ticket, now time.Time) (*server.Session, error) {
		// The state first: racing scans of one ref find the winner's
		// (409), not a ref that its write made look replaced (scans).
		if t.State != server.StatePending {
			return nil, gone(*t, "scan")
		}
		if !s.scans(*t, n, now) {
			return nil, server.Errorf(server.CodeExpired, "this QR code was replaced by a newer one")
		}
		if t.App != server.AppNone && app == nil && s.apps != nil {
			return nil, errNeedApp
		}
		sameNet = sameNetwork(t.Desktop.IP, ip)
		t.State = server.StateScanned
		t.UserID, t.DeviceID = d.UserID, d.ID
		t.ScanTokenHash = server.HashToken(token)
		t.ScannedAt = now
		t.ExpiresAt = now.Add(s.cfg.TicketTTL)
		device := t.App == server.AppDevice
		t.MatchRequired = !device && (s.cfg.Match == MatchAlways || s.cfg.Match == MatchRisky && !sameNet)
		return nil, nil
	})
	return t, sameNet, err
}

// refOf returns the ref a scanned payload names: the ref of <base>/q/<ref>,
// or the ref of the device grant whose verification_uri_complete it is
// (api.ParseAnyPayload). The base must be this server's own (its base URL
// or an alias): a payload naming another host is refused, so that a QR
// pointing elsewhere cannot pass for one of ours. A user code that no
// device grant holds is not_found: a wrong guess.
func (s *Service) refOf(ctx context.Context, payload string) (string, error) {
	p, err := api.ParseAnyPayload(payload)
	if err != nil {
		return "", server.Errorf(server.CodeInvalid, "%v", err)
	}
	if !s.ownBase(p.Base) {
		return "", notOurs(p.Base)
	}
	if !p.Device() {
		return p.Ref, nil
	}
	if s.apps == nil {
		return "", server.Errorf(server.CodeInvalid, "this server logs no devices in: it has no open platform")
	}
	ref, err := s.apps.RefForUserCode(ctx, p.UserCode)
	if errors.Is(err, server.ErrNotFound) {
		return "", server.Errorf(server.CodeNotFound, "no device shows the code %s: check it and try again", api.FormatUserCode(p.UserCode))
	}
	return ref, err
}

func notOurs(base string) error {
	return server.Errorf(server.CodeInvalid, "this QR code is for another server (%s), not this one", base)
}

// ownBase reports whether base names this server: its base URL or an
// alias, compared without case in scheme and host and without a default
// port or a trailing slash.
func (s *Service) ownBase(base string) bool {
	return s.bases[normalBase(base)]
}

// normalBase is base as ownBase compares it; "" if it is not a URL.
func normalBase(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// maxMatchFailures is how many wrong match codes deny a ticket.
const maxMatchFailures = 3

// Confirm approves or denies a scanned ticket. Only the device that scanned
// may; an approval of a ticket that needs the desktop's code must carry it,
// and the third wrong code denies the ticket.
func (s *Service) Confirm(ctx context.Context, d server.Device, req api.ConfirmRequest) (api.StateBody, error) {
	at := time.Now()
	if req.ScanToken == "" || req.Approve == nil {
		return api.StateBody{}, server.Errorf(server.CodeInvalid, "scan_token and approve are required")
	}
	var after error // returned once the update is stored
	t, err := s.update(ctx, byScanToken(req.ScanToken), func(t *server.Ticket, now time.Time) (*server.Session, error) {
		after = nil // the store may call this more than once
		if t.DeviceID != d.ID {
			return nil, server.Errorf(server.CodeForbidden, "only the device that scanned may confirm")
		}
		if t.State != server.StateScanned {
			return nil, gone(*t, "confirm")
		}
		switch {
		case !*req.Approve:
			t.State = server.StateDenied
		case t.MatchRequired && subtle.ConstantTimeCompare([]byte(req.MatchCode), []byte(t.MatchCode)) != 1:
			t.MatchFailures++
			if t.MatchFailures >= maxMatchFailures {
				t.State = server.StateDenied
				after = server.Errorf(server.CodeForbidden, "wrong code three times: the login was denied")
			} else {
				after = server.Errorf(server.CodeForbidden, "the code does not match the one on the desktop (%d tries left)", maxMatchFailures-t.MatchFailures)
			}
		default:
			t.State = server.StateConfirmed
			t.ConfirmedAt = now
			t.ExpiresAt = now.Add(s.cfg.TicketTTL)
		}
		return nil, nil
	})
	if err != nil {
		return api.StateBody{}, err
	}
	if t.State != server.StateScanned {
		s.publishState(t, at)
	}
	if after != nil {
		return api.StateBody{}, after
	}
	return api.StateBody{State: t.State}, nil
}

// Redeem hands the desktop its session token, exactly once, for a confirmed
// ticket; the account's other phones are told of the new session.
// keyThumbprint, if not empty, binds the session to the desktop's key (the
// caller checked the desktop's DPoP proof): the answer's token type is
// then DPoP.
func (s *Service) Redeem(ctx context.Context, t server.Ticket, keyThumbprint string) (api.RedeemResponse, error) {
	var key server.DesktopKey // the key that asked, for a one-tap request
	if t.KeyThumbprint != "" {
		if keyThumbprint != t.KeyThumbprint {
			return api.RedeemResponse{}, errOtherKey
		}
		var err error
		if key, err = s.askingKey(ctx, t); err != nil {
			return api.RedeemResponse{}, err
		}
		if key.ID == "" {
			return api.RedeemResponse{}, server.Errorf(server.CodeForbidden, "this computer is no longer remembered for the account: scan the QR code")
		}
	}
	return s.redeem(ctx, byID(t.ID), keyThumbprint, key)
}

// RedeemRef is Redeem without a DPoP proof of the ticket that ref names,
// for the desktop whose poll secret is secret, as AuthTicket then Redeem
// would answer it; but the ticket is read once, in its update, which
// checks the secret first. An error of the credential (AuthTicket's) is
// one that IsCredential reports.
func (s *Service) RedeemRef(ctx context.Context, ref, secret string) (api.RedeemResponse, error) {
	if err := checkCredential(ref, secret); err != nil {
		return api.RedeemResponse{}, credentialError{err}
	}
	// As Scan: a sealed ref names its ticket; a ref that opens but names
	// none (a random one does, once in 2^16) is then tried as stored.
	id, _, sealed := s.refs.open(ref)
	if sealed {
		resp, err := s.redeem(ctx, ticketKey{id: id, secret: secret}, "", server.DesktopKey{})
		if !errors.Is(err, errNoTicket) {
			return resp, err
		}
	}
	t, _, err := s.storedTicket(ctx, ref)
	if errors.Is(err, server.ErrNotFound) {
		return api.RedeemResponse{}, errNoTicket
	}
	if err != nil {
		return api.RedeemResponse{}, err
	}
	return s.redeem(ctx, ticketKey{id: t.ID, secret: secret}, "", server.DesktopKey{})
}

// credentialError wraps the answer to a desktop's credential that names
// no ticket it holds: unauthorized or not_found.
type credentialError struct{ error }

func (e credentialError) Unwrap() error { return e.error }

// IsCredential reports whether err is RedeemRef's answer to a wrong
// credential (which counts as a guess), not to the redeem.
func IsCredential(err error) bool {
	var c credentialError
	return errors.As(err, &c)
}

// errNoTicket is redeem's answer where no ticket has the id or scan token
// it was given (not an error of a later read): not_found, of the
// credential.
var errNoTicket = credentialError{server.Errorf(server.CodeNotFound, "no such ticket")}

// errOtherKey is the answer to a redeem of a one-tap request's ticket
// without the proof of the key that asked: only that computer may.
var errOtherKey = server.Errorf(server.CodeForbidden, "this login request was made with another key: redeem it with a DPoP proof from the computer's key")

// errAppTicket is redeem's updater's error for an app's ticket.
var errAppTicket = errors.New("an app's ticket")

// redeem is Redeem of the ticket that k names, with keyThumbprint and,
// for a one-tap request's ticket, the key that asked.
func (s *Service) redeem(ctx context.Context, k ticketKey, keyThumbprint string, key server.DesktopKey) (api.RedeemResponse, error) {
	token := server.NewSecret()
	var sess server.Session
	t, err := s.update(ctx, k, func(t *server.Ticket, now time.Time) (*server.Session, error) {
		switch {
		case t.App != server.AppNone: // the person approved an app, not a session of ours
			return nil, errAppTicket
		case t.KeyThumbprint != "" && (keyThumbprint != t.KeyThumbprint || key.ID == ""):
			return nil, errOtherKey // checked before with the key (Redeem)
		}
		switch t.State {
		case server.StateConfirmed:
		case server.StateRedeemed:
			return nil, server.Errorf(server.CodeExpired, "this login was already redeemed")
		case server.StatePending, server.StateScanned:
			return nil, server.Errorf(server.CodeConflict, "the login is not confirmed yet")
		default:
			return nil, gone(*t, "redeem")
		}
		sess = server.Session{
			ID: server.NewRef(), UserID: t.UserID, DeviceID: t.DeviceID, TokenHash: server.HashToken(token),
			Desktop: t.Desktop, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
			KeyThumbprint: keyThumbprint,
		}
		t.State, t.SessionID = server.StateRedeemed, sess.ID
		return &sess, nil
	})
	if errors.Is(err, errAppTicket) {
		return api.RedeemResponse{}, s.forApp(ctx, k.id)
	}
	// The store's not_found (the updater's, for a wrong secret, is a
	// credentialError already).
	if errors.Is(err, server.ErrNotFound) && !IsCredential(err) {
		return api.RedeemResponse{}, errNoTicket
	}
	if err != nil {
		return api.RedeemResponse{}, err
	}
	s.publishState(t, time.Time{})
	switch {
	case t.KeyThumbprint != "":
		s.settled(ctx, key.ID, t.Ref, sess.CreatedAt)
	case keyThumbprint != "":
		s.enroll(ctx, t, keyThumbprint, sess.CreatedAt)
	}
	as := apiSession(sess)
	s.publishUser(sess.UserID, api.MobileEvent{Type: api.EventSessionCreated, Session: &as}, sess.DeviceID)
	u, err := s.profile(ctx, sess.UserID)
	if err != nil {
		return api.RedeemResponse{}, err
	}
	s.log.Info("desktop signed in", "user", u.ID, "session", sess.ID, "bound", keyThumbprint != "")
	tokenType := api.TokenBearer
	if keyThumbprint != "" {
		tokenType = api.TokenDPoP
	}
	return api.RedeemResponse{
		SessionToken: token, TokenType: tokenType, ExpiresAt: sess.ExpiresAt,
		User: api.User{ID: u.ID, DisplayName: u.DisplayName, AvatarURL: u.AvatarURL},
	}, nil
}

// forApp is the error for a redeem of ticket id, which an app's flow
// started: forbidden, naming the app where it is known.
func (s *Service) forApp(ctx context.Context, id string) error {
	name := "an app"
	if s.apps != nil {
		if app, err := s.apps.App(ctx, id); err == nil && app != nil {
			name = app.Name
		}
	}
	return server.Errorf(server.CodeForbidden, "this login is for %s, not for a desktop session", name)
}

// Consume moves a confirmed ticket to redeemed, exactly once, without a
// desktop session: the open platform hands out its own grant instead. It
// returns the ticket, whose UserID is the account that approved.
func (s *Service) Consume(ctx context.Context, t server.Ticket) (server.Ticket, error) {
	t, err := s.update(ctx, byID(t.ID), func(t *server.Ticket, now time.Time) (*server.Session, error) {
		switch t.State {
		case server.StateConfirmed:
		case server.StateRedeemed:
			return nil, server.Errorf(server.CodeExpired, "this login was already used")
		case server.StatePending, server.StateScanned:
			return nil, server.Errorf(server.CodeConflict, "the login is not confirmed yet")
		default:
			return nil, gone(*t, "consume")
		}
		t.State = server.StateRedeemed
		return nil, nil
	})
	if err != nil {
		return t, err
	}
	s.publishState(t, time.Time{})
	return t, nil
}

// Cancel ends a ticket that has not ended yet; its watcher is told.
func (s *Service) Cancel(ctx context.Context, t server.Ticket) (api.StateBody, error) {
	t, err := s.update(ctx, byID(t.ID), func(t *server.Ticket, now time.Time) (*server.Session, error) {
		if !t.State.CanMoveTo(server.StateCancelled) {
			return nil, gone(*t, "cancel")
		}
		t.State = server.StateCancelled
		return nil, nil
	})
	if err != nil {
		return api.StateBody{}, err
	}
	s.publishState(t, time.Time{})
	if t.KeyThumbprint != "" { // the phones stop asking; the desktop may ask again
		if k, err := s.askingKey(ctx, t); err == nil && k.ID != "" {
			s.settled(ctx, k.ID, t.Ref, time.Time{})
		}
		closed := api.LoginRequest{ID: t.Ref}
		s.publishUser(t.UserID, api.MobileEvent{Type: api.EventLoginRequestClosed, Request: &closed}, "")
	}
	return api.StateBody{State: t.State}, nil
}
