-- The ticket of a one-tap request names the key that asked, which alone
-- may redeem it ('' on every other ticket); desktop keys are no longer
-- looked up by their latest ticket.
ALTER TABLE tickets ADD COLUMN key_thumbprint TEXT NOT NULL DEFAULT '';
DROP INDEX desktop_keys_ticket;
