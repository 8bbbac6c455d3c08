-- A trigram index of the subjects (pg_trgm, GIN over lower(subject)), so
-- that SEARCH SUBJECT of a large folder (lower(subject) LIKE '%word%', see
-- sqlstore.SearchSummary) reads the bodies whose subject has every trigram
-- of the word instead of every message's summary. pg_trgm is in
-- PostgreSQL's contrib (Debian's postgresql-15 has it) and is a trusted
-- extension, which the database's owner may create. A server without it,
-- or a role that may not create it, keeps the scan: the migration does not
-- fail, and the store logs at start that the index is missing.
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm not available (%): SEARCH SUBJECT scans', SQLERRM;
    RETURN;
  END;
  EXECUTE 'CREATE INDEX body_summaries_subject_trgm ON body_summaries USING gin (lower(subject) gin_trgm_ops)';
END
$$
