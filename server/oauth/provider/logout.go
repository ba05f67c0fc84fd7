package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a grant
// ends (the person revokes it, the phone that approved it logs out, a code
// or refresh token is replayed), the app that registered a logout URI is
// sent a signed logout token naming the person (sub) and the grant (sid, as
// in the ID tokens). Deliveries are queued in the store with the
// revocation, in its transaction, so that none is lost to a crash; the node
// that revoked sends at once, and every node sends what is due
// (LogoutPoll), retrying failures with backoff for LogoutGiveUp.

// logoutEvent is the events claim's member that makes a JWT a logout token.
const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Delivery settings.
const (
	logoutTTL      = 2 * time.Minute  // a logout token's life
	logoutTimeout  = 5 * time.Second  // one delivery's HTTP exchange
	logoutLease    = 30 * time.Second // a claimed delivery's lease
	logoutBatch    = 16               // deliveries claimed, and sent, at once
	logoutMaxDelay = time.Hour        // the longest wait between retries
)

// logoutClaims are a logout token's claims. It has no nonce, so that it
// cannot pass for an ID token.
type logoutClaims struct {
	jwt.Claims
	SessionID string              `json:"sid,omitempty"`
	Events    map[string]struct{} `json:"events"`
}

// logoutClient delivers logouts: no redirects followed (a logout URI is
// registered exactly), a short timeout.
func logoutClient() *http.Client {
	return &http.Client{
		Timeout:       logoutTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// wake makes sendLogouts send due logouts now.
func (p *Apps) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// sendLogouts sends back-channel logouts until ctx ends: at once after
// this provider revokes a grant, and every LogoutPoll for those that other
// nodes queued or that are due for a retry.
func (p *Provider) sendLogouts(ctx context.Context) {
	t := time.NewTicker(p.cfg.LogoutPoll)
	defer t.Stop()
	for {
		p.sendDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
		}
	}
}

// sendDue claims and sends due logouts, a batch at a time, until none is
// due.
func (p *Provider) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		ls, err := p.st.ClaimLogouts(ctx, p.now().UTC(), logoutLease, logoutBatch)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("back-channel logout: cannot read the queue", "err", err)
			}
			return
		}
		if len(ls) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, l := range ls {
			wg.Go(func() { p.deliver(ctx, l) })
		}
		wg.Wait()
	}
}

// deliver sends one logout and settles it: removed once the app answers
// 200 or 204 (the spec allows both), or once it is older than LogoutGiveUp;
// otherwise due again after a backoff that doubles from one second to an
// hour.
func (p *Provider) deliver(ctx context.Context, l oauth.Logout) {
	err := p.post(ctx, l)
	now := p.now().UTC()
	switch {
	case err == nil:
		err = p.st.DeleteLogout(ctx, l.ID)
	case now.Sub(l.CreatedAt) >= p.cfg.LogoutGiveUp:
		p.log.Warn("back-channel logout: giving up", "app", l.ClientID, "grant", l.GrantID, "attempts", l.Attempts, "err", err)
		err = p.st.DeleteLogout(ctx, l.ID)
	default:
		p.log.Info("back-channel logout failed; will retry", "app", l.ClientID, "grant", l.GrantID, "attempts", l.Attempts, "err", err)
		delay := retryDelay(l.Attempts)
		if err = p.st.RetryLogout(ctx, l.ID, now.Add(delay)); err == nil && delay < p.cfg.LogoutPoll {
			time.AfterFunc(delay, p.wake) // sooner than the next look at the queue
		}
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("back-channel logout: cannot settle a delivery", "app", l.ClientID, "err", err)
	}
}

// retryDelay is the wait after the attempts-th failed delivery.
func retryDelay(attempts int) time.Duration {
	if attempts < 1 || attempts > 12 {
		return logoutMaxDelay
	}
	return min(time.Second<<(attempts-1), logoutMaxDelay)
}

// post sends l's logout token to its URI.
func (p *Provider) post(ctx context.Context, l oauth.Logout) error {
	now := p.now().UTC()
	tok, err := p.sig.signJWT(logoutClaims{
		Claims: jwt.Claims{
			Issuer: p.issuer, Subject: l.UserID, Audience: jwt.Audience{l.ClientID}, ID: server.NewRef(),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(logoutTTL)),
		},
		SessionID: l.GrantID,
		Events:    map[string]struct{}{logoutEvent: {}},
	}, "logout+jwt", now)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the app answered %s", resp.Status)
	}
	return nil
}
