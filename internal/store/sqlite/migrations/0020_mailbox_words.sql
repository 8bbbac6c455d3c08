-- mailbox_words: the admin list's search (sqlstore ListMailboxes) matches
-- the start of any word of a mailbox's name, display name, alias or
-- addresses. Each value was scanned with LIKE, about half a second a search
-- at 100,000 mailboxes. This table holds, for each mailbox, the text of its
-- values from each word start on (a word starts at the value's start and
-- after each of ' ', '.', '@', '-', '_', '+'), cut to 32 characters, so a
-- search is a prefix range of the primary key. sqlstore.searchWords makes
-- the same rows for a mailbox written from now on; the recursive query
-- below makes them for the mailboxes there are.
CREATE TABLE mailbox_words (
  word TEXT NOT NULL,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  PRIMARY KEY (word, mailbox_id)
) WITHOUT ROWID
;
CREATE INDEX mailbox_words_mailbox ON mailbox_words (mailbox_id)
;
WITH RECURSIVE v (id, s) AS (
  SELECT id, name_lc FROM mailboxes
  UNION SELECT id, display_name_lc FROM mailboxes
  UNION SELECT id, alias_lc FROM mailboxes
  UNION SELECT mailbox_id, address_lc FROM mailbox_addresses
), p (id, s, i) AS (
  SELECT id, s, 1 FROM v WHERE s <> ''
  UNION ALL SELECT id, s, i + 1 FROM p WHERE i < length(s)
)
INSERT INTO mailbox_words (word, mailbox_id)
SELECT DISTINCT substr(s, i, 32), id FROM p
WHERE i = 1 OR substr(s, i - 1, 1) IN (' ', '.', '@', '-', '_', '+')
