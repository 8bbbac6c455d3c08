-- Gatehouse schema, SQLite dialect. Append-only: never edit a migration that
-- has landed; add a new numbered file. Statements end with a line holding ";".
-- Times are microseconds since the Unix epoch (0 = never/unknown).

CREATE TABLE org_config (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  domain TEXT NOT NULL,
  security_defaults_enabled INTEGER NOT NULL DEFAULT 0,
  when_changed INTEGER NOT NULL DEFAULT 0
)
;
CREATE TABLE cas_mailbox_plan (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pop_enabled INTEGER NOT NULL DEFAULT 1,
  imap_enabled INTEGER NOT NULL DEFAULT 1,
  when_changed INTEGER NOT NULL DEFAULT 0
)
;
INSERT INTO cas_mailbox_plan (id, pop_enabled, imap_enabled, when_changed) VALUES (1, 1, 1, 0)
;
CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  guid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  name_lc TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  display_name_lc TEXT NOT NULL,
  alias TEXT NOT NULL,
  alias_lc TEXT NOT NULL UNIQUE,
  primary_smtp_address TEXT NOT NULL,
  primary_lc TEXT NOT NULL,
  email_addresses TEXT NOT NULL DEFAULT '',
  upn TEXT NOT NULL,
  upn_lc TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  pop_enabled INTEGER NOT NULL,
  imap_enabled INTEGER NOT NULL,
  when_created INTEGER NOT NULL,
  when_changed INTEGER NOT NULL,
  last_pop_logon INTEGER NOT NULL DEFAULT 0,
  last_imap_logon INTEGER NOT NULL DEFAULT 0
)
;
CREATE INDEX mailboxes_display_name ON mailboxes (display_name_lc, id)
;
CREATE INDEX mailboxes_primary ON mailboxes (primary_lc, id)
;
CREATE TABLE mailbox_addresses (
  address_lc TEXT PRIMARY KEY,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  is_primary INTEGER NOT NULL
)
;
CREATE INDEX mailbox_addresses_mailbox ON mailbox_addresses (mailbox_id)
;
CREATE TABLE uidvalidity_seq (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL
)
;
INSERT INTO uidvalidity_seq (id, last) VALUES (1, 0)
;
CREATE TABLE folders (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  special_use TEXT NOT NULL DEFAULT '',
  uid_validity INTEGER NOT NULL,
  uid_next INTEGER NOT NULL DEFAULT 1,
  highest_modseq INTEGER NOT NULL DEFAULT 1,
  first_recent_uid INTEGER NOT NULL DEFAULT 1,
  messages INTEGER NOT NULL DEFAULT 0,
  unseen INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  UNIQUE (mailbox_id, name)
)
;
CREATE TABLE subscriptions (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, name)
)
;
-- A body is the stored content of a message, shared by its copies. The first
-- chunk lives in bodies.data; larger bodies continue in body_chunks (n >= 1).
-- What is parsed from the content (structure, summary) lives with it.
CREATE TABLE bodies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size INTEGER NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  from_addr TEXT NOT NULL DEFAULT '',
  to_addr TEXT NOT NULL DEFAULT '',
  cc_addr TEXT NOT NULL DEFAULT '',
  sent_date INTEGER NOT NULL DEFAULT 0,
  structure BLOB NOT NULL,
  data BLOB NOT NULL
)
;
CREATE TABLE body_chunks (
  body_id INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
  n INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (body_id, n)
)
;
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  keywords TEXT NOT NULL DEFAULT '',
  internal_date INTEGER NOT NULL,
  size INTEGER NOT NULL,
  body_id INTEGER NOT NULL REFERENCES bodies (id),
  UNIQUE (folder_id, uid)
)
;
CREATE INDEX messages_modseq ON messages (folder_id, modseq)
;
CREATE INDEX messages_body ON messages (body_id)
;
CREATE TABLE expunged (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY (folder_id, uid)
)
;
CREATE INDEX expunged_modseq ON expunged (folder_id, modseq)
;
CREATE TABLE role_groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  name_lc TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL
)
;
INSERT INTO role_groups (id, name, name_lc, description) VALUES
  (1, 'Organization Management', 'organization management', 'Administrators who manage everything in the organization, including security defaults, the CAS mailbox plan and role membership.'),
  (2, 'Recipient Management', 'recipient management', 'Administrators who create, change and remove mailboxes, including their POP3 and IMAP4 settings.'),
  (3, 'Help Desk', 'help desk', 'Members can view mailboxes and their settings and reset passwords; they cannot change protocol settings.'),
  (4, 'View-Only Organization Management', 'view-only organization management', 'Members can view everything in the organization but change nothing.')
;
CREATE TABLE role_group_members (
  role_group_id INTEGER NOT NULL REFERENCES role_groups (id),
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  PRIMARY KEY (role_group_id, mailbox_id)
)
;
CREATE INDEX role_group_members_mailbox ON role_group_members (mailbox_id)
;
CREATE TABLE audit_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_date INTEGER NOT NULL,
  caller TEXT NOT NULL,
  caller_lc TEXT NOT NULL,
  client_address TEXT NOT NULL,
  surface TEXT NOT NULL,
  cmdlet_name TEXT NOT NULL,
  cmdlet_name_lc TEXT NOT NULL,
  cmdlet_parameters TEXT NOT NULL,
  object_modified TEXT NOT NULL,
  object_modified_lc TEXT NOT NULL,
  modified_properties TEXT NOT NULL,
  succeeded INTEGER NOT NULL,
  error TEXT NOT NULL
)
;
CREATE INDEX audit_records_run_date ON audit_records (run_date)
;
-- The audit log is append-only on every surface and in the database itself.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END
;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END
;
CREATE TABLE login_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  mailbox_id INTEGER NOT NULL,
  username TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  tls INTEGER NOT NULL,
  client_name TEXT NOT NULL,
  client_version TEXT NOT NULL
)
;
CREATE INDEX login_records_time ON login_records (time)
;
CREATE INDEX login_records_mailbox ON login_records (mailbox_id, time)
;
