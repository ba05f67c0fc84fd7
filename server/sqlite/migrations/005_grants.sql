-- Grants: one per authorization a person gave an app from a phone. Every
-- code and token of an authorization carries the grant's id as family_id;
-- revoking the grant revokes them all. device_id is the phone that approved
-- it ('' for grants from before this migration).
CREATE TABLE oauth_grants (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id),
	client_id    TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL,
	scope        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_grants_user ON oauth_grants(user_id, expires_at) WHERE revoked_at = 0;
CREATE INDEX oauth_grants_device ON oauth_grants(device_id) WHERE revoked_at = 0;
CREATE INDEX oauth_grants_expires ON oauth_grants(expires_at);
CREATE INDEX oauth_grants_client ON oauth_grants(client_id); -- a deleted app's cascade
CREATE INDEX oauth_codes_family ON oauth_codes(family_id);

-- The families issued before grants existed become grants.
INSERT INTO oauth_grants (id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at)
SELECT family_id, min(user_id), min(client_id), '', min(scope), min(created_at), max(created_at), max(expires_at),
	CASE WHEN min(revoked_at) = 0 THEN 0 ELSE max(revoked_at) END
FROM oauth_tokens GROUP BY family_id;
INSERT INTO oauth_grants (id, user_id, client_id, device_id, scope, created_at, last_used_at, expires_at, revoked_at)
SELECT family_id, min(user_id), min(client_id), '', min(scope), min(auth_time), min(auth_time), max(expires_at), 0
FROM oauth_codes WHERE family_id NOT IN (SELECT id FROM oauth_grants) GROUP BY family_id;

-- A refresh token is now issued only where the scope has offline_access,
-- which no scope of before carried: the refresh tokens of before, and the
-- grants of their families, get it, so that their chains go on refreshing.
-- (A scope is space-separated; each token of a family has its code's.)
UPDATE oauth_grants SET scope = ltrim(scope || ' offline_access')
WHERE instr(' ' || scope || ' ', ' offline_access ') = 0
	AND EXISTS (SELECT 1 FROM oauth_tokens k WHERE k.family_id = oauth_grants.id AND k.kind = 'refresh');
UPDATE oauth_tokens SET scope = ltrim(scope || ' offline_access')
WHERE kind = 'refresh' AND instr(' ' || scope || ' ', ' offline_access ') = 0;

-- Which grants an app may use (a JSON array of grant type names, in the
-- order registered), and where it is told that a grant ended (Back-Channel
-- Logout; '' for none). Apps registered before this could use every grant:
-- the server checked none, and apps add wanted a redirect URI even of a
-- TV's app, so what an app registered says nothing of what it uses. They
-- keep all three; an operator narrows them with
-- qrlogin-server apps update --grants.
ALTER TABLE oauth_clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '[]';
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
UPDATE oauth_clients SET grant_types = '["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]';
-- The store of before kept an app without redirect URIs as null; they are
-- [] now, as CreateClient stores them.
UPDATE oauth_clients SET redirect_uris = '[]' WHERE redirect_uris = 'null';

-- Back-channel logouts waiting to be delivered (oauth.Store.ClaimLogouts).
CREATE TABLE oauth_logouts (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	uri        TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	grant_id   TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX oauth_logouts_due ON oauth_logouts(next_at);
CREATE INDEX oauth_logouts_client ON oauth_logouts(client_id);
