-- A rotating ticket's QR is replaced every rotate_every (microseconds; 0:
-- never) by a ref the server seals from the ticket's id and the rotation's
-- number, with a key every node reads from server_keys: rotating writes
-- nothing, and only a ticket's first ref is stored in ticket_refs.
ALTER TABLE tickets ADD COLUMN rotate_every BIGINT NOT NULL DEFAULT 0;
CREATE TABLE server_keys (
	name TEXT PRIMARY KEY,
	key BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
