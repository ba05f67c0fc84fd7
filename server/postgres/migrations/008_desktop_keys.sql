-- Desktops enrolled for one-tap login, by the thumbprint of the key they
-- proved at a QR login. requests holds the times of recent one-tap
-- requests; pending_until (NULL for none) and ticket_ref describe the
-- latest request.
CREATE TABLE desktop_keys (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users(id),
	thumbprint    TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	os            TEXT NOT NULL,
	ip            TEXT NOT NULL,
	created_at    TIMESTAMPTZ NOT NULL,
	last_used_at  TIMESTAMPTZ NOT NULL,
	requests      TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
	pending_until TIMESTAMPTZ,
	ticket_ref    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX desktop_keys_user ON desktop_keys (user_id);
CREATE INDEX desktop_keys_ticket ON desktop_keys (ticket_ref) WHERE ticket_ref <> '';
