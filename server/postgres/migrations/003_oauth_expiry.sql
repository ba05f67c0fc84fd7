-- Expired codes and tokens are purged by expiry (oauth.Store.PurgeExpired).
CREATE INDEX oauth_codes_expires ON oauth_codes(expires_at);
CREATE INDEX oauth_tokens_expires ON oauth_tokens(expires_at);
