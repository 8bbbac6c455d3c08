-- 0016 on PostgreSQL adds what new mail's two-step commit needs there
-- (commit_barriers, gatehouse_refuse_if). SQLite commits new mail through
-- its group commit instead (sqlstore, ARCHITECTURE.md Durability). The
-- number is kept so that both engines count alike.
SELECT 1
