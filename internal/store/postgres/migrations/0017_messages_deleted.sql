-- messages_deleted: the messages flagged \Deleted (store.FlagDeleted, bit
-- 8), by folder. EXPUNGE looks for them in the folder; without this index
-- it reads every message of the folder to find the few flagged (0.47 ms for
-- 200 messages on PostgreSQL, where flag changes scatter a folder's rows
-- over the table; a whole 1,000,000-message folder on either engine). The
-- statements name the bit as a literal (sqlstore.deletedCond), which is
-- what lets the planners use a partial index. Only flagged messages have
-- an entry, so it costs next to nothing to keep.
CREATE INDEX messages_deleted ON messages (folder_id, uid) WHERE flags & 8 <> 0
