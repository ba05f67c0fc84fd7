-- app_flow names the open platform's flow that started a ticket ('' for a
-- desktop's own login, 'authorize' or 'device'), so that a scan or a redeem
-- need not look up an authorization request for every ticket. Tickets
-- started before it are marked from their requests.
ALTER TABLE tickets ADD COLUMN app_flow TEXT NOT NULL DEFAULT '';
UPDATE tickets SET app_flow = CASE
		WHEN (SELECT user_code FROM oauth_requests r WHERE r.ticket_id = tickets.id) IS NOT NULL THEN 'device'
		ELSE 'authorize' END
	WHERE id IN (SELECT ticket_id FROM oauth_requests);
