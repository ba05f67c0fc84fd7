-- The purge of old tickets found them by updated_at, whose index every
-- ticket update rewrote. It finds them by created_at now, which never
-- changes: a ticket last updated before a time was created before it.
DROP INDEX tickets_updated;
CREATE INDEX tickets_created ON tickets (created_at);
