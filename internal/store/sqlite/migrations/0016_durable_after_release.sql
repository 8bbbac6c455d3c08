-- 0016 on PostgreSQL adds what new mail's two-step commit needs there
-- (commit_barriers, gatehouse_refuse_if). SQLite commits new mail through
-- its group commit instead (sqlstore, ARCHITECTURE.md Durability) and never
-- writes commit_barriers: the table is here so that both engines' schemas
-- have the same tables, which gatehouse move-store requires.
CREATE TABLE commit_barriers (
    pid INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
)
