package provider

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// newGrant records the grant that the confirmed ticket t gives client for
// scope, live until expires (its code's expiry, or its tokens').
func (p *Provider) newGrant(ctx context.Context, clientID, scope string, t server.Ticket, expires time.Time) (oauth.Grant, error) {
	now := p.now().UTC()
	g := oauth.Grant{
		ID: server.NewRef(), UserID: t.UserID, ClientID: clientID, DeviceID: t.DeviceID, Scope: scope,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: expires,
	}
	return g, p.st.CreateGrant(ctx, g)
}

// revokeGrant revokes a grant and every token issued through it (a replayed
// code or refresh token); a grant already gone is not an error. The app is
// told by back-channel logout.
func (p *Provider) revokeGrant(ctx context.Context, id string, at time.Time) error {
	_, err := p.revoke(ctx, oauth.GrantFilter{ID: id}, at)
	if errors.Is(err, server.ErrNotFound) {
		return nil
	}
	return err
}

// revoke revokes the grants f selects and wakes the back-channel logout
// sender for the apps to be told.
func (p *Apps) revoke(ctx context.Context, f oauth.GrantFilter, at time.Time) ([]oauth.Grant, error) {
	gs, err := p.st.RevokeGrants(ctx, f, at)
	if len(gs) > 0 {
		p.wake()
	}
	return gs, err
}

// Grants lists the person's live grants, for the phone.
func (p *Provider) Grants(ctx context.Context, userID string) ([]api.Grant, error) {
	gs, err := p.st.GrantsByUser(ctx, userID, p.now())
	if err != nil {
		return nil, err
	}
	out := make([]api.Grant, 0, len(gs))
	names := map[string]string{}
	for _, g := range gs {
		name, ok := names[g.ClientID]
		if !ok {
			c, err := p.st.ClientByID(ctx, g.ClientID)
			if err != nil {
				return nil, err
			}
			name, names[g.ClientID] = c.Name, c.Name
		}
		out = append(out, api.Grant{
			ID: g.ID, ClientID: g.ClientID, App: name, Scopes: strings.Fields(g.Scope),
			CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt, ExpiresAt: g.ExpiresAt,
		})
	}
	return out, nil
}

// RevokeGrant ends the person's grant id: every token issued through it
// fails from now on, on every node, and its app is told by back-channel
// logout. Another person's grant, or one not live, is not_found.
func (p *Provider) RevokeGrant(ctx context.Context, userID, id string) error {
	gs, err := p.revoke(ctx, oauth.GrantFilter{ID: id, UserID: userID}, p.now().UTC())
	if err != nil {
		return err
	}
	p.log.Info("grant revoked by phone", "user", userID, "grant", id, "app", gs[0].ClientID)
	return nil
}

// PhoneLoggedOut implements service.Apps: the grants that the phone
// approved end with it, and their apps are told.
func (p *Apps) PhoneLoggedOut(ctx context.Context, d server.Device) error {
	gs, err := p.revoke(ctx, oauth.GrantFilter{DeviceID: d.ID}, p.now().UTC())
	if err != nil {
		return err
	}
	if len(gs) > 0 {
		p.log.Info("grants revoked with the phone", "user", d.UserID, "device", d.ID, "grants", len(gs))
	}
	return nil
}

// Revoke serves the revocation endpoint (RFC 7009) for an authenticated
// client: a refresh token ends its whole grant (every token issued through
// it); an access token ends alone. A token that is unknown, already revoked
// or another client's is left alone and answered the same way, so that the
// endpoint says nothing about tokens the client does not hold. Both kinds
// are looked up whatever token_type_hint says (RFC 7009 section 2.1).
func (p *Provider) Revoke(ctx context.Context, cc ClientCredentials, token string) error {
	c, err := p.authClient(ctx, cc)
	if err != nil {
		return err
	}
	if token == "" {
		return invalidRequest("token is required")
	}
	t, err := p.st.TokenByHash(ctx, server.HashToken(token))
	if errors.Is(err, server.ErrNotFound) || err == nil && (t.ClientID != c.ID || !t.RevokedAt.IsZero()) {
		return nil
	}
	if err != nil {
		return err
	}
	now := p.now().UTC()
	if t.Kind == oauth.KindRefresh {
		return p.revokeGrant(ctx, t.FamilyID, now)
	}
	return p.st.RevokeToken(ctx, t.Hash, now)
}
