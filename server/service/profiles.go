package service

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/qrlogin/qrlogin/server"
)

// profileCacheSize bounds the accounts whose profiles are kept in memory:
// about 200 bytes each.
const profileCacheSize = 10_000

// profiles keeps the public part of accounts read by id (id, username,
// display name, avatar), so that a login's scan and redeem need not read
// the account again. An account never changes once created (server.Store
// has no update of one), so nothing here is ever stale, on any node; should
// accounts become editable, the edit must reach this cache (or its end).
// The password hash is never kept.
type profiles struct {
	cache *lru.Cache[string, server.User]
}

func newProfiles() profiles {
	c, _ := lru.New[string, server.User](profileCacheSize) // fails only for a size ≤ 0
	return profiles{cache: c}
}

// profile returns account id without its password hash, read from the
// store the first time only.
func (s *Service) profile(ctx context.Context, id string) (server.User, error) {
	if u, ok := s.profiles.cache.Get(id); ok {
		return u, nil
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return u, err
	}
	u.PasswordHash = ""
	s.profiles.cache.Add(id, u)
	return u, nil
}
