-- messages_flags: what SELECT/EXAMINE reads of every message of a folder
-- (FolderIndex: UID, MODSEQ, flags, keywords), in UID order, in one index.
-- Without it SQLite walks the (folder_id, uid) index and looks each row up
-- in the table by rowid: a B-tree descent per message, on pages spread over
-- the whole table (a folder's messages arrive among everyone else's). With
-- it a folder is a few adjacent index pages. It costs one more index entry
-- to rewrite per flag change, next to messages_modseq's.
CREATE INDEX messages_flags ON messages (folder_id, uid, modseq, flags, keywords)
