-- body_subjects: a trigram index of the subjects (FTS5 'trigram'
-- tokenizer, case-folded), so that SEARCH SUBJECT of a large folder reads
-- the few bodies whose subject holds every trigram of the word instead of
-- every message's summary (sqlstore.SearchSummary). It indexes
-- body_summaries (external content: the subjects are not stored twice)
-- and is kept in step with it by triggers, in the transaction of each
-- delivery, APPEND and import; COPY and MOVE share the body. A body's
-- rows go when its last message is expunged (ON DELETE CASCADE fires the
-- delete trigger). The index only narrows: each candidate is checked
-- again with the exact comparison.
CREATE VIRTUAL TABLE body_subjects USING fts5(subject, content='body_summaries', content_rowid='body_id', tokenize='trigram')
;
INSERT INTO body_subjects (body_subjects) VALUES ('rebuild')
;
CREATE TRIGGER body_subjects_insert AFTER INSERT ON body_summaries BEGIN
  INSERT INTO body_subjects (rowid, subject) VALUES (new.body_id, new.subject);
END
;
CREATE TRIGGER body_subjects_delete AFTER DELETE ON body_summaries BEGIN
  INSERT INTO body_subjects (body_subjects, rowid, subject) VALUES ('delete', old.body_id, old.subject);
END
;
CREATE TRIGGER body_subjects_update AFTER UPDATE OF body_id, subject ON body_summaries BEGIN
  INSERT INTO body_subjects (body_subjects, rowid, subject) VALUES ('delete', old.body_id, old.subject);
  INSERT INTO body_subjects (rowid, subject) VALUES (new.body_id, new.subject);
END
