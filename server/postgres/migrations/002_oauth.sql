-- The open platform, as in the SQLite store: registered apps, their requests
-- (one per ticket), authorization codes, tokens and the ID-token signing
-- key. Codes, tokens, client secrets and device codes are stored only as
-- SHA-256 hashes. A time that may be unset (last_poll_at, used_at,
-- revoked_at) is NULL. Deleting an app deletes its requests, codes and
-- tokens (ON DELETE CASCADE): a deleted app's tokens are no longer found.
CREATE TABLE oauth_clients (
	id            text PRIMARY KEY,
	name          text NOT NULL,
	secret_hash   bytea,  -- NULL for a public client
	redirect_uris text[] NOT NULL,
	public        boolean NOT NULL,
	created_at    timestamptz NOT NULL
);

CREATE TABLE oauth_requests (
	ticket_id        text PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
	ref              text NOT NULL,
	client_id        text NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	redirect_uri     text NOT NULL,
	scope            text NOT NULL,
	state            text NOT NULL,
	nonce            text NOT NULL,
	code_challenge   text NOT NULL,
	user_code        text UNIQUE,  -- NULL but for a device grant; NULLs are distinct
	device_code_hash bytea UNIQUE, -- likewise
	interval_ns      bigint NOT NULL, -- the device's polling interval, in nanoseconds
	last_poll_at     timestamptz,
	created_at       timestamptz NOT NULL
);
CREATE INDEX oauth_requests_client ON oauth_requests (client_id);

CREATE TABLE oauth_codes (
	hash           bytea PRIMARY KEY,
	client_id      text NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	user_id        text NOT NULL REFERENCES users(id),
	redirect_uri   text NOT NULL,
	scope          text NOT NULL,
	nonce          text NOT NULL,
	code_challenge text NOT NULL,
	family_id      text NOT NULL,
	auth_time      timestamptz NOT NULL,
	expires_at     timestamptz NOT NULL,
	used_at        timestamptz
);
CREATE INDEX oauth_codes_client ON oauth_codes (client_id);

CREATE TABLE oauth_tokens (
	hash       bytea PRIMARY KEY,
	kind       text NOT NULL,
	client_id  text NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	user_id    text NOT NULL REFERENCES users(id),
	scope      text NOT NULL,
	family_id  text NOT NULL,
	auth_time  timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz,
	created_at timestamptz NOT NULL
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);

-- One row at most: the key every node signs ID tokens with.
CREATE TABLE oauth_keys (
	id         integer PRIMARY KEY CHECK (id = 1),
	pem        bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
