-- Signing keys rotate: several may be stored, each signing from active_from
-- until it retires (retired_at, 0 on the newest key), and published until
-- the tokens it signed have expired. Times are Unix nanoseconds.
CREATE TABLE oauth_signing_keys (
	id          INTEGER PRIMARY KEY,
	pem         BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	active_from INTEGER NOT NULL,
	retired_at  INTEGER NOT NULL DEFAULT 0
);

-- The one key of before keeps signing (and verifying the tokens it signed:
-- its key id is derived from the key).
INSERT INTO oauth_signing_keys (pem, created_at, active_from)
SELECT pem, created_at, created_at FROM oauth_keys;
DROP TABLE oauth_keys;
