package service

import (
	"context"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/purge"
)

// MobileLogout logs the phone out (server.Store.RevokeDevice): it revokes
// its token and those of its earlier logins (the same device id), every
// desktop session that they confirmed, every app grant that it approved
// (Apps.PhoneLoggedOut), and cancels every login that they
// scanned or confirmed and that the desktop has not redeemed yet. Each of
// those desktops is told (revoked, or the ticket's cancelled state, so that
// its redeem fails), and so are the account's other phones.
func (s *Service) MobileLogout(ctx context.Context, d server.Device) error {
	// The apps' grants go first: should the rest fail, the phone still holds
	// its token and tries again; the other way round it could not. They go
	// again after: a grant that a login of this phone was turning into
	// meanwhile either landed before RevokeDevice and is found now, or finds
	// the phone revoked (oauth.Store.CreateGrant).
	if s.apps != nil {
		if err := s.apps.PhoneLoggedOut(ctx, d); err != nil {
			return err
		}
	}
	revoked, cancelled, err := s.store.RevokeDevice(ctx, d.ID, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	if s.apps != nil {
		if err := s.apps.PhoneLoggedOut(ctx, d); err != nil {
			return err
		}
	}
	for _, t := range cancelled {
		s.publishState(t, time.Time{})
	}
	for _, sess := range revoked {
		s.announceRevoked(sess, d.ID)
	}
	s.log.Info("phone logged out", "user", d.UserID, "device", d.ID, "sessions_revoked", len(revoked), "logins_cancelled", len(cancelled))
	return nil
}

// announceRevoked tells a session's desktop and the account's phones (but
// except) that the session ended.
func (s *Service) announceRevoked(sess server.Session, except string) {
	s.publishRevoked(sess.ID)
	as := apiSession(sess)
	s.publishUser(sess.UserID, api.MobileEvent{Type: api.EventSessionRevoked, Session: &as}, except)
}

func apiSession(sess server.Session) api.Session {
	return api.Session{
		ID:         sess.ID,
		Device:     api.DesktopDevice{Name: sess.Desktop.Name, OS: sess.Desktop.OS, App: sess.Desktop.App},
		IP:         sess.Desktop.IP,
		CreatedAt:  sess.CreatedAt,
		LastSeenAt: sess.LastSeenAt,
	}
}

// ListSessions lists the live desktop sessions of the device's account.
func (s *Service) ListSessions(ctx context.Context, d server.Device) ([]api.Session, error) {
	list, err := s.store.ListSessions(ctx, d.UserID, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	out := make([]api.Session, 0, len(list))
	for _, sess := range list {
		out = append(out, apiSession(sess))
	}
	return out, nil
}

// RevokeSession ends one desktop session of the device's account (a remote
// log-out); the desktop is told at once. Another account's session, or an
// unknown one, is not_found.
func (s *Service) RevokeSession(ctx context.Context, d server.Device, id string) error {
	sess, err := s.store.RevokeSession(ctx, d.UserID, id, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.announceRevoked(sess, d.ID)
	s.log.Info("session revoked by phone", "user", d.UserID, "session", sess.ID)
	return nil
}

// Logout ends the desktop's own session; the account's phones are told.
func (s *Service) Logout(ctx context.Context, sess server.Session) error {
	sess, err := s.store.RevokeSession(ctx, sess.UserID, sess.ID, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.announceRevoked(sess, "")
	return nil
}

// purgeSessions removes, batch by batch, the sessions that ended (revoked
// or expired) before t and the devices revoked before t, except those that
// something still names (server.Store.PurgeSessions).
func (s *Service) purgeSessions(ctx context.Context, t time.Time) {
	purge.Run(ctx, s.log, "old sessions and devices", func(ctx context.Context, limit int) (int, error) {
		return s.store.PurgeSessions(ctx, t, limit)
	})
}
