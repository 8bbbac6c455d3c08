package pop3adapter

import (
	"container/list"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// listing is what a session's login reads of its INBOX: per message
// number, the UID, the body, the LIST size and UIDL, and the stored size
// of each message with binary parts (maildrop.binary). Sessions share a
// listing and never change it.
type listing struct {
	uids   []uint32
	bodies []int64
	msgs   []pop3.Message
	binary map[int]int64
}

// listingCache keeps the listings of recently opened INBOXes, in this
// process, each with the folder state it was read at: its UIDVALIDITY,
// HIGHESTMODSEQ and message count. Every change of a folder's messages
// (delivery, APPEND, EXPUNGE, COPY and MOVE in or out, a flag change)
// takes a new MODSEQ (store.Folder.HighestModSeq), so a login that reads
// the INBOX row at the same state gets the same listing without reading
// every message again: a POP3 client that polls a maildrop with nothing
// new (the common session) costs one read of the folder row instead of
// one row per message, and, for messages with binary parts, no
// conversion. Least recently used listings go first once more than
// maxMessages messages are kept; a listing larger than a quarter of that
// is not kept.
type listingCache struct {
	maxMessages int

	mu      sync.Mutex
	total   int
	entries map[int64]*list.Element // folder ID → *cachedListing
	lru     list.List               // front: most recently used
}

type cachedListing struct {
	folderID    int64
	uidValidity uint32
	modSeq      uint64
	l           *listing
}

// listingCacheMessages bounds the messages of the listings kept: about
// 70 bytes each (UID, body ID, size, a UIDL of up to 20 digits), so
// 200,000 hold 14 MB.
const listingCacheMessages = 200_000

func newListingCache(maxMessages int) *listingCache {
	return &listingCache{maxMessages: maxMessages, entries: map[int64]*list.Element{}}
}

// get returns the listing of f read at f's state, or nil.
func (c *listingCache) get(f store.Folder) *listing {
	if c == nil || c.maxMessages <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[f.ID]
	if e == nil {
		return nil
	}
	cl := e.Value.(*cachedListing)
	if cl.uidValidity != f.UIDValidity || cl.modSeq != f.HighestModSeq || len(cl.l.msgs) != int(f.Messages) {
		return nil
	}
	c.lru.MoveToFront(e)
	return cl.l
}

// put keeps l as the listing of f at f's state. A listing whose count is
// not the folder row's was read across a change and is not kept.
func (c *listingCache) put(f store.Folder, l *listing) {
	n := len(l.msgs)
	if c == nil || n > c.maxMessages/4 || n != int(f.Messages) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[f.ID]; e != nil {
		c.total -= len(e.Value.(*cachedListing).l.msgs)
		c.lru.Remove(e)
	}
	c.entries[f.ID] = c.lru.PushFront(&cachedListing{folderID: f.ID, uidValidity: f.UIDValidity, modSeq: f.HighestModSeq, l: l})
	c.total += n
	for c.total > c.maxMessages {
		e := c.lru.Back()
		cl := e.Value.(*cachedListing)
		c.lru.Remove(e)
		delete(c.entries, cl.folderID)
		c.total -= len(cl.l.msgs)
	}
}
