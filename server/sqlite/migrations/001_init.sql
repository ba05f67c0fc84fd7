-- Accounts, phones, tickets and desktop sessions. Times are Unix nanoseconds
-- (0 for "never"); secrets and tokens are stored only as SHA-256 hashes.
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
	display_name  TEXT NOT NULL,
	avatar_url    TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id),
	client_id    TEXT NOT NULL,
	name         TEXT NOT NULL,
	platform     TEXT NOT NULL,
	token_hash   BLOB NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_user_client ON devices(user_id, client_id);

CREATE TABLE tickets (
	id                 TEXT PRIMARY KEY,
	version            INTEGER NOT NULL,
	state              TEXT NOT NULL,
	poll_secret_hash   BLOB NOT NULL,
	current_ref        TEXT NOT NULL,
	desktop_name       TEXT NOT NULL,
	desktop_os         TEXT NOT NULL,
	desktop_app        TEXT NOT NULL,
	desktop_ip         TEXT NOT NULL,
	desktop_user_agent TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	expires_at         INTEGER NOT NULL,
	rotate_until       INTEGER NOT NULL,
	match_code         TEXT NOT NULL,
	match_required     INTEGER NOT NULL,
	match_failures     INTEGER NOT NULL,
	user_id            TEXT NOT NULL,
	device_id          TEXT NOT NULL,
	scan_token_hash    BLOB,
	scanned_at         INTEGER NOT NULL,
	confirmed_at       INTEGER NOT NULL,
	session_id         TEXT NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX tickets_scan_token ON tickets(scan_token_hash) WHERE scan_token_hash IS NOT NULL;
CREATE INDEX tickets_live_expiry ON tickets(expires_at) WHERE state IN ('pending', 'scanned', 'confirmed');
CREATE INDEX tickets_updated ON tickets(updated_at);

-- Every ref a ticket's QR has carried; the ticket's current_ref is the one
-- that can still be scanned.
CREATE TABLE ticket_refs (
	ref       TEXT PRIMARY KEY,
	ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX ticket_refs_ticket ON ticket_refs(ticket_id);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id),
	device_id    TEXT NOT NULL,
	token_hash   BLOB NOT NULL UNIQUE,
	desktop_name TEXT NOT NULL,
	desktop_os   TEXT NOT NULL,
	desktop_app  TEXT NOT NULL,
	ip           TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_device ON sessions(device_id);
