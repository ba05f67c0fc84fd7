-- Accounts, phones, tickets and desktop sessions, as in the SQLite store.
-- Times are timestamptz, kept to the microsecond (PostgreSQL's precision).
-- A time that may be unset ("never": revoked_at, scanned_at, confirmed_at) is
-- NULL; the others are always set. Secrets and tokens are stored only as
-- SHA-256 hashes.
CREATE TABLE users (
	id            text PRIMARY KEY,
	username      text NOT NULL,
	display_name  text NOT NULL,
	avatar_url    text NOT NULL,
	password_hash text NOT NULL,
	created_at    timestamptz NOT NULL
);
-- Usernames are unique regardless of case; lookups use the same index.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE devices (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users(id),
	client_id    text NOT NULL,
	name         text NOT NULL,
	platform     text NOT NULL,
	token_hash   bytea NOT NULL UNIQUE,
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	revoked_at   timestamptz
);
CREATE INDEX devices_user_client ON devices (user_id, client_id) WHERE revoked_at IS NULL;

CREATE TABLE tickets (
	id                 text PRIMARY KEY,
	version            bigint NOT NULL,
	state              text NOT NULL,
	poll_secret_hash   bytea NOT NULL,
	current_ref        text NOT NULL,
	desktop_name       text NOT NULL,
	desktop_os         text NOT NULL,
	desktop_app        text NOT NULL,
	desktop_ip         text NOT NULL,
	desktop_user_agent text NOT NULL,
	created_at         timestamptz NOT NULL,
	expires_at         timestamptz NOT NULL,
	rotate_until       timestamptz NOT NULL,
	match_code         text NOT NULL,
	match_required     boolean NOT NULL,
	match_failures     integer NOT NULL,
	user_id            text NOT NULL,
	device_id          text NOT NULL,
	scan_token_hash    bytea UNIQUE, -- NULL until scanned; NULLs are distinct
	scanned_at         timestamptz,
	confirmed_at       timestamptz,
	session_id         text NOT NULL,
	updated_at         timestamptz NOT NULL
);
CREATE INDEX tickets_live_expiry ON tickets (expires_at) WHERE state IN ('pending', 'scanned', 'confirmed');
CREATE INDEX tickets_updated ON tickets (updated_at);

-- Every ref a ticket's QR has carried; the ticket's current_ref is the one
-- that can still be scanned.
CREATE TABLE ticket_refs (
	ref       text PRIMARY KEY,
	ticket_id text NOT NULL REFERENCES tickets(id) ON DELETE CASCADE
);
CREATE INDEX ticket_refs_ticket ON ticket_refs (ticket_id);

CREATE TABLE sessions (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users(id),
	device_id    text NOT NULL,
	token_hash   bytea NOT NULL UNIQUE,
	desktop_name text NOT NULL,
	desktop_os   text NOT NULL,
	desktop_app  text NOT NULL,
	ip           text NOT NULL,
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	revoked_at   timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_device ON sessions (device_id);
