-- New mail (APPEND, delivery) commits in two steps on PostgreSQL, sent in
-- one round trip (postgres.durablePipeline): its transaction commits with
-- synchronous_commit off, which releases the folder's row lock at once
-- instead of after the log's sync; a second transaction then commits
-- synchronously, so the answer comes only once the log is on disk up to it,
-- and so up to the first. A commit waits for the disk only when its
-- transaction wrote to the log; commit_barriers is what the second writes:
-- one row per server process (pg_backend_pid), so no two sessions ever
-- wait for each other on it.
CREATE TABLE commit_barriers (
    pid INTEGER PRIMARY KEY,
    n BIGINT NOT NULL
) WITH (fillfactor = 50)
;
-- gatehouse_refuse_if(true, reason) fails the statement, and so its
-- transaction, with SQLSTATE GH001 and reason as the message: a check that
-- a pipelined transaction makes in SQL (a folder that is gone, a quota that
-- the new mail would exceed) before a COMMIT sent with it.
CREATE FUNCTION gatehouse_refuse_if(refuse BOOLEAN, reason TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    IF refuse THEN
        RAISE EXCEPTION '%', reason USING ERRCODE = 'GH001';
    END IF;
    RETURN false;
END
$$
;
