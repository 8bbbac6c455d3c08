package imapadapter

import (
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// messageCache keeps, for the sessions of this process, what never changes
// of the messages FETCH has read: internal date, size, body, the stored
// parse, the summary, the start of the body. A message is identified by its
// folder, the folder's UIDVALIDITY and its UID, which the store never gives
// to another message (RFC 9051 §2.3.1.1), so an entry is never wrong; it
// may outlive its message, which RFC 2180 §4.1.1 allows a server to go on
// serving. A session's own EXPUNGE and MOVE forget what they removed, so
// that the other sessions of this process answer those as expunged, as
// they would without the cache. What changes (flags, keywords, MODSEQ) is
// never kept: the engine takes it from the session (imap.MessageCache).
//
// The cache is bounded in bytes; when full, entries go in CLOCK order (an
// entry read since the hand last passed gets a second turn).
type messageCache struct {
	maxBytes int64

	mu      sync.Mutex
	entries map[msgKey]*msgEntry
	ring    []msgKey // insertion order, for the CLOCK hand
	hand    int
	bytes   int64
	// forgets counts the forget calls per folder (hashed): a read that
	// began before a forget of its folder is not kept, since it may hold
	// a message that forget has just removed.
	forgets [256]uint64
}

type msgKey struct {
	folder      int64
	uidValidity uint32
	uid         uint32
}

type msgEntry struct {
	md   imap.MessageData // no Flags, Keywords; ModSeq as when read
	have imap.Want        // WantSummary, WantStructure, WantPreview as read
	cost int64            // bytes it is counted for
	used bool             // read since the CLOCK hand last passed
}

// entryOverhead is what an entry costs besides its byte slices and
// strings: the struct (320 bytes on 64-bit), its map slot (key, pointer
// and the map's own overhead) and its ring slot (16 bytes), so that the
// bound holds for many small entries too.
const entryOverhead = 400

func newMessageCache(maxBytes int64) *messageCache {
	if maxBytes <= 0 {
		return nil
	}
	return &messageCache{maxBytes: maxBytes, entries: map[msgKey]*msgEntry{}}
}

// prefixWanted is how much of the body want asks for with the metadata.
func prefixWanted(want imap.Want) int64 {
	switch {
	case want&imap.WantBodyPrefix != 0:
		return store.BodyPrefixSize
	case want&imap.WantHeadPrefix != 0:
		return store.HeadPrefixSize
	}
	return 0
}

// satisfies reports whether e holds all that want asks for.
func (e *msgEntry) satisfies(want imap.Want) bool {
	if need := want & (imap.WantSummary | imap.WantStructure | imap.WantPreview); e.have&need != need {
		return false
	}
	if n := prefixWanted(want); n > 0 && int64(len(e.md.BodyPrefix)) < min(n, e.md.Size) {
		return false
	}
	return true
}

// get appends the cached data of every UID to out; false when one is
// missing or holds less than want (out is then to be discarded).
func (c *messageCache) get(folder int64, uidValidity uint32, uids []uint32, want imap.Want, out []imap.MessageData) ([]imap.MessageData, bool) {
	if c == nil || len(uids) == 0 {
		return out, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range uids {
		e := c.entries[msgKey{folder, uidValidity, u}]
		if e == nil || !e.satisfies(want) {
			return out, false
		}
		e.used = true
		out = append(out, e.md)
	}
	return out, true
}

// epoch is to be taken before a store read whose result goes to put.
func (c *messageCache) epoch(folder int64) uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgets[uint64(folder)%uint64(len(c.forgets))]
}

// put keeps what a Messages call read for want, unless a forget of the
// folder came after epoch (taken before the read). What an entry already
// has and this read did not ask for is kept.
func (c *messageCache) put(folder int64, uidValidity uint32, md *imap.MessageData, want imap.Want, epoch uint64) {
	if c == nil {
		return
	}
	have := want & (imap.WantSummary | imap.WantStructure | imap.WantPreview)
	if !md.HasPreview {
		have &^= imap.WantPreview // made later by the engine, maybe kept
	}
	k := msgKey{folder, uidValidity, md.UID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets[uint64(folder)%uint64(len(c.forgets))] != epoch {
		return
	}
	e := c.entries[k]
	if e != nil && e.have&have == have && len(e.md.BodyPrefix) >= len(md.BodyPrefix) {
		e.used = true
		return
	}
	n := &msgEntry{md: *md, have: have}
	n.md.Flags, n.md.Keywords, n.md.EmailID = 0, nil, ""
	if e != nil {
		// Keep the parts only the old entry has.
		if have&imap.WantSummary == 0 && e.have&imap.WantSummary != 0 {
			n.md.Subject, n.md.From, n.md.To, n.md.Cc, n.md.SentDate = e.md.Subject, e.md.From, e.md.To, e.md.Cc, e.md.SentDate
		}
		if have&imap.WantStructure == 0 && e.have&imap.WantStructure != 0 {
			n.md.Structure = e.md.Structure
		}
		if have&imap.WantPreview == 0 && e.have&imap.WantPreview != 0 {
			n.md.Preview, n.md.HasPreview = e.md.Preview, true
		}
		if len(e.md.BodyPrefix) > len(n.md.BodyPrefix) {
			n.md.BodyPrefix = e.md.BodyPrefix
		}
		n.have |= e.have
		c.bytes -= e.cost // n takes e's ring slot
	}
	n.cost = entryOverhead + int64(len(n.md.BodyPrefix)+len(n.md.Structure)+len(n.md.Preview)+
		len(n.md.Subject)+len(n.md.From)+len(n.md.To)+len(n.md.Cc))
	if n.cost > c.maxBytes/16 {
		// One message never takes a large share of the cache.
		if e != nil {
			delete(c.entries, k)
		}
		return
	}
	c.entries[k] = n
	c.bytes += n.cost
	if e == nil {
		c.ring = append(c.ring, k)
	}
	c.evict()
}

// evict moves the CLOCK hand until the cache fits its bound.
func (c *messageCache) evict() {
	for c.bytes > c.maxBytes && len(c.ring) > 0 {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		k := c.ring[c.hand]
		e := c.entries[k]
		if e != nil && e.used {
			e.used = false
			c.hand++
			continue
		}
		if e != nil {
			delete(c.entries, k)
			c.bytes -= e.cost
		}
		// Drop the slot: the last slot takes its place.
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring = c.ring[:last]
	}
	// Slots of forgotten entries are dropped when the hand comes by; so
	// that they do not pile up, the ring is rebuilt once they outnumber
	// the entries.
	if len(c.ring) > 2*len(c.entries)+1024 {
		c.ring = c.ring[:0]
		for k := range c.entries {
			c.ring = append(c.ring, k)
		}
		c.hand = 0
	}
}

// forget drops the given messages of a folder (its own EXPUNGE or MOVE).
func (c *messageCache) forget(folder int64, uidValidity uint32, uids []uint32) {
	if c == nil || len(uids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets[uint64(folder)%uint64(len(c.forgets))]++
	for _, u := range uids {
		k := msgKey{folder, uidValidity, u}
		if e := c.entries[k]; e != nil {
			delete(c.entries, k)
			c.bytes -= e.cost
		}
	}
}
