-- The open platform: registered apps, their requests (one per ticket),
-- authorization codes, tokens and the ID-token signing key. Codes, tokens,
-- client secrets and device codes are stored only as SHA-256 hashes.
CREATE TABLE oauth_clients (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	secret_hash   BLOB,
	redirect_uris TEXT NOT NULL, -- JSON array
	public        INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE oauth_requests (
	ticket_id        TEXT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
	ref              TEXT NOT NULL,
	client_id        TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	redirect_uri     TEXT NOT NULL,
	scope            TEXT NOT NULL,
	state            TEXT NOT NULL,
	nonce            TEXT NOT NULL,
	code_challenge   TEXT NOT NULL,
	user_code        TEXT UNIQUE,
	device_code_hash BLOB UNIQUE,
	interval_ns      INTEGER NOT NULL,
	last_poll_at     INTEGER NOT NULL,
	created_at       INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
	hash           BLOB PRIMARY KEY,
	client_id      TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	user_id        TEXT NOT NULL REFERENCES users(id),
	redirect_uri   TEXT NOT NULL,
	scope          TEXT NOT NULL,
	nonce          TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	family_id      TEXT NOT NULL,
	auth_time      INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	used_at        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE oauth_tokens (
	hash       BLOB PRIMARY KEY,
	kind       TEXT NOT NULL,
	client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users(id),
	scope      TEXT NOT NULL,
	family_id  TEXT NOT NULL,
	auth_time  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX oauth_tokens_family ON oauth_tokens(family_id);

CREATE TABLE oauth_keys (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	pem        BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
