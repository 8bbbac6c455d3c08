package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// summaryCache keeps the searchable header summary of message bodies
// (subject, from, to, cc; ASCII-lowered) in memory, keyed by body ID.
// A body never changes and its ID is never reused (AUTOINCREMENT in
// SQLite, an identity column in PostgreSQL), so an entry can never be
// stale: a deleted body's entry is only dead weight until it is evicted.
// SEARCH SUBJECT over a 1,000-message folder then costs one index read of
// (UID, body ID) pairs and a substring test per message, instead of a
// B-tree lookup per message in SQL.
type summaryCache struct {
	maxBytes int

	mu    sync.RWMutex
	m     map[int64]*summaryEntry
	order []int64 // insertion order, for FIFO eviction; head at start
	head  int
	bytes int
}

type summaryEntry struct{ subject, from, to, cc string }

func (e *summaryEntry) field(name string) string {
	switch name {
	case "subject":
		return e.subject
	case "from":
		return e.from
	case "to":
		return e.to
	case "cc":
		return e.cc
	}
	return ""
}

// summaryEntryOverhead approximates the map, pointer and struct bytes of
// one entry besides its strings.
const summaryEntryOverhead = 120

func newSummaryCache(maxBytes int) *summaryCache {
	if maxBytes <= 0 {
		return nil
	}
	return &summaryCache{maxBytes: maxBytes, m: map[int64]*summaryEntry{}}
}

func (c *summaryCache) get(id int64) *summaryEntry {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.m[id]
	c.mu.RUnlock()
	return e
}

func (c *summaryCache) put(id int64, e *summaryEntry) {
	size := summaryEntryOverhead + len(e.subject) + len(e.from) + len(e.to) + len(e.cc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok {
		return
	}
	c.m[id] = e
	c.order = append(c.order, id)
	c.bytes += size
	for c.bytes > c.maxBytes && c.head < len(c.order) {
		old := c.order[c.head]
		c.head++
		if o := c.m[old]; o != nil {
			c.bytes -= summaryEntryOverhead + len(o.subject) + len(o.from) + len(o.to) + len(o.cc)
			delete(c.m, old)
		}
	}
	// Reclaim the consumed head of the order slice now and then.
	if c.head > 4096 && c.head > len(c.order)/2 {
		c.order = append(c.order[:0:0], c.order[c.head:]...)
		c.head = 0
	}
}

var summaryColumn = map[string]string{"subject": "b.subject", "from": "b.from_addr", "to": "b.to_addr", "cc": "b.cc_addr"}

// summaryCacheMaxFolder is the largest folder searched through the cache.
// Reading (UID, body ID) of every message costs about half a microsecond a
// row, while SQL's own LIKE returns only the matches: for a very large
// folder that wins, and its summaries would crowd everyone else's out of
// the cache.
const summaryCacheMaxFolder = 20000

// summariesPerQuery bounds the body IDs looked up in one statement.
const summariesPerQuery = 500

// SearchSummary implements store.Mail: the UIDs among uids whose summary
// field contains substr, compared ASCII case-insensitively on both
// engines.
func (db *DB) SearchSummary(ctx context.Context, folderID int64, uids []store.UIDRange, field, substr string) ([]uint32, error) {
	field = strings.ToLower(field)
	col, ok := summaryColumn[field]
	if !ok {
		return nil, fmt.Errorf("search summary field %q: %w", field, store.ErrInvalid)
	}
	needle := asciiLower(substr)
	if db.summaries == nil {
		return db.searchSummarySQL(ctx, folderID, uids, col, needle)
	}
	var count int64
	if err := db.read(ctx, func(c conn) error {
		return c.queryRow(ctx, `SELECT messages FROM folders WHERE id = ?`, folderID).Scan(&count)
	}); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
	}
	if count > summaryCacheMaxFolder {
		return db.searchSummarySQL(ctx, folderID, uids, col, needle)
	}
	type msg struct {
		uid    uint32
		bodyID int64
	}
	var msgs []msg
	for _, cl := range uidClauses("uid", uids) {
		err := db.read(ctx, func(c conn) error {
			q := `SELECT uid, body_id FROM messages WHERE folder_id = ? AND ` + cl.sql + ` ORDER BY uid`
			args := append([]any{folderID}, cl.args...)
			var rows *sql.Rows
			var err error
			if cl.fixed {
				rows, err = c.query(ctx, q, args...)
			} else {
				rows, err = c.queryDynamic(ctx, q, args...)
			}
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var m msg
				if err := rows.Scan(&m.uid, &m.bodyID); err != nil {
					return err
				}
				msgs = append(msgs, m)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
		}
	}
	entries := make([]*summaryEntry, len(msgs))
	var missing []int64
	for i, m := range msgs {
		if e := db.summaries.get(m.bodyID); e != nil {
			entries[i] = e
		} else {
			missing = append(missing, m.bodyID)
		}
	}
	fetched, err := db.loadSummaries(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
	}
	var out []uint32
	for i, m := range msgs {
		e := entries[i]
		if e == nil {
			if e = fetched[m.bodyID]; e == nil {
				continue // the message went away meanwhile
			}
		}
		if strings.Contains(e.field(field), needle) {
			out = append(out, m.uid)
		}
	}
	return out, nil
}

// searchSummarySQL is SearchSummary done by the database: LIKE over the
// summary column, ASCII-lowered as asciiLower does (SQLite's lower() folds
// ASCII only; PostgreSQL's folds more, which can only add matches for
// characters outside ASCII, and needles are ASCII-lowered alike).
func (db *DB) searchSummarySQL(ctx context.Context, folderID int64, uids []store.UIDRange, col, needle string) ([]uint32, error) {
	pattern := "%" + escapeLike(needle) + "%"
	var out []uint32
	for _, cl := range uidClauses("m.uid", uids) {
		err := db.read(ctx, func(c conn) error {
			rows, err := c.queryDynamic(ctx, `SELECT m.uid FROM messages m JOIN body_summaries b ON b.body_id = m.body_id
				WHERE m.folder_id = ? AND `+cl.sql+` AND lower(`+col+`) LIKE ? ESCAPE '\' ORDER BY m.uid`,
				append(append([]any{folderID}, cl.args...), pattern)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var u uint32
				if err := rows.Scan(&u); err != nil {
					return err
				}
				out = append(out, u)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// loadSummaries reads the summaries of the bodies ids and caches them.
func (db *DB) loadSummaries(ctx context.Context, ids []int64) (map[int64]*summaryEntry, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make(map[int64]*summaryEntry, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), summariesPerQuery)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := `SELECT body_id, subject, from_addr, to_addr, cc_addr FROM body_summaries WHERE body_id IN (?` +
			strings.Repeat(", ?", len(chunk)-1) + `)`
		err := db.read(ctx, func(c conn) error {
			rows, err := c.queryDynamic(ctx, q, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var e summaryEntry
				if err := rows.Scan(&id, &e.subject, &e.from, &e.to, &e.cc); err != nil {
					return err
				}
				e.subject, e.from, e.to, e.cc = asciiLower(e.subject), asciiLower(e.from), asciiLower(e.to), asciiLower(e.cc)
				out[id] = &e
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	if db.summaries != nil {
		for id, e := range out {
			db.summaries.put(id, e)
		}
	}
	return out, nil
}
