-- 0018 on PostgreSQL compresses message bodies with LZ4; SQLite stores them
-- as they are. The number is kept so that both engines count alike.
SELECT 1
