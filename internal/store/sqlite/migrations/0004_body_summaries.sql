-- What is parsed from a body moves out of the bodies table into narrow
-- tables of its own: a SEARCH over the subjects of a large folder then reads
-- a few pages of short rows instead of one leaf page per message (each
-- bodies row holds the start of its message inline).
CREATE TABLE body_summaries (
  body_id INTEGER PRIMARY KEY REFERENCES bodies (id) ON DELETE CASCADE,
  subject TEXT NOT NULL DEFAULT '',
  from_addr TEXT NOT NULL DEFAULT '',
  to_addr TEXT NOT NULL DEFAULT '',
  cc_addr TEXT NOT NULL DEFAULT '',
  sent_date INTEGER NOT NULL DEFAULT 0
)
;
CREATE TABLE body_structures (
  body_id INTEGER PRIMARY KEY REFERENCES bodies (id) ON DELETE CASCADE,
  structure BLOB NOT NULL
)
;
INSERT INTO body_summaries (body_id, subject, from_addr, to_addr, cc_addr, sent_date)
  SELECT id, subject, from_addr, to_addr, cc_addr, sent_date FROM bodies
;
INSERT INTO body_structures (body_id, structure) SELECT id, structure FROM bodies
;
ALTER TABLE bodies DROP COLUMN subject
;
ALTER TABLE bodies DROP COLUMN from_addr
;
ALTER TABLE bodies DROP COLUMN to_addr
;
ALTER TABLE bodies DROP COLUMN cc_addr
;
ALTER TABLE bodies DROP COLUMN sent_date
;
ALTER TABLE bodies DROP COLUMN structure
;
