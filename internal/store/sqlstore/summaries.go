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

// summaryCache keeps the searchable header summary of messages (subject,
// from, to, cc; ASCII-lowered) in memory, keyed by folder ID and UID. That
// pair names one message body for the life of the database: bodies never
// change, folder IDs are never reused (AUTOINCREMENT in SQLite, an
// identity column in PostgreSQL), and UIDs are never reused in a folder
// (UIDNEXT only grows; RENAME INBOX moves the messages to a new folder and
// INBOX keeps its UIDNEXT). So an entry can never be stale, on any node: an
// expunged message's entry is only dead weight until it is evicted.
//
// SEARCH SUBJECT over a 1,000-message folder then costs one index-only read
// of the folder's UIDs and a substring test per message, instead of two
// B-tree lookups per message in SQL. In WAL mode every write makes SQLite's
// readers drop their page caches, so under a mixed load those lookups ran
// cold; this is what made SEARCH the main cost of an IMAP session.
type summaryCache struct {
	maxBytes int

	mu    sync.RWMutex
	m     map[summaryKey]*summaryEntry
	order []summaryKey // insertion order, for FIFO eviction; head at start
	head  int
	bytes int
}

type summaryKey struct {
	folder int64
	uid    uint32
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
	return &summaryCache{maxBytes: maxBytes, m: map[summaryKey]*summaryEntry{}}
}

// getFolder returns the entries of the UIDs of a folder, nil where
// missing, under one read lock.
func (c *summaryCache) getFolder(folder int64, uids []uint32) []*summaryEntry {
	out := make([]*summaryEntry, len(uids))
	if c == nil {
		return out
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, u := range uids {
		out[i] = c.m[summaryKey{folder, u}]
	}
	return out
}

func (c *summaryCache) put(id summaryKey, e *summaryEntry) {
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
	c := conn{db: db} // single statements: atomic without a transaction
	if err := c.queryRow(ctx, `SELECT messages FROM folders WHERE id = ?`, folderID).Scan(&count); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
	}
	if count > summaryCacheMaxFolder {
		return db.searchSummarySQL(ctx, folderID, uids, col, needle)
	}
	var present []uint32
	for _, cl := range uidClauses("uid", uids) {
		got, err := scanColumn[uint32](cl.query(ctx, c, `SELECT uid FROM messages WHERE folder_id = ? AND `+cl.sql+` ORDER BY uid`,
			append([]any{folderID}, cl.args...)...))
		present = append(present, got...)
		if err != nil {
			return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
		}
	}
	entries := db.summaries.getFolder(folderID, present)
	// missing collects runs of adjacent present UIDs not in the cache; a
	// run is an exact UID range because present holds every UID in it.
	var missing []store.UIDRange
	for i, u := range present {
		if entries[i] != nil {
			continue
		}
		if n := len(missing); n > 0 && i > 0 && entries[i-1] == nil && missing[n-1].Stop == present[i-1] {
			missing[n-1].Stop = u
		} else {
			missing = append(missing, store.UIDRange{Start: u, Stop: u})
		}
	}
	fetched, err := db.loadSummaries(ctx, folderID, missing)
	if err != nil {
		return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
	}
	var out []uint32
	for i, u := range present {
		e := entries[i]
		if e == nil {
			if e = fetched[u]; e == nil {
				continue // expunged meanwhile
			}
		}
		if strings.Contains(e.field(field), needle) {
			out = append(out, u)
		}
	}
	return out, nil
}

// searchSummarySQL is SearchSummary done by the database: LIKE over the
// summary column, lowered (SQLite's lower() folds ASCII only; PostgreSQL's
// folds more, and its LIKE may then accept a subject that has, say, the
// KELVIN SIGN where the word has "k"). So LIKE only narrows: each row it
// returns is tested again as the cache path tests it, ASCII-lowered, and
// the answer is the same on both engines.
func (db *DB) searchSummarySQL(ctx context.Context, folderID int64, uids []store.UIDRange, col, needle string) ([]uint32, error) {
	pattern := "%" + escapeLike(needle) + "%"
	c := conn{db: db} // single statements: atomic without a transaction
	var out []uint32
	for _, cl := range uidClauses("m.uid", uids) {
		err := func() error {
			rows, err := c.queryDynamic(ctx, `SELECT m.uid, `+col+` FROM messages m JOIN body_summaries b ON b.body_id = m.body_id
				WHERE m.folder_id = `+db.folderParam()+` AND `+cl.sql+` AND lower(`+col+`) LIKE ? ESCAPE '\' ORDER BY m.uid`,
				append(append([]any{folderID}, cl.args...), pattern)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var uid uint32
				var v string
				if err := rows.Scan(&uid, &v); err != nil {
					return err
				}
				if strings.Contains(asciiLower(v), needle) {
					out = append(out, uid)
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("search summary of folder %d: %w", folderID, err)
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// loadSummaries reads the summaries of the messages of a folder in uids
// and caches them.
func (db *DB) loadSummaries(ctx context.Context, folderID int64, uids []store.UIDRange) (map[uint32]*summaryEntry, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	out := map[uint32]*summaryEntry{}
	c := conn{db: db} // single statements: atomic without a transaction
	for _, cl := range uidClauses("m.uid", uids) {
		err := func() error {
			rows, err := c.queryDynamic(ctx, `SELECT m.uid, b.subject, b.from_addr, b.to_addr, b.cc_addr
				FROM messages m JOIN body_summaries b ON b.body_id = m.body_id
				WHERE m.folder_id = `+db.folderParam()+` AND `+cl.sql, append([]any{folderID}, cl.args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var u uint32
				var e summaryEntry
				if err := rows.Scan(&u, &e.subject, &e.from, &e.to, &e.cc); err != nil {
					return err
				}
				e.subject, e.from, e.to, e.cc = asciiLower(e.subject), asciiLower(e.from), asciiLower(e.to), asciiLower(e.cc)
				out[u] = &e
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, err
		}
	}
	for u, e := range out {
		db.summaries.put(summaryKey{folderID, u}, e)
	}
	return out, nil
}
