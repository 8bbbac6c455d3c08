-- SMTP submission (issue 16).
-- SmtpClientAuthenticationDisabled per mailbox (Set-CASMailbox): NULL follows
-- the organization's value (Set-TransportConfig), as in Exchange.
ALTER TABLE mailboxes ADD COLUMN smtp_client_auth_disabled BOOLEAN
;
ALTER TABLE org_config ADD COLUMN smtp_client_auth_disabled BOOLEAN NOT NULL DEFAULT FALSE
;
-- The outbound queue: messages submitted for recipients that are not local,
-- on their way to the smarthost. A row is committed before the submitting
-- client hears 250 and deleted only after the smarthost accepted it (or a
-- DSN went to the sender). recipients holds those still to be sent, one per
-- line. lease_holder/lease_expires mark a message a queue runner is sending,
-- so that no two runners (nodes) send it at once; a crashed runner's lease
-- lapses by itself.
CREATE TABLE outbound_queue (
  id BIGSERIAL PRIMARY KEY,
  mailbox_id BIGINT NOT NULL,
  mail_from TEXT NOT NULL,
  recipients TEXT NOT NULL,
  size BIGINT NOT NULL,
  data BYTEA NOT NULL,
  date_received BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  next_attempt BIGINT NOT NULL,
  retry_count BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  lease_holder TEXT NOT NULL DEFAULT '',
  lease_expires BIGINT NOT NULL DEFAULT 0
)
;
CREATE INDEX outbound_queue_due ON outbound_queue (next_attempt, id)
;
