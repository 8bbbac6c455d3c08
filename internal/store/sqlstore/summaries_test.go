package sqlstore

import (
	"strings"
	"testing"
)

// TestSummaryCacheBound: the cache stays within its byte bound by dropping
// the oldest entries, keeps the newest, and ignores a second put of an ID.
func TestSummaryCacheBound(t *testing.T) {
	const perEntry = summaryEntryOverhead + 10
	c := newSummaryCache(10 * perEntry)
	for id := int64(1); id <= 10000; id++ {
		c.put(summaryKey{7, uint32(id)}, &summaryEntry{subject: strings.Repeat("s", 10)})
		if c.bytes > c.maxBytes {
			t.Fatalf("after %d puts the cache holds %d bytes; bound %d", id, c.bytes, c.maxBytes)
		}
	}
	if len(c.m) != 10 {
		t.Errorf("%d entries kept; want 10", len(c.m))
	}
	for id := int64(9991); id <= 10000; id++ {
		if get(c, uint32(id)) == nil {
			t.Errorf("entry %d, among the newest, was evicted", id)
		}
	}
	if get(c, 1) != nil || get(c, 9990) != nil {
		t.Error("old entries were kept")
	}
	if len(c.order)-c.head != 10 {
		t.Errorf("order holds %d live IDs; want 10", len(c.order)-c.head)
	}
	before := c.bytes
	c.put(summaryKey{7, 10000}, &summaryEntry{subject: strings.Repeat("x", 1000)})
	if c.bytes != before || get(c, 10000).subject != strings.Repeat("s", 10) {
		t.Error("a second put of an ID replaced the entry or changed the size")
	}
	off := newSummaryCache(-1)
	if off != nil || get(off, 1) != nil {
		t.Error("a negative bound must turn the cache off")
	}
}

func get(c *summaryCache, uid uint32) *summaryEntry { return c.getFolder(7, []uint32{uid})[0] }
