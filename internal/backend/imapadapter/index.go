package imapadapter

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// indexCache keeps the index (UIDs, flags, keywords of every message) of
// large folders in memory, shared by the sessions of this process, so that
// SELECT of a 1,000,000-message folder reads only what changed since the
// cache was last brought up to date (store.Mail.Changes) instead of every
// row, and hands the session two compact arrays to copy (imap.IndexSnapshot:
// 5 bytes a message) instead of a struct per message. The store stays the
// truth: an entry is a snapshot at a MODSEQ, brought forward before each
// use. A change that races the fill is not lost: FolderIndex reads the
// messages and the folder's HIGHESTMODSEQ in one read transaction, and the
// next use asks for the changes after that MODSEQ.
type indexCache struct {
	minMessages int // folders smaller than this are not cached
	maxMessages int // total messages kept; least recently used folders go

	mu      sync.Mutex
	folders map[int64]*cachedIndex
	total   int
	clock   uint64
}

type cachedIndex struct {
	mu     sync.Mutex // serializes bringing this entry forward; guards folder and snap
	folder store.Folder
	snap   *imap.IndexSnapshot // never modified in place
	// used and messages (len(snap.UIDs), for the cache's total) are
	// guarded by indexCache.mu, which does not read snap itself.
	used     uint64
	messages int
}

func newIndexCache(minMessages, maxMessages int) *indexCache {
	return &indexCache{minMessages: minMessages, maxMessages: maxMessages, folders: map[int64]*cachedIndex{}}
}

// snapshot returns the folder and its index as of now.
func (c *indexCache) snapshot(ctx context.Context, mail store.Mail, folderID int64) (store.Folder, *imap.IndexSnapshot, error) {
	if c == nil || c.maxMessages <= 0 {
		return readSnapshot(ctx, mail, folderID)
	}
	c.mu.Lock()
	e := c.folders[folderID]
	c.clock++
	if e != nil {
		e.used = c.clock
	}
	c.mu.Unlock()
	if e == nil {
		f, snap, err := readSnapshot(ctx, mail, folderID)
		if err != nil || len(snap.UIDs) < c.minMessages {
			return f, snap, err
		}
		c.put(folderID, &cachedIndex{folder: f, snap: snap, messages: len(snap.UIDs)})
		return f, snap, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f, changed, expunged, err := mail.Changes(ctx, folderID, e.folder.HighestModSeq)
	if err != nil {
		c.drop(folderID, e)
		return store.Folder{}, nil, err
	}
	if f.UIDValidity != e.folder.UIDValidity {
		// Not the same folder any more: start over.
		c.drop(folderID, e)
		return readSnapshot(ctx, mail, folderID)
	}
	if len(changed) > 0 || len(expunged) > 0 {
		e.snap = mergeSnapshot(e.snap, changed, expunged)
		n := len(e.snap.UIDs)
		c.mu.Lock()
		if c.folders[folderID] == e {
			c.total += n - e.messages
		}
		e.messages = n
		c.mu.Unlock()
	}
	e.folder = f
	return f, e.snap, nil
}

// readSnapshot reads a folder's whole index from the store.
func readSnapshot(ctx context.Context, mail store.Mail, folderID int64) (store.Folder, *imap.IndexSnapshot, error) {
	f, msgs, err := mail.FolderIndex(ctx, folderID)
	if err != nil {
		return f, nil, err
	}
	snap := &imap.IndexSnapshot{UIDs: make([]uint32, len(msgs)), Flags: make([]imap.Flags, len(msgs))}
	for i := range msgs {
		m := &msgs[i]
		snap.UIDs[i] = m.UID
		snap.Flags[i] = imapFlagBits[m.Flags]
		if len(m.Keywords) > 0 {
			if snap.Keywords == nil {
				snap.Keywords = map[uint32][]string{}
			}
			snap.Keywords[m.UID] = m.Keywords
		}
	}
	return f, snap, nil
}

// imapFlagBits is toIMAPFlagBits of every store.Flags value.
var imapFlagBits = func() (t [256]imap.Flags) {
	for i := range t {
		t[i] = toIMAPFlagBits(store.Flags(i))
	}
	return t
}()

// mergeSnapshot applies changes (UID order) and expunges to a snapshot
// and returns a new one; old is left as it is for the sessions copying it.
func mergeSnapshot(old *imap.IndexSnapshot, changed []store.MessageFlags, expunged []uint32) *imap.IndexSnapshot {
	n := len(old.UIDs) + len(changed)
	out := &imap.IndexSnapshot{UIDs: make([]uint32, 0, n), Flags: make([]imap.Flags, 0, n), Keywords: old.Keywords}
	// The keyword map is copied only when a change touches it.
	kwCopied := false
	setKeywords := func(uid uint32, kws []string) {
		if _, had := out.Keywords[uid]; !had && len(kws) == 0 {
			return
		}
		if !kwCopied {
			out.Keywords = maps.Clone(out.Keywords)
			if out.Keywords == nil {
				out.Keywords = map[uint32][]string{}
			}
			kwCopied = true
		}
		if len(kws) == 0 {
			delete(out.Keywords, uid)
		} else {
			out.Keywords[uid] = kws
		}
	}
	gone := func(uid uint32) bool {
		_, ok := slices.BinarySearch(expunged, uid)
		return ok
	}
	i, j := 0, 0
	for i < len(old.UIDs) || j < len(changed) {
		switch {
		case j == len(changed) || (i < len(old.UIDs) && old.UIDs[i] < changed[j].UID):
			// Unchanged: copy the run up to the next change at once.
			stop := len(old.UIDs)
			if j < len(changed) {
				stop, _ = slices.BinarySearch(old.UIDs[i:], changed[j].UID)
				stop += i
			}
			for k := i; k < stop; k++ {
				if len(expunged) > 0 && gone(old.UIDs[k]) {
					setKeywords(old.UIDs[k], nil)
					continue
				}
				out.UIDs = append(out.UIDs, old.UIDs[k])
				out.Flags = append(out.Flags, old.Flags[k])
			}
			i = stop
		default: // a change, to a message the snapshot has or a new one
			m := &changed[j]
			if i < len(old.UIDs) && old.UIDs[i] == m.UID {
				i++
			}
			j++
			if gone(m.UID) {
				setKeywords(m.UID, nil)
				continue
			}
			out.UIDs = append(out.UIDs, m.UID)
			out.Flags = append(out.Flags, imapFlagBits[m.Flags])
			setKeywords(m.UID, m.Keywords)
		}
	}
	if len(out.Keywords) == 0 {
		out.Keywords = nil
	}
	return out
}

func (c *indexCache) put(folderID int64, e *cachedIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.folders[folderID]; old != nil {
		c.total -= old.messages
	}
	c.clock++
	e.used = c.clock
	c.folders[folderID] = e
	c.total += e.messages
	for c.total > c.maxMessages && len(c.folders) > 1 {
		var lru int64
		var oldest uint64
		for id, x := range c.folders {
			if id != folderID && (oldest == 0 || x.used < oldest) {
				lru, oldest = id, x.used
			}
		}
		c.total -= c.folders[lru].messages
		delete(c.folders, lru)
	}
}

// drop forgets the folder's entry if it is still e.
func (c *indexCache) drop(folderID int64, e *cachedIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x := c.folders[folderID]; x != nil && x == e {
		c.total -= x.messages
		delete(c.folders, folderID)
	}
}

// IndexSnapshot implements imap.SnapshotIndexer: a large folder's index
// from the process's cache.
func (f *folder) IndexSnapshot(ctx context.Context) (imap.FolderStatus, *imap.IndexSnapshot, error) {
	sf, snap, err := f.u.b.index.snapshot(ctx, f.u.b.mail, f.id)
	if err != nil {
		return imap.FolderStatus{}, nil, wireError(err)
	}
	f.uidNext = sf.UIDNext
	st := folderStatus(sf)
	st.MailboxID = f.ids.mailboxID(f.id)
	return st, snap, nil
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
	r.claimed(folderID, next)
	return first, next, nil
}

// claimed records a claim up to next made in this process.
func (r *recentClaims) claimed(folderID int64, next uint32) {
	r.mu.Lock()
	if next > r.next[folderID] {
		r.next[folderID] = next
	}
	r.mu.Unlock()
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
