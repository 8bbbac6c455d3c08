-- Session reports: each node's answer to a cluster-wide question "which
-- POP3/IMAP4 sessions are open?" (the sessions -WhatIf says a change would
-- close). Rows live for one question and are deleted by whoever asked.
CREATE TABLE session_reports (
  query_id INTEGER NOT NULL,
  node TEXT NOT NULL,
  mailbox_id INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  since INTEGER NOT NULL,
  reported_at INTEGER NOT NULL
)
;
CREATE INDEX session_reports_query ON session_reports (query_id)
;
