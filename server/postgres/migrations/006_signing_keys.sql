-- Signing keys rotate: several may be stored, each signing from active_from
-- until it retires (retired_at, NULL on the newest key), and published
-- until the tokens it signed have expired.
CREATE TABLE oauth_signing_keys (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	pem         bytea NOT NULL,
	created_at  timestamptz NOT NULL,
	active_from timestamptz NOT NULL,
	retired_at  timestamptz
);

-- The one key of before keeps signing (and verifying the tokens it signed:
-- its key id is derived from the key).
INSERT INTO oauth_signing_keys (pem, created_at, active_from)
SELECT pem, created_at, created_at FROM oauth_keys;
DROP TABLE oauth_keys;
