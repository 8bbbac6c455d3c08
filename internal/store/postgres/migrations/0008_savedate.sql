-- SAVEDATE (RFC 8514): the moment a message was saved in its current
-- folder. Append, delivery, COPY and MOVE set it; a flag change does not.
-- Messages stored before this migration get the time of the migration, not
-- their internal date: the internal date of a message that was copied,
-- moved or appended is often far older than the moment it reached its
-- folder (an APPEND keeps the date the client gives, a COPY or MOVE keeps
-- the original), so taking it would make such messages look saved long ago,
-- and an expiry by save date ("SEARCH SAVEDBEFORE" to empty Trash) would
-- throw away what was put there yesterday. The time of the migration is
-- never earlier than the real save time: such an expiry only starts late.

ALTER TABLE messages ADD COLUMN save_date BIGINT NOT NULL DEFAULT 0
;
UPDATE messages SET save_date = (extract(epoch FROM now()) * 1000000)::bigint
;
-- PREVIEW (RFC 8970): the preview of a body, made once when it is stored,
-- in a table of its own so that the summary rows SEARCH reads stay short.
-- Bodies stored before have no row: their previews are made when asked.
CREATE TABLE body_previews (
  body_id BIGINT PRIMARY KEY REFERENCES bodies (id) ON DELETE CASCADE,
  preview TEXT NOT NULL
)
;
