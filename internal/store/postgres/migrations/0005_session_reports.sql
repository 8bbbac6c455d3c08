-- Session reports: each node's answer to a cluster-wide question "which
-- POP3/IMAP4 sessions are open?" (the sessions -WhatIf says a change would
-- close). Rows live for one question and are deleted by whoever asked.
CREATE TABLE session_reports (
  query_id BIGINT NOT NULL,
  node TEXT NOT NULL,
  mailbox_id BIGINT NOT NULL,
  protocol TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  since BIGINT NOT NULL,
  reported_at BIGINT NOT NULL
)
;
CREATE INDEX session_reports_query ON session_reports (query_id)
;
