package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// trigramMinNeedle is the shortest word the trigram index can look up: a
// shorter one has no trigram and is searched by the scan.
const trigramMinNeedle = 3

// trigramCandidateShare bounds the bodies the trigram index may propose,
// as a share of the folder's messages: a word that many subjects hold
// ("re:", a list's tag) is cheaper to find with the scan than with one
// lookup of a message row per candidate body. The candidates are counted
// over the whole store (bodies are shared by folders and users), so the
// bound also stops a word common elsewhere from costing more than the scan
// of this folder.
const trigramCandidateShare = 4

// searchSubjectTrigrams is SEARCH SUBJECT through the trigram index of
// migration 0016 (SQLite: the FTS5 table body_subjects). The index only
// proposes bodies whose subject holds every trigram of the word, folded
// as FTS5 folds case (ASCII and more: never fewer candidates than the
// exact test accepts); each candidate is then tested exactly, as
// searchSummarySQL tests it. ok is false when the index cannot help: the
// word is too short or not ASCII, the engine has no such index, or the
// word is common (more candidates than the folder's messages over
// trigramCandidateShare); the caller then scans.
func (db *DB) searchSubjectTrigrams(ctx context.Context, folderID int64, uids []store.UIDRange, needle string, folderMessages int64) (out []uint32, ok bool, err error) {
	if db.d.Name != "sqlite" || len(needle) < trigramMinNeedle || !isASCIIString(needle) {
		return nil, false, nil
	}
	// An FTS5 string: the word as one phrase of trigrams, quotes doubled.
	phrase := `"` + strings.ReplaceAll(needle, `"`, `""`) + `"`
	limit := folderMessages/trigramCandidateShare + 1
	c := conn{db: db} // single statements: atomic without a transaction
	var candidates int64
	if err := c.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM body_subjects WHERE body_subjects MATCH ? LIMIT ?)`, phrase, limit).Scan(&candidates); err != nil {
		return nil, false, fmt.Errorf("search subject trigrams of folder %d: %w", folderID, err)
	}
	if candidates >= limit {
		return nil, false, nil
	}
	pattern := "%" + escapeLike(needle) + "%"
	for _, cl := range uidClauses("m.uid", uids) {
		// "+m.folder_id" keeps SQLite from walking the folder's index:
		// the candidates' message rows are found by body_id.
		got, err := scanColumn[uint32](c.queryDynamic(ctx, `SELECT m.uid FROM messages m JOIN body_summaries b ON b.body_id = m.body_id
			WHERE m.body_id IN (SELECT rowid FROM body_subjects WHERE body_subjects MATCH ?)
			AND +m.folder_id = ? AND `+cl.sql+` AND lower(b.subject) LIKE ? ESCAPE '\' ORDER BY m.uid`,
			append(append([]any{phrase, folderID}, cl.args...), pattern)...))
		out = append(out, got...)
		if err != nil {
			return nil, false, fmt.Errorf("search subject trigrams of folder %d: %w", folderID, err)
		}
	}
	return out, true, nil
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
