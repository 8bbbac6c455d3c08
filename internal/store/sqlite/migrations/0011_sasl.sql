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
-- auth_policies: Exchange's authentication policies (New-AuthenticationPolicy):
-- which protocols allow basic (password-based) authentication. Mailboxes
-- and the organization's default name a policy by its name (lower case in
-- *_lc); an empty name is none.
CREATE TABLE auth_policies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  name_lc TEXT NOT NULL UNIQUE,
  allow_basic_auth_pop INTEGER NOT NULL DEFAULT 0,
  allow_basic_auth_imap INTEGER NOT NULL DEFAULT 0,
  allow_basic_auth_smtp INTEGER NOT NULL DEFAULT 0,
  when_created INTEGER NOT NULL DEFAULT 0,
  when_changed INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE mailboxes ADD COLUMN auth_policy_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE org_config ADD COLUMN default_auth_policy_lc TEXT NOT NULL DEFAULT '';
