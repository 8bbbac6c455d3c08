-- body_orphans: the bodies that may no longer be referenced, with when they
-- were marked (sqlstore.markOrphanBodies, swept by SweepBodies after the
-- grace period). They were marked in bodies.orphaned_at, and an UPDATE of a
-- body's row rewrites the whole row, message included: every EXPUNGE wrote
-- its messages' bodies again (on SQLite, the record and its overflow pages:
-- a quarter of the bytes a mixed IMAP load wrote; on PostgreSQL it kept the
-- bodies out of line, see 0019 there). A row of its own costs a few octets.
-- bodies.orphaned_at stays, no longer written or read: dropping a column
-- rewrites every row of the table on SQLite, which on a large store would
-- make this upgrade take minutes and twice the disk space.
CREATE TABLE body_orphans (
  body_id INTEGER PRIMARY KEY,
  orphaned_at INTEGER NOT NULL
)
;
CREATE INDEX body_orphans_at ON body_orphans (orphaned_at)
;
INSERT INTO body_orphans (body_id, orphaned_at) SELECT id, orphaned_at FROM bodies WHERE orphaned_at <> 0
;
DROP INDEX bodies_orphaned
