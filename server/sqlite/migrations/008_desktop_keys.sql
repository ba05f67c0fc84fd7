-- Desktops enrolled for one-tap login, by the thumbprint of the key they
-- proved at a QR login. requests holds the Unix nanoseconds of recent
-- one-tap requests, comma-separated; pending_until (0 for none) and
-- ticket_ref describe the latest request.
CREATE TABLE desktop_keys (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users(id),
	thumbprint    TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	os            TEXT NOT NULL,
	ip            TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL,
	requests      TEXT NOT NULL DEFAULT '',
	pending_until INTEGER NOT NULL DEFAULT 0,
	ticket_ref    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX desktop_keys_user ON desktop_keys (user_id);
CREATE INDEX desktop_keys_ticket ON desktop_keys (ticket_ref) WHERE ticket_ref <> '';
