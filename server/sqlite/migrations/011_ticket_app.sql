-- app_flow names the open platform's flow that started a ticket ('' for a
-- desktop's own login, 'authorize' or 'device'), so that a scan or a redeem
-- need not look up an authorization request for every ticket. Tickets
-- started before it are marked from their requests; and the database
-- itself marks the ticket of every request stored from now on, so that
-- no ticket with a request stays unmarked, whatever code stored it.
ALTER TABLE tickets ADD COLUMN app_flow TEXT NOT NULL DEFAULT '';
UPDATE tickets SET app_flow = CASE
		WHEN (SELECT user_code FROM oauth_requests r WHERE r.ticket_id = tickets.id) IS NOT NULL THEN 'device'
		ELSE 'authorize' END
	WHERE id IN (SELECT ticket_id FROM oauth_requests);
CREATE TRIGGER oauth_requests_mark_ticket AFTER INSERT ON oauth_requests BEGIN
	UPDATE tickets SET app_flow = CASE WHEN NEW.user_code IS NOT NULL THEN 'device' ELSE 'authorize' END
		WHERE id = NEW.ticket_id AND app_flow = '';
END;
