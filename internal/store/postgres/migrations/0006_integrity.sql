-- Storage integrity. Counters are recomputed from the rows (earlier versions
-- could drive them negative under concurrent expunges, which bricked the
-- folder), and from now on an impossible state fails the statement that
-- would write it:
--   folders: counters never negative, unseen <= messages, UIDNEXT and
--            HIGHESTMODSEQ never go down, UIDVALIDITY never changes;
--   messages and expunged: UID below the folder's UIDNEXT, MODSEQ at most
--            its HIGHESTMODSEQ.
-- Bodies are no longer deleted with their last message: they are marked
-- orphaned and swept after a grace period, so that a session that still has
-- an expunged message in its view can finish reading it.

ALTER TABLE bodies ADD COLUMN orphaned_at BIGINT NOT NULL DEFAULT 0
;
CREATE INDEX bodies_orphaned ON bodies (orphaned_at) WHERE orphaned_at <> 0
;
UPDATE bodies SET orphaned_at = 1 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE body_id = bodies.id)
;
UPDATE folders SET
  messages = (SELECT count(*) FROM messages m WHERE m.folder_id = folders.id),
  unseen = (SELECT count(*) FROM messages m WHERE m.folder_id = folders.id AND (m.flags & 1) = 0),
  size = (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE m.folder_id = folders.id),
  uid_next = GREATEST(uid_next,
    (SELECT coalesce(max(m.uid), 0) + 1 FROM messages m WHERE m.folder_id = folders.id),
    (SELECT coalesce(max(e.uid), 0) + 1 FROM expunged e WHERE e.folder_id = folders.id)),
  highest_modseq = GREATEST(highest_modseq,
    (SELECT coalesce(max(m.modseq), 0) FROM messages m WHERE m.folder_id = folders.id),
    (SELECT coalesce(max(e.modseq), 0) FROM expunged e WHERE e.folder_id = folders.id))
;
ALTER TABLE folders ADD CONSTRAINT folders_counters CHECK (messages >= 0 AND unseen >= 0
  AND unseen <= messages AND size >= 0 AND uid_next >= 1 AND highest_modseq >= 1)
;
ALTER TABLE messages ADD CONSTRAINT messages_in_range CHECK (uid >= 1 AND size >= 0)
;
CREATE FUNCTION integrity_violation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'integrity: %', TG_ARGV[0] USING ERRCODE = 'check_violation';
END
$$
;
CREATE TRIGGER folders_no_going_back BEFORE UPDATE ON folders FOR EACH ROW
WHEN (NEW.uid_next < OLD.uid_next OR NEW.highest_modseq < OLD.highest_modseq OR NEW.uid_validity <> OLD.uid_validity)
EXECUTE FUNCTION integrity_violation('folder UIDNEXT or HIGHESTMODSEQ going back, or UIDVALIDITY changed')
;
CREATE FUNCTION messages_in_folder_range() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  f folders%ROWTYPE;
BEGIN
  SELECT * INTO f FROM folders WHERE id = NEW.folder_id;
  IF FOUND AND (NEW.uid >= f.uid_next OR NEW.modseq > f.highest_modseq) THEN
    RAISE EXCEPTION 'integrity: % UID % MODSEQ % beyond folder % (UIDNEXT %, HIGHESTMODSEQ %)',
      TG_TABLE_NAME, NEW.uid, NEW.modseq, NEW.folder_id, f.uid_next, f.highest_modseq
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$
;
CREATE TRIGGER messages_in_range_insert BEFORE INSERT ON messages FOR EACH ROW
EXECUTE FUNCTION messages_in_folder_range()
;
CREATE TRIGGER messages_in_range_update BEFORE UPDATE OF folder_id, uid, modseq ON messages FOR EACH ROW
EXECUTE FUNCTION messages_in_folder_range()
;
CREATE TRIGGER expunged_in_range BEFORE INSERT OR UPDATE ON expunged FOR EACH ROW
EXECUTE FUNCTION messages_in_folder_range()
;
