-- mailboxes.scram_sha256: the SCRAM-SHA-256 keys (RFC 5802, RFC 7677) in
-- RFC 5803's form, "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
-- (base64), made beside the argon2id hash whenever a password is set. Empty
-- for passwords set before: such a mailbox cannot use SCRAM until its next
-- password change.
ALTER TABLE mailboxes ADD COLUMN scram_sha256 TEXT NOT NULL DEFAULT '';
-- login_records.auth_method: how the client signed in (a SASL mechanism,
-- "LOGIN" or "USER" for the protocols' own password commands); empty for
-- records written before.
ALTER TABLE login_records ADD COLUMN auth_method TEXT NOT NULL DEFAULT '';
