-- A phone's logout cancels the tickets it has in flight, and the purge
-- keeps a device that a ticket in flight names: both find them among the
-- live tickets, whose index now carries the device. That index is
-- rewritten on every move of a ticket anyway: this costs the login path
-- nothing, where an index of its own would cost a rewrite per move.
DROP INDEX tickets_live_expiry;
CREATE INDEX tickets_live_expiry ON tickets(expires_at, device_id) WHERE state IN ('pending', 'scanned', 'confirmed');

-- The ticket whose redeem created the session: the purge keeps a session
-- while that ticket is stored. Sessions from before this column have ''.
ALTER TABLE sessions ADD COLUMN ticket_id TEXT NOT NULL DEFAULT '';

-- The purge finds ended sessions and revoked devices by their times.
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at <> 0;
CREATE INDEX devices_revoked ON devices(revoked_at) WHERE revoked_at <> 0;

-- The health check's write probe (Store.CheckWrites) updates this one row.
CREATE TABLE heartbeat (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	at     INTEGER NOT NULL,
	probes INTEGER NOT NULL
);
INSERT INTO heartbeat (id, at, probes) VALUES (1, 0, 0);
