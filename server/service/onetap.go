package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// The limits of one-tap login.
const (
	// OneTapPerWindow requests per desktop per OneTapWindow, at most.
	OneTapPerWindow = 3
	OneTapWindow    = 10 * time.Minute
	// OneTapTTL is how long the phones have to answer.
	OneTapTTL = 60 * time.Second
)

// enroll records the desktop key that signed redeemed ticket t's login
// in: the account may then be asked for one-tap logins from it. A failure
// is logged, not returned: the session exists, and the desktop falls back
// to the QR code next time.
func (s *Service) enroll(ctx context.Context, t server.Ticket, thumbprint string, now time.Time) {
	k, err := s.store.EnrollDesktopKey(ctx, server.DesktopKey{
		ID: server.NewRef(), UserID: t.UserID, Thumbprint: thumbprint,
		Name: t.Desktop.Name, OS: t.Desktop.OS, IP: t.Desktop.IP, CreatedAt: now, LastUsedAt: now,
	})
	if err != nil {
		s.log.Error("enrol the desktop for one-tap login", "user", t.UserID, "err", err)
		return
	}
	s.log.Info("desktop enrolled for one-tap login", "user", k.UserID, "desktop_key", k.ID)
}

// liveKey returns the enrolled, unlapsed key with thumbprint; not_found
// for a key that was never enrolled, was removed, or went unused for
// EnrollmentTTL.
func (s *Service) liveKey(ctx context.Context, thumbprint string) (server.DesktopKey, error) {
	k, err := s.store.DesktopKeyByThumbprint(ctx, thumbprint)
	if errors.Is(err, server.ErrNotFound) || err == nil && s.cfg.Now().Sub(k.LastUsedAt) > s.cfg.EnrollmentTTL {
		return server.DesktopKey{}, server.Errorf(server.CodeNotFound, "this computer is not remembered for one-tap login: scan the QR code")
	}
	return k, err
}

// DesktopKey returns what a logged-out desktop shows before its person
// taps Log in: the (masked) account its key is enrolled for.
func (s *Service) DesktopKey(ctx context.Context, thumbprint string) (api.DesktopKeyInfo, error) {
	k, err := s.liveKey(ctx, thumbprint)
	if err != nil {
		return api.DesktopKeyInfo{}, err
	}
	u, err := s.profile(ctx, k.UserID)
	if err != nil {
		return api.DesktopKeyInfo{}, err
	}
	return api.DesktopKeyInfo{User: api.MaskedUser{DisplayName: Mask(u.DisplayName), AvatarURL: u.AvatarURL}, Name: k.Name}, nil
}

// DesktopLogin asks the phones of the account that the desktop key with
// thumbprint is enrolled for to let it in: it makes a ticket that starts
// scanned, for the account, naming the key (only it may redeem the
// ticket), with the number the desktop shows as its match code, and
// pushes the request to the phones. It refuses a key that is not enrolled
// (not_found), a request while another waits (conflict), and a fourth
// request within OneTapWindow (rate_limited, with RetryAfter); the budget
// is kept in the database, so it holds across nodes and racing requests.
// If the ticket cannot be stored, the request is given back.
func (s *Service) DesktopLogin(ctx context.Context, thumbprint string, d server.Desktop) (api.DesktopLoginResponse, error) {
	k, err := s.liveKey(ctx, thumbprint)
	if err != nil {
		return api.DesktopLoginResponse{}, err
	}
	u, err := s.profile(ctx, k.UserID)
	if err != nil {
		return api.DesktopLoginResponse{}, err
	}
	now := s.cfg.Now().UTC()
	ref, secret := server.NewRef(), server.NewSecret()
	k, err = s.store.UpdateDesktopKey(ctx, k.ID, func(k *server.DesktopKey) error {
		k.Requests = slices.DeleteFunc(k.Requests, func(t time.Time) bool { return !now.Before(t.Add(OneTapWindow)) })
		switch {
		case now.Before(k.PendingUntil):
			return server.Errorf(server.CodeConflict, "a login request from this computer is already waiting for the phone")
		case len(k.Requests) >= OneTapPerWindow:
			e := server.Errorf(server.CodeRateLimited, "at most %d login requests from a computer in %s: try again later, or scan the QR code", OneTapPerWindow, OneTapWindow)
			e.RetryAfter = k.Requests[0].Add(OneTapWindow).Sub(now)
			return e
		}
		k.Requests = append(k.Requests, now)
		k.PendingUntil, k.TicketRef = now.Add(OneTapTTL), ref
		return nil
	})
	if err != nil {
		return api.DesktopLoginResponse{}, err
	}
	if d.Name == "" {
		d.Name = k.Name
	}
	t := server.Ticket{
		ID: server.NewRef(), Version: 1, State: server.StateScanned, PollSecretHash: server.HashToken(secret),
		Ref: ref, Desktop: d, CreatedAt: now, ExpiresAt: now.Add(OneTapTTL), RotateUntil: now.Add(OneTapTTL),
		MatchCode: fmt.Sprintf("%02d", rand.N(100)), MatchRequired: true, UserID: k.UserID, ScannedAt: now, UpdatedAt: now,
		KeyThumbprint: k.Thumbprint,
	}
	if err := s.store.CreateTicket(ctx, t); err != nil {
		s.giveBack(ctx, k.ID, ref, now)
		return api.DesktopLoginResponse{}, err
	}
	s.cfg.Metrics.Transition(server.StateScanned)
	req := loginRequest(t, k)
	s.publishUser(k.UserID, api.MobileEvent{Type: api.EventLoginRequest, Request: &req}, "")
	s.log.Info("one-tap login requested", "user", k.UserID, "desktop_key", k.ID, "ip", d.IP)
	return api.DesktopLoginResponse{
		Ref: ref, PollSecret: secret, ExpiresAt: t.ExpiresAt, Number: t.MatchCode,
		User: api.MaskedUser{DisplayName: Mask(u.DisplayName), AvatarURL: u.AvatarURL},
	}, nil
}

// giveBack undoes the budget that request ref of key id took at at, when
// its ticket could not be stored: the desktop may ask again at once.
func (s *Service) giveBack(ctx context.Context, id, ref string, at time.Time) {
	_, err := s.store.UpdateDesktopKey(ctx, id, func(k *server.DesktopKey) error {
		k.Requests = slices.DeleteFunc(k.Requests, func(t time.Time) bool { return t.Equal(at) })
		if k.TicketRef == ref {
			k.PendingUntil, k.TicketRef = time.Time{}, ""
		}
		return nil
	})
	if err != nil && !errors.Is(err, server.ErrNotFound) {
		s.log.Warn("one-tap: give the request back", "desktop_key", id, "err", err)
	}
}

// loginRequest is one-tap ticket t of key k as the phones see it.
func loginRequest(t server.Ticket, k server.DesktopKey) api.LoginRequest {
	return api.LoginRequest{
		ID:        t.Ref,
		Desktop:   api.DesktopInfo{Name: k.Name, OS: t.Desktop.OS, App: t.Desktop.App, IP: t.Desktop.IP, UserAgent: t.Desktop.UserAgent, CreatedAt: t.CreatedAt},
		Choices:   choices(t),
		ExpiresAt: t.ExpiresAt,
	}
}

// choices are the three numbers the phone offers for ticket t: its match
// code and two others, in an order that does not give it away, the same
// at every look (derived from the ticket's secret id).
func choices(t server.Ticket) []string {
	seed := sha256.Sum256([]byte("one-tap choices " + t.ID))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	out := []string{t.MatchCode}
	for len(out) < 3 {
		if c := fmt.Sprintf("%02d", r.IntN(100)); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// oneTapTicket returns the one-tap request id (its ticket's ref) of d's
// account and the key that asked, if it is still enrolled for that
// account (else a zero key); not_found for any other ref.
func (s *Service) oneTapTicket(ctx context.Context, d server.Device, id string) (server.Ticket, server.DesktopKey, error) {
	missing := server.Errorf(server.CodeNotFound, "no such login request")
	if !api.ValidRef(id) {
		return server.Ticket{}, server.DesktopKey{}, missing
	}
	t, err := s.store.TicketByRef(ctx, id)
	if errors.Is(err, server.ErrNotFound) || err == nil && (t.KeyThumbprint == "" || t.UserID != d.UserID) {
		return server.Ticket{}, server.DesktopKey{}, missing
	}
	if err != nil {
		return server.Ticket{}, server.DesktopKey{}, err
	}
	k, err := s.askingKey(ctx, t)
	return t, k, err
}

// askingKey returns the key that asked for one-tap ticket t if it is
// still enrolled for t's account, else a zero key.
func (s *Service) askingKey(ctx context.Context, t server.Ticket) (server.DesktopKey, error) {
	k, err := s.store.DesktopKeyByThumbprint(ctx, t.KeyThumbprint)
	if errors.Is(err, server.ErrNotFound) || err == nil && k.UserID != t.UserID {
		return server.DesktopKey{}, nil
	}
	return k, err
}

// LoginRequests lists the one-tap requests waiting for an answer from the
// phones of d's account; phoneIP is the phone's address, to warn of a
// desktop on another network.
func (s *Service) LoginRequests(ctx context.Context, d server.Device, phoneIP string) ([]api.LoginRequest, error) {
	keys, err := s.store.DesktopKeysOf(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	out := []api.LoginRequest{}
	for _, k := range keys {
		if !now.Before(k.PendingUntil) || k.TicketRef == "" {
			continue
		}
		t, err := s.store.TicketByRef(ctx, k.TicketRef)
		if errors.Is(err, server.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if t.State != server.StateScanned || t.Expired(now) || t.UserID != d.UserID || t.KeyThumbprint != k.Thumbprint {
			continue
		}
		req := loginRequest(t, k)
		if !sameNetwork(t.Desktop.IP, phoneIP) {
			req.Warning = "This computer is on a different network from your phone. Log in only if you are sitting at it and asked for this yourself."
		}
		out = append(out, req)
	}
	return out, nil
}

// DecideLoginRequest answers one-tap request id from phone d: approve
// with the number the person tapped (the desktop's: confirmed, the
// desktop redeems next; any other: denied, and forbidden), deny, or
// not_me, which removes the desktop's enrolment and ends its sessions
// whatever became of the request (a desktop that cancelled at once does
// not escape it), then denies the request if it still waits. A request
// that was decided or expired is conflict or expired, as a ticket's; one
// whose computer is no longer enrolled for the account cannot be
// approved.
func (s *Service) DecideLoginRequest(ctx context.Context, d server.Device, id string, req api.DecideLoginRequest) (api.StateBody, error) {
	at := time.Now()
	switch req.Action {
	case api.ActionApprove, api.ActionDeny, api.ActionNotMe:
	default:
		return api.StateBody{}, server.Errorf(server.CodeInvalid, "action must be approve, deny or not_me")
	}
	if req.Action == api.ActionApprove && req.Number == "" {
		return api.StateBody{}, server.Errorf(server.CodeInvalid, "approve needs the number tapped")
	}
	t, k, err := s.oneTapTicket(ctx, d, id)
	if err != nil {
		return api.StateBody{}, err
	}
	if req.Action == api.ActionNotMe && k.ID != "" { // first: the desktop then finds no enrolment
		if err := s.RemoveDesktop(ctx, d, k.ID); err != nil && !errors.Is(err, server.ErrNotFound) {
			return api.StateBody{}, err
		}
	}
	if req.Action == api.ActionApprove && k.ID == "" {
		return api.StateBody{}, server.Errorf(server.CodeNotFound, "this computer is no longer remembered for your account")
	}
	wrongNumber := false
	decided, err := s.update(ctx, byID(t.ID), func(t *server.Ticket, now time.Time) (*server.Session, error) {
		wrongNumber = false // the store may call this more than once
		if t.State != server.StateScanned {
			return nil, gone(*t, "decide")
		}
		t.DeviceID = d.ID
		switch {
		case req.Action != api.ActionApprove:
			t.State = server.StateDenied
		case subtle.ConstantTimeCompare([]byte(req.Number), []byte(t.MatchCode)) != 1:
			t.State, t.MatchFailures, wrongNumber = server.StateDenied, t.MatchFailures+1, true
		default:
			t.State, t.ConfirmedAt, t.ExpiresAt = server.StateConfirmed, now, now.Add(s.cfg.TicketTTL)
		}
		return nil, nil
	})
	switch {
	case err != nil && req.Action == api.ActionNotMe && k.ID != "":
		// The request had ended; the enrolment is gone all the same.
		s.log.Info("one-tap login decided", "user", d.UserID, "device", d.ID, "desktop_key", k.ID, "outcome", "not me, after the request ended")
		return api.StateBody{State: t.State}, nil
	case err != nil:
		return api.StateBody{}, err
	}
	s.publishState(decided, at)
	closed := api.LoginRequest{ID: id}
	s.publishUser(d.UserID, api.MobileEvent{Type: api.EventLoginRequestClosed, Request: &closed}, "")
	if k.ID != "" && req.Action != api.ActionNotMe {
		s.settled(ctx, k.ID, id, time.Time{})
	}
	outcome := string(decided.State)
	switch {
	case wrongNumber:
		outcome = "denied: wrong number"
	case req.Action == api.ActionNotMe:
		outcome = "not me"
	}
	s.log.Info("one-tap login decided", "user", d.UserID, "device", d.ID, "desktop_key", k.ID, "outcome", outcome)
	if wrongNumber {
		return api.StateBody{State: decided.State}, server.Errorf(server.CodeForbidden, "the number did not match the one on the computer: the login was denied")
	}
	return api.StateBody{State: decided.State}, nil
}

// Desktops lists the desktops enrolled for one-tap login on d's account
// (not those that lapsed).
func (s *Service) Desktops(ctx context.Context, d server.Device) ([]api.EnrolledDesktop, error) {
	keys, err := s.store.DesktopKeysOf(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	out := []api.EnrolledDesktop{}
	for _, k := range keys {
		if now.Sub(k.LastUsedAt) > s.cfg.EnrollmentTTL {
			continue
		}
		out = append(out, api.EnrolledDesktop{ID: k.ID, Name: k.Name, OS: k.OS, IP: k.IP, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt})
	}
	return out, nil
}

// RemoveDesktop removes enrolled desktop id of d's account and ends the
// sessions bound to its key; its desktops are told at once.
func (s *Service) RemoveDesktop(ctx context.Context, d server.Device, id string) error {
	k, revoked, err := s.store.RemoveDesktopKey(ctx, d.UserID, id, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	for _, sess := range revoked {
		s.announceRevoked(sess, d.ID)
	}
	s.log.Info("enrolled desktop removed", "user", d.UserID, "device", d.ID, "desktop_key", k.ID, "sessions", len(revoked))
	return nil
}

// settled records that key id's request ref (if not empty) is no longer
// waiting, so that the desktop may ask again at once, and, if used is not
// zero, that the key was used then. Failures are logged: the request
// expires anyway.
func (s *Service) settled(ctx context.Context, id, ref string, used time.Time) {
	_, err := s.store.UpdateDesktopKey(ctx, id, func(k *server.DesktopKey) error {
		if ref != "" && k.TicketRef == ref {
			k.PendingUntil = time.Time{}
		}
		if !used.IsZero() {
			k.LastUsedAt = used
		}
		return nil
	})
	if err != nil && !errors.Is(err, server.ErrNotFound) {
		s.log.Warn("one-tap: update the enrolled desktop", "desktop_key", id, "err", err)
	}
}

// keyUsed records, at most once an hour, that the key bound session sess
// was used at now, so that an enrolment in use does not lapse while its
// sessions are.
func (s *Service) keyUsed(ctx context.Context, sess server.Session, now time.Time) {
	k, err := s.store.DesktopKeyByThumbprint(ctx, sess.KeyThumbprint)
	if err != nil || k.UserID != sess.UserID || now.Sub(k.LastUsedAt) < time.Hour {
		return // not enrolled (any more) for this account, or used lately
	}
	s.settled(ctx, k.ID, "", now)
}
