-- A desktop session may be bound to the desktop's key (DPoP, RFC 9449):
-- key_thumbprint is the RFC 7638 thumbprint of its public key, '' for a
-- bearer session.
ALTER TABLE sessions ADD COLUMN key_thumbprint TEXT NOT NULL DEFAULT '';
