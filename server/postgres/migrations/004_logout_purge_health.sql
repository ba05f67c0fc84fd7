-- A phone's logout cancels the tickets it has in flight, and the purge
-- keeps a device that a ticket in flight names: both find them among the
-- live tickets, whose index now carries the device (and the state, for
-- index-only scans). Every move of a ticket adds an entry to each of its
-- indexes anyway (none is a HOT update): this costs the login path
-- nothing, where an index of its own would cost an entry per move.
DROP INDEX tickets_live_expiry;
CREATE INDEX tickets_live_expiry ON tickets (expires_at) INCLUDE (device_id, state) WHERE state IN ('pending', 'scanned', 'confirmed');

-- A logout finds every device row of the phone, revoked or not (its
-- earlier logins), not only the live ones.
DROP INDEX devices_user_client;
CREATE INDEX devices_user_client ON devices (user_id, client_id);

-- The ticket whose redeem created the session: the purge keeps a session
-- while that ticket is stored. Sessions from before this column have ''.
ALTER TABLE sessions ADD COLUMN ticket_id text NOT NULL DEFAULT '';

-- The purge finds ended sessions and revoked devices by their times.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX devices_revoked ON devices (revoked_at) WHERE revoked_at IS NOT NULL;

-- The health check's write probe (Store.CheckWrites) updates this one row.
CREATE TABLE heartbeat (
	id     integer PRIMARY KEY CHECK (id = 1),
	at     timestamptz NOT NULL,
	probes bigint NOT NULL
);
INSERT INTO heartbeat (id, at, probes) VALUES (1, now(), 0);
