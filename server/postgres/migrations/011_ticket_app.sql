-- app_flow names the open platform's flow that started a ticket ('' for a
-- desktop's own login, 'authorize' or 'device'), so that a scan or a redeem
-- need not look up an authorization request for every ticket. Tickets
-- started before it are marked from their requests; and the database
-- itself marks the ticket of every request stored from now on, so that
-- no ticket with a request stays unmarked, whatever code stored it (a
-- node of before, during a rolling upgrade).
ALTER TABLE tickets ADD COLUMN app_flow text NOT NULL DEFAULT '';
UPDATE tickets SET app_flow = CASE WHEN r.user_code IS NOT NULL THEN 'device' ELSE 'authorize' END
	FROM oauth_requests r WHERE r.ticket_id = tickets.id;
CREATE FUNCTION oauth_requests_mark_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE tickets SET app_flow = CASE WHEN NEW.user_code IS NOT NULL THEN 'device' ELSE 'authorize' END
		WHERE id = NEW.ticket_id AND app_flow = '';
	RETURN NULL;
END
$$;
CREATE TRIGGER oauth_requests_mark_ticket AFTER INSERT ON oauth_requests
	FOR EACH ROW EXECUTE FUNCTION oauth_requests_mark_ticket();
