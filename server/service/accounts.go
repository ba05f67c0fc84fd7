package service

import (
	"context"
	"errors"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// Register creates an account. It needs open registration.
func (s *Service) Register(ctx context.Context, req api.RegisterRequest) (api.User, error) {
	if !s.cfg.OpenRegistration {
		return api.User{}, server.Errorf(server.CodeForbidden, "registration is closed on this server")
	}
	if !validUsername(req.Username) {
		return api.User{}, server.Errorf(server.CodeInvalid, "username must be 3 to 32 letters, digits, '_', '.' or '-'")
	}
	if n := len(req.Password); n < minPassword || n > maxPassword {
		return api.User{}, server.Errorf(server.CodeInvalid, "password must be %d to %d bytes", minPassword, maxPassword)
	}
	name, err := cleanLabel("display_name", req.DisplayName, maxName, false)
	if err != nil {
		return api.User{}, err
	}
	if name == "" {
		name = req.Username
	}
	var hash string
	if err := s.hashing(ctx, func() { hash = s.cfg.Password.HashPassword(req.Password) }); err != nil {
		return api.User{}, err
	}
	u := server.User{
		ID:           server.NewRef(),
		Username:     req.Username,
		DisplayName:  name,
		PasswordHash: hash,
		CreatedAt:    s.cfg.Now().UTC(),
	}
	// The avatar is named by a key of its own: an avatar URL shown to a
	// desktop before confirmation must not carry the account's id.
	u.AvatarURL = s.cfg.BaseURL + "/avatars/" + server.NewRef() + ".svg"
	if err := s.store.CreateUser(ctx, u); err != nil {
		return api.User{}, err
	}
	s.log.Info("account created", "user", u.ID)
	return ownUser(u), nil
}

// hashing runs fn, which computes a password hash, once fewer than
// HashesInFlight are being computed: argon2id takes Password.Memory each,
// so that a burst of logins or registrations cannot take the server's
// memory. If none frees up within HashWait (or ctx ends) it returns
// rate_limited without running fn.
func (s *Service) hashing(ctx context.Context, fn func()) error {
	wait := time.NewTimer(s.cfg.HashWait)
	defer wait.Stop()
	select {
	case s.hashes <- struct{}{}:
	case <-wait.C:
		e := server.Errorf(server.CodeRateLimited, "the server is busy checking passwords; try again in a moment")
		e.RetryAfter = time.Second
		return e
	case <-ctx.Done():
		return server.Errorf(server.CodeRateLimited, "the request ended while waiting to check the password")
	}
	defer func() { <-s.hashes }()
	fn()
	return nil
}

func ownUser(u server.User) api.User {
	return api.User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, AvatarURL: u.AvatarURL}
}

// MobileLogin checks a password and gives the phone a device token bound to
// its device id. A wrong username or password gets the same 401.
func (s *Service) MobileLogin(ctx context.Context, req api.MobileLoginRequest) (api.MobileLoginResponse, error) {
	clientID, err := cleanLabel("device.id", req.Device.ID, maxClientID, true)
	if err != nil {
		return api.MobileLoginResponse{}, err
	}
	name, err := cleanLabel("device.name", req.Device.Name, maxLabel, false)
	if err != nil {
		return api.MobileLoginResponse{}, err
	}
	platform, err := cleanLabel("device.platform", req.Device.Platform, maxLabel, false)
	if err != nil {
		return api.MobileLoginResponse{}, err
	}
	if req.Username == "" || req.Password == "" || len(req.Password) > maxPassword {
		return api.MobileLoginResponse{}, server.Errorf(server.CodeInvalid, "username and password are required")
	}
	wrong := server.Errorf(server.CodeUnauthorized, "wrong username or password")
	if !validUsername(req.Username) {
		return api.MobileLoginResponse{}, wrong // no account can have this name: nothing to time
	}
	u, err := s.store.UserByUsername(ctx, req.Username)
	if err != nil && !errors.Is(err, server.ErrNotFound) {
		return api.MobileLoginResponse{}, err
	}
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash // as long as a wrong password
	}
	var ok bool
	if err := s.hashing(ctx, func() { ok = server.CheckPassword(hash, req.Password) }); err != nil {
		return api.MobileLoginResponse{}, err
	}
	if !ok || u.ID == "" {
		return api.MobileLoginResponse{}, wrong
	}
	token := server.NewSecret()
	now := s.cfg.Now().UTC()
	d := server.Device{
		ID: server.NewRef(), UserID: u.ID, ClientID: clientID, Name: name, Platform: platform,
		TokenHash: server.HashToken(token), CreatedAt: now, LastSeenAt: now,
	}
	if err := s.store.CreateDevice(ctx, d); err != nil {
		return api.MobileLoginResponse{}, err
	}
	s.log.Info("phone logged in", "user", u.ID, "device", d.ID)
	return api.MobileLoginResponse{DeviceToken: token, DeviceID: clientID, User: ownUser(u)}, nil
}

// AuthDevice returns the live device whose token is token and whose bound
// device id is clientID; anything else is unauthorized.
func (s *Service) AuthDevice(ctx context.Context, token, clientID string) (server.Device, error) {
	if token == "" || clientID == "" {
		return server.Device{}, server.Errorf(server.CodeUnauthorized, "a device token and X-Device-Id are required")
	}
	d, err := s.store.DeviceByTokenHash(ctx, server.HashToken(token))
	if errors.Is(err, server.ErrNotFound) || err == nil && (!d.RevokedAt.IsZero() || d.ClientID != clientID) {
		return server.Device{}, server.Errorf(server.CodeUnauthorized, "the device token is not valid for this device")
	}
	return d, err
}

// AuthSession returns the live session whose token is token.
func (s *Service) AuthSession(ctx context.Context, token string) (server.Session, error) {
	if token == "" {
		return server.Session{}, server.Errorf(server.CodeUnauthorized, "a session token is required")
	}
	sess, err := s.store.SessionByTokenHash(ctx, server.HashToken(token))
	now := s.cfg.Now()
	if errors.Is(err, server.ErrNotFound) || err == nil && !sess.Live(now) {
		return server.Session{}, server.Errorf(server.CodeUnauthorized, "the session is not valid")
	}
	if err != nil {
		return server.Session{}, err
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, sess.ID, now.UTC()); err != nil {
			s.log.Warn("touch session", "err", err)
		}
		if sess.KeyThumbprint != "" {
			s.keyUsed(ctx, sess, now.UTC())
		}
	}
	return sess, nil
}

// PhoneAccount returns the phone's account.
func (s *Service) PhoneAccount(ctx context.Context, d server.Device) (api.User, error) {
	u, err := s.profile(ctx, d.UserID)
	if err != nil {
		return api.User{}, err
	}
	return ownUser(u), nil
}

// Me returns the session's account.
func (s *Service) Me(ctx context.Context, sess server.Session) (api.User, error) {
	u, err := s.profile(ctx, sess.UserID)
	if err != nil {
		return api.User{}, err
	}
	return ownUser(u), nil
}
