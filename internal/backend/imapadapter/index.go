package imapadapter

import (
	"context"
	"slices"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// indexCache keeps the index (UID, MODSEQ, flags of every message) of large
// folders in memory, shared by the sessions of this process, so that
// SELECT of a 100,000-message folder reads only what changed since the
// cache was last brought up to date (store.Mail.Changes) instead of every
// row. The store stays the truth: an entry is only a snapshot at a MODSEQ,
// brought forward before each use.
type indexCache struct {
	minMessages int // folders smaller than this are not cached
	maxMessages int // total messages kept; least recently used folders go

	mu      sync.Mutex
	folders map[int64]*cachedIndex
	total   int
	clock   uint64
}

type cachedIndex struct {
	mu     sync.Mutex // serializes bringing this entry forward
	folder store.Folder
	msgs   []store.MessageFlags // UID order; never modified in place
	used   uint64
}

func newIndexCache(minMessages, maxMessages int) *indexCache {
	return &indexCache{minMessages: minMessages, maxMessages: maxMessages, folders: map[int64]*cachedIndex{}}
}

// index returns the folder and its messages as of now.
func (c *indexCache) index(ctx context.Context, mail store.Mail, folderID int64) (store.Folder, []store.MessageFlags, error) {
	if c == nil || c.maxMessages <= 0 {
		return mail.FolderIndex(ctx, folderID)
	}
	c.mu.Lock()
	e := c.folders[folderID]
	c.clock++
	if e != nil {
		e.used = c.clock
	}
	c.mu.Unlock()
	if e == nil {
		f, msgs, err := mail.FolderIndex(ctx, folderID)
		if err != nil || len(msgs) < c.minMessages {
			return f, msgs, err
		}
		c.put(folderID, &cachedIndex{folder: f, msgs: msgs})
		return f, msgs, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f, changed, expunged, err := mail.Changes(ctx, folderID, e.folder.HighestModSeq)
	if err != nil {
		c.drop(folderID)
		return store.Folder{}, nil, err
	}
	if f.UIDValidity != e.folder.UIDValidity {
		// Not the same folder any more: start over.
		c.drop(folderID)
		return mail.FolderIndex(ctx, folderID)
	}
	if len(changed) > 0 || len(expunged) > 0 {
		before := len(e.msgs)
		e.msgs = merge(e.msgs, changed, expunged)
		c.mu.Lock()
		c.total += len(e.msgs) - before
		c.mu.Unlock()
	}
	e.folder = f
	return f, e.msgs, nil
}

// merge applies changes to a UID-ordered index and returns a new slice.
func merge(msgs, changed []store.MessageFlags, expunged []uint32) []store.MessageFlags {
	out := make([]store.MessageFlags, 0, len(msgs)+len(changed))
	i, j := 0, 0
	gone := func(uid uint32) bool {
		_, ok := slices.BinarySearch(expunged, uid)
		return ok
	}
	for i < len(msgs) || j < len(changed) {
		var m store.MessageFlags
		switch {
		case j == len(changed) || (i < len(msgs) && msgs[i].UID < changed[j].UID):
			m = msgs[i]
			i++
		case i == len(msgs) || changed[j].UID < msgs[i].UID:
			m = changed[j]
			j++
		default: // same UID: the change wins
			m = changed[j]
			i++
			j++
		}
		if !gone(m.UID) {
			out = append(out, m)
		}
	}
	return out
}

func (c *indexCache) put(folderID int64, e *cachedIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.folders[folderID]; old != nil {
		c.total -= len(old.msgs)
	}
	c.clock++
	e.used = c.clock
	c.folders[folderID] = e
	c.total += len(e.msgs)
	for c.total > c.maxMessages && len(c.folders) > 1 {
		var lru int64
		var oldest uint64
		for id, x := range c.folders {
			if id != folderID && (oldest == 0 || x.used < oldest) {
				lru, oldest = id, x.used
			}
		}
		c.total -= len(c.folders[lru].msgs)
		delete(c.folders, lru)
	}
}

func (c *indexCache) drop(folderID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.folders[folderID]; e != nil {
		c.total -= len(e.msgs)
		delete(c.folders, folderID)
	}
}

// recentClaims remembers, per folder, the UIDNEXT up to which this process
// has claimed \Recent (IMAP4rev1): a SELECT that finds no newer message need
// not ask the store, which would take a write transaction.
type recentClaims struct {
	mu   sync.Mutex
	next map[int64]uint32
}

func (r *recentClaims) claim(ctx context.Context, mail store.Mail, folderID int64, uidNext uint32) (uint32, uint32, error) {
	r.mu.Lock()
	n, ok := r.next[folderID]
	r.mu.Unlock()
	if ok && uidNext != 0 && uidNext <= n {
		return uidNext, uidNext, nil
	}
	first, next, err := mail.ClaimRecent(ctx, folderID)
	if err != nil {
		return 0, 0, err
	}
	r.mu.Lock()
	if next > r.next[folderID] {
		r.next[folderID] = next
	}
	r.mu.Unlock()
	return first, next, nil
}

// peek returns the lowest UID of the folder that no session has claimed,
// as the store says (exact across restarts and nodes), or what this process
// last claimed if that is higher (a claim not yet visible to the read).
func (r *recentClaims) peek(ctx context.Context, mail store.Mail, folderID int64) (uint32, error) {
	r.mu.Lock()
	n := r.next[folderID]
	r.mu.Unlock()
	first, err := mail.RecentFrom(ctx, folderID)
	if err != nil {
		return 0, err
	}
	return max(first, n), nil
}
