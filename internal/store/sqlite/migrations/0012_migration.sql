-- IMAP migration in (Exchange's migration endpoints, batches and users) and
-- import from disk. Progress is kept per source folder (UIDVALIDITY, last
-- UID copied, HIGHESTMODSEQ seen) and written in the same transaction as
-- the messages it covers, so a crash never copies a message twice or loses
-- one. migration_messages maps every copied source message to its copy:
-- flag changes at the source find their target through it, and after a
-- UIDVALIDITY change at the source the re-copy skips what its SHA-256 says
-- is already there. The source password is kept AES-GCM sealed in secret
-- and set to NULL when the batch is completed.
CREATE TABLE migration_endpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  endpoint_type TEXT NOT NULL,
  remote_server TEXT NOT NULL,
  port INTEGER NOT NULL CHECK (port > 0 AND port < 65536),
  security TEXT NOT NULL,
  authentication TEXT NOT NULL,
  max_concurrent_migrations INTEGER NOT NULL CHECK (max_concurrent_migrations > 0),
  when_created INTEGER NOT NULL
)
;
CREATE TABLE migration_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  endpoint_id INTEGER NOT NULL REFERENCES migration_endpoints (id),
  status TEXT NOT NULL,
  exclude_folders TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  when_created INTEGER NOT NULL,
  start_time INTEGER NOT NULL DEFAULT 0,
  last_synced_time INTEGER NOT NULL DEFAULT 0,
  completed_time INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
)
;
CREATE TABLE migration_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id INTEGER NOT NULL REFERENCES migration_batches (id) ON DELETE CASCADE,
  mailbox_id INTEGER NOT NULL UNIQUE REFERENCES mailboxes (id) ON DELETE CASCADE,
  email_address TEXT NOT NULL,
  user_name TEXT NOT NULL,
  secret BLOB,
  status TEXT NOT NULL,
  items_total INTEGER NOT NULL DEFAULT 0,
  items_synced INTEGER NOT NULL DEFAULT 0,
  items_skipped INTEGER NOT NULL DEFAULT 0,
  bytes_transferred INTEGER NOT NULL DEFAULT 0,
  last_sync_time INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
)
;
CREATE INDEX migration_users_batch ON migration_users (batch_id)
;
CREATE TABLE migration_folders (
  user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
  source_name TEXT NOT NULL,
  folder_id INTEGER NOT NULL,
  uid_validity INTEGER NOT NULL,
  last_uid INTEGER NOT NULL DEFAULT 0,
  highest_modseq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, source_name)
)
;
CREATE TABLE migration_messages (
  user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
  source_name TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  source_uid INTEGER NOT NULL,
  hash TEXT NOT NULL,
  folder_id INTEGER NOT NULL,
  dest_uid INTEGER NOT NULL,
  PRIMARY KEY (user_id, source_name, uid_validity, source_uid)
)
;
CREATE INDEX migration_messages_hash ON migration_messages (user_id, source_name, hash)
;
CREATE TABLE migration_skipped (
  user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
  source_name TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  source_uid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  when_skipped INTEGER NOT NULL,
  PRIMARY KEY (user_id, source_name, uid_validity, source_uid)
)
;
CREATE TABLE import_items (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  item_key TEXT NOT NULL,
  folder_id INTEGER NOT NULL,
  dest_uid INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, item_key)
)
;
