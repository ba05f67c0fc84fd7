-- Grants, as in the SQLite store: one per authorization a person gave an
-- app from a phone. Every code and token of an authorization carries the
-- grant's id as family_id; revoking the grant revokes them all. device_id
-- is the phone that approved it ('' for grants from before this
-- migration). revoked_at is NULL while the grant is not revoked. Writers
-- lock a grant's row before its tokens' (oauth.go).
CREATE TABLE oauth_grants (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users(id),
	client_id    text NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	device_id    text NOT NULL,
	scope        text NOT NULL,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	revoked_at   timestamptz
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_device ON oauth_grants (device_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id); -- for the cascade
CREATE INDEX oauth_codes_family ON oauth_codes (family_id);

-- The families issued before grants existed become grants: revoked once
-- all of their tokens are.
INSERT INTO oauth_grants (id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at)
SELECT family_id, min(user_id), min(client_id), '', min(scope), min(created_at), max(created_at), max(expires_at),
	CASE WHEN count(revoked_at) = count(*) THEN max(revoked_at) END
FROM oauth_tokens GROUP BY family_id;
INSERT INTO oauth_grants (id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at)
SELECT family_id, min(user_id), min(client_id), '', min(scope), min(auth_time), min(auth_time), max(expires_at), NULL
FROM oauth_codes WHERE family_id NOT IN (SELECT id FROM oauth_grants) GROUP BY family_id;

-- A refresh token is now issued only where the scope has offline_access,
-- which no scope of before carried: the refresh tokens of before, and the
-- grants of their families, get it, so that their chains go on refreshing.
-- (A scope is space-separated; each token of a family has its code's.)
UPDATE oauth_grants g SET scope = ltrim(g.scope || ' offline_access')
WHERE position(' offline_access ' IN ' ' || g.scope || ' ') = 0
	AND EXISTS (SELECT 1 FROM oauth_tokens k WHERE k.family_id = g.id AND k.kind = 'refresh');
UPDATE oauth_tokens SET scope = ltrim(scope || ' offline_access')
WHERE kind = 'refresh' AND position(' offline_access ' IN ' ' || scope || ' ') = 0;

-- Which grants an app may use (grant type names, in the order registered),
-- and where it is told that a grant ended (Back-Channel Logout; '' for
-- none). Apps registered before this could use every grant: the server
-- checked none, and apps add wanted a redirect URI even of a TV's app, so
-- what an app registered says nothing of what it uses. They keep all
-- three; an operator narrows them with qrlogin-server apps update --grants.
ALTER TABLE oauth_clients ADD COLUMN grant_types text[] NOT NULL DEFAULT '{}';
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri text NOT NULL DEFAULT '';
UPDATE oauth_clients SET grant_types = ARRAY['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

-- Back-channel logouts waiting to be delivered (oauth.Store.ClaimLogouts).
CREATE TABLE oauth_logouts (
	id         text PRIMARY KEY,
	client_id  text NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	uri        text NOT NULL,
	user_id    text NOT NULL,
	grant_id   text NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	next_at    timestamptz NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX oauth_logouts_due ON oauth_logouts (next_at);
CREATE INDEX oauth_logouts_client ON oauth_logouts (client_id); -- for the cascade
