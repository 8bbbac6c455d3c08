-- Signed-in administrators: REST API bearer tokens and admin center
-- sessions. Only a SHA-256 of the token is stored.
CREATE TABLE admin_sessions (
  token_hash TEXT PRIMARY KEY,
  mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  surface TEXT NOT NULL,
  client_address TEXT NOT NULL,
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL
)
;
CREATE INDEX admin_sessions_mailbox ON admin_sessions (mailbox_id)
;
CREATE INDEX admin_sessions_expires ON admin_sessions (expires)
;
