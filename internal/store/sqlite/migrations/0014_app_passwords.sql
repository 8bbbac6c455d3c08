-- app_passwords: a mailbox's app passwords (New-AppPassword), for clients
-- that cannot sign in with OAuth. The secret is 128 bits or more of
-- randomness, shown once and never stored: secret_hash is its SHA-256 (hex).
-- A secret that cannot be guessed needs no slow hash (argon2id is for
-- passwords people choose), and a plain hash lets a login find it with one
-- indexed read, whoever's it is. last_used* are written by the login
-- recorder with the login records, off the login path; 0 and '' while
-- never used.
CREATE TABLE app_passwords (
  id INTEGER PRIMARY KEY,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  name_lc TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  when_created INTEGER NOT NULL,
  last_used INTEGER NOT NULL DEFAULT 0,
  last_used_protocol TEXT NOT NULL DEFAULT '',
  last_used_addr TEXT NOT NULL DEFAULT '',
  UNIQUE (mailbox_id, name_lc)
);
-- login_records.app_password: the name of the app password a login used
-- ('' for the mailbox's password, a token, or records from before).
ALTER TABLE login_records ADD COLUMN app_password TEXT NOT NULL DEFAULT '';
