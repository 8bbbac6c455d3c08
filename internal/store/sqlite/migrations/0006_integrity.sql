-- Storage integrity. Counters are recomputed from the rows (earlier versions
-- could let them drift under concurrent expunges), and from now on an
-- impossible state fails the statement that would write it instead of
-- bricking the folder later:
--   folders: counters never negative, unseen <= messages, UIDNEXT and
--            HIGHESTMODSEQ never go down, UIDVALIDITY never changes;
--   messages and expunged: UID below the folder's UIDNEXT, MODSEQ at most
--            its HIGHESTMODSEQ.
-- Bodies are no longer deleted with their last message: they are marked
-- orphaned and swept after a grace period, so that a session that still has
-- an expunged message in its view (it has not been told yet) can finish
-- reading it instead of finding it gone in the middle of a literal.

ALTER TABLE bodies ADD COLUMN orphaned_at INTEGER NOT NULL DEFAULT 0
;
CREATE INDEX bodies_orphaned ON bodies (orphaned_at) WHERE orphaned_at <> 0
;
UPDATE bodies SET orphaned_at = 1 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE body_id = bodies.id)
;
UPDATE folders SET
  messages = (SELECT count(*) FROM messages m WHERE m.folder_id = folders.id),
  unseen = (SELECT count(*) FROM messages m WHERE m.folder_id = folders.id AND (m.flags & 1) = 0),
  size = (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE m.folder_id = folders.id),
  uid_next = max(uid_next,
    (SELECT coalesce(max(m.uid), 0) + 1 FROM messages m WHERE m.folder_id = folders.id),
    (SELECT coalesce(max(e.uid), 0) + 1 FROM expunged e WHERE e.folder_id = folders.id)),
  highest_modseq = max(highest_modseq,
    (SELECT coalesce(max(m.modseq), 0) FROM messages m WHERE m.folder_id = folders.id),
    (SELECT coalesce(max(e.modseq), 0) FROM expunged e WHERE e.folder_id = folders.id))
;
CREATE TRIGGER folders_counters_insert BEFORE INSERT ON folders
WHEN NEW.messages < 0 OR NEW.unseen < 0 OR NEW.unseen > NEW.messages OR NEW.size < 0
  OR NEW.uid_next < 1 OR NEW.highest_modseq < 1
BEGIN
  SELECT RAISE(ABORT, 'integrity: folder counters out of range');
END
;
CREATE TRIGGER folders_counters_update BEFORE UPDATE ON folders
WHEN NEW.messages < 0 OR NEW.unseen < 0 OR NEW.unseen > NEW.messages OR NEW.size < 0
  OR NEW.uid_next < OLD.uid_next OR NEW.highest_modseq < OLD.highest_modseq
  OR NEW.uid_validity <> OLD.uid_validity
BEGIN
  SELECT RAISE(ABORT, 'integrity: folder counters out of range or going back');
END
;
CREATE TRIGGER messages_in_range_insert BEFORE INSERT ON messages
WHEN NEW.uid < 1 OR NEW.size < 0
  OR NEW.uid >= (SELECT uid_next FROM folders WHERE id = NEW.folder_id)
  OR NEW.modseq > (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id)
BEGIN
  SELECT RAISE(ABORT, 'integrity: message UID or MODSEQ beyond its folder');
END
;
CREATE TRIGGER messages_in_range_update BEFORE UPDATE OF folder_id, uid, modseq ON messages
WHEN NEW.uid < 1
  OR NEW.uid >= (SELECT uid_next FROM folders WHERE id = NEW.folder_id)
  OR NEW.modseq > (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id)
BEGIN
  SELECT RAISE(ABORT, 'integrity: message UID or MODSEQ beyond its folder');
END
;
CREATE TRIGGER expunged_in_range BEFORE INSERT ON expunged
WHEN NEW.uid >= (SELECT uid_next FROM folders WHERE id = NEW.folder_id)
  OR NEW.modseq > (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id)
BEGIN
  SELECT RAISE(ABORT, 'integrity: expunged UID or MODSEQ beyond its folder');
END
;
CREATE TRIGGER expunged_in_range_update BEFORE UPDATE ON expunged
WHEN NEW.modseq > (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id)
BEGIN
  SELECT RAISE(ABORT, 'integrity: expunged UID or MODSEQ beyond its folder');
END
;
