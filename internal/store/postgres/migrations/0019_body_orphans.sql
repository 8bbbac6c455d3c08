-- body_orphans: the bodies that may no longer be referenced, with when they
-- were marked (sqlstore.markOrphanBodies, swept by SweepBodies after the
-- grace period). They were marked in bodies.orphaned_at, and an UPDATE of a
-- body's row writes a new version of the whole row: cheap only while the
-- message itself sits out of line in TOAST (behind a pointer), which costs
-- every read of a body a lookup in the TOAST index and a fetch of each of
-- its 2 kB chunks (a quarter of PostgreSQL's CPU in a POP3 download). With
-- the marks in a table of their own, bodies.data is stored MAIN: kept in
-- the row, compressed when that helps, and out of line only when it does
-- not fit in a page even compressed. That applies to bodies stored from
-- now on; older ones stay as they are and read as before.
-- bodies.orphaned_at stays, no longer written or read, as on SQLite (where
-- dropping it would rewrite every body), so that both engines keep the same
-- columns (move-store copies column by column).
CREATE TABLE body_orphans (
  body_id bigint PRIMARY KEY,
  orphaned_at bigint NOT NULL
);
CREATE INDEX body_orphans_at ON body_orphans (orphaned_at);
INSERT INTO body_orphans (body_id, orphaned_at) SELECT id, orphaned_at FROM bodies WHERE orphaned_at <> 0;
DROP INDEX bodies_orphaned;
ALTER TABLE bodies ALTER COLUMN data SET STORAGE MAIN;
-- ANALYZE reads 300 rows for each point of the largest statistics target
-- of a table's columns (30,000 by default), and the pages they are on. No
-- statement looks bodies up but by id, its primary key, so statistics on
-- its columns buy no plan; with the messages in the rows, the default
-- made every ANALYZE of a test server's bodies read its whole heap (7,000
-- pages, a second of CPU, three times in a 20-second mixed IMAP load, which
-- ran 10 % slower for it). 10 reads 3,000 rows; 0 leaves a column out.
ALTER TABLE bodies ALTER COLUMN id SET STATISTICS 10, ALTER COLUMN size SET STATISTICS 10,
  ALTER COLUMN data SET STATISTICS 0, ALTER COLUMN orphaned_at SET STATISTICS 0;
