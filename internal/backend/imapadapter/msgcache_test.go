package imapadapter

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func cachedMD(uid uint32, prefix int) imap.MessageData {
	return imap.MessageData{UID: uid, ModSeq: 7, Size: 100_000, BodyID: int64(uid) * 10,
		Flags: imap.FlagSeen, Keywords: []string{"$x"}, BodyPrefix: bytes.Repeat([]byte{'a'}, prefix),
		Structure: []byte("parse"), Subject: "s"}
}

// TestMessageCacheParts: an entry answers only what it was read with;
// later reads add to it; flags and keywords are never kept.
func TestMessageCacheParts(t *testing.T) {
	c := newMessageCache(8 << 20)
	md := cachedMD(1, store.HeadPrefixSize)
	c.put(1, 5, &md, imap.WantStructure|imap.WantHeadPrefix, c.epoch(1))
	for _, tc := range []struct {
		want imap.Want
		ok   bool
	}{
		{imap.WantStructure, true},
		{imap.WantHeadPrefix, true},
		{imap.WantStructure | imap.WantHeadPrefix, true},
		{imap.WantBodyPrefix, false}, // 16 KiB of a 100,000-octet message
		{imap.WantSummary, false},
		{imap.WantPreview, false},
	} {
		out, ok := c.get(1, 5, []uint32{1}, tc.want, nil)
		if ok != tc.ok {
			t.Errorf("want %b: ok %v; want %v", tc.want, ok, tc.ok)
		}
		if ok && (out[0].Flags != 0 || out[0].Keywords != nil || out[0].BodyID != 10 || out[0].ModSeq != 7) {
			t.Errorf("want %b: got %+v; want the unchanging parts only", tc.want, out[0])
		}
	}
	if _, ok := c.get(1, 6, []uint32{1}, 0, nil); ok {
		t.Errorf("another UIDVALIDITY must not be answered")
	}
	if _, ok := c.get(1, 5, []uint32{1, 2}, 0, nil); ok {
		t.Errorf("a batch with a message not kept must not be answered")
	}
	// A read with the summary and the whole prefix adds both and keeps
	// the parse it did not ask for.
	md = cachedMD(1, store.BodyPrefixSize)
	md.Structure = nil
	c.put(1, 5, &md, imap.WantSummary|imap.WantBodyPrefix, c.epoch(1))
	out, ok := c.get(1, 5, []uint32{1}, imap.WantSummary|imap.WantStructure|imap.WantBodyPrefix, nil)
	if !ok || string(out[0].Structure) != "parse" || out[0].Subject != "s" || len(out[0].BodyPrefix) != store.BodyPrefixSize {
		t.Errorf("merged entry: ok %v %+v", ok, out)
	}
	// A small message's head prefix is all of it: enough for a BODY[].
	small := cachedMD(2, 500)
	small.Size = 500
	c.put(1, 5, &small, imap.WantHeadPrefix, c.epoch(1))
	if _, ok := c.get(1, 5, []uint32{2}, imap.WantBodyPrefix, nil); !ok {
		t.Errorf("a whole small message must answer WantBodyPrefix")
	}
	// A preview is kept only when the store had one.
	nopv := cachedMD(3, 0)
	c.put(1, 5, &nopv, imap.WantPreview, c.epoch(1))
	if _, ok := c.get(1, 5, []uint32{3}, imap.WantPreview, nil); ok {
		t.Errorf("a message read without a stored preview must not answer WantPreview")
	}
	c.forget(1, 5, []uint32{1, 2})
	if _, ok := c.get(1, 5, []uint32{1}, 0, nil); ok {
		t.Errorf("a forgotten message must not be answered")
	}
	if _, ok := c.get(1, 5, []uint32{3}, 0, nil); !ok {
		t.Errorf("forget dropped a message it was not given")
	}
	// A read that began before a forget of its folder is not kept: it
	// may hold a message the forget just removed.
	before := c.epoch(1)
	c.forget(1, 5, []uint32{4})
	late := cachedMD(4, 10)
	late.Size = 10
	c.put(1, 5, &late, imap.WantHeadPrefix, before)
	if _, ok := c.get(1, 5, []uint32{4}, 0, nil); ok {
		t.Errorf("a read from before the forget of its message was kept")
	}
	c.put(1, 5, &late, imap.WantHeadPrefix, c.epoch(1))
	if _, ok := c.get(1, 5, []uint32{4}, 0, nil); !ok {
		t.Errorf("a read after the forget was not kept")
	}
}

// TestMessageCacheBound: the cache never holds more than its bound, keeps
// what is read often, and its bookkeeping stays small while messages are
// forgotten and read again.
func TestMessageCacheBound(t *testing.T) {
	const bound = 200 * (entryOverhead + 1000)
	c := newMessageCache(bound)
	hot := cachedMD(0, 1000)
	hot.Size, hot.Structure, hot.Subject = 1000, nil, ""
	c.put(9, 1, &hot, imap.WantHeadPrefix, c.epoch(9))
	for u := uint32(1); u <= 5000; u++ {
		md := cachedMD(u, 1000)
		md.Size, md.Structure, md.Subject = 1000, nil, ""
		c.put(9, 1, &md, imap.WantHeadPrefix, c.epoch(9))
		if _, ok := c.get(9, 1, []uint32{0}, imap.WantHeadPrefix, nil); !ok {
			t.Fatalf("after %d puts: the message read after every put was evicted", u)
		}
		if u%3 == 0 {
			c.forget(9, 1, []uint32{u})
		}
		c.mu.Lock()
		bytes, entries, ring := c.bytes, len(c.entries), len(c.ring)
		c.mu.Unlock()
		if bytes > bound {
			t.Fatalf("after %d puts: %d bytes; bound %d", u, bytes, bound)
		}
		if ring > 2*entries+1024+1 {
			t.Fatalf("after %d puts: %d ring slots for %d entries", u, ring, entries)
		}
	}
	if _, ok := c.get(9, 1, []uint32{4999}, imap.WantHeadPrefix, nil); !ok {
		t.Errorf("the newest message was not kept")
	}
	if newMessageCache(-1) != nil || newMessageCache(0) != nil {
		t.Errorf("a cache of no bytes must be off")
	}
	var off *messageCache
	off.put(1, 1, &hot, 0, off.epoch(1))
	off.forget(1, 1, []uint32{1})
	if _, ok := off.get(1, 1, []uint32{0}, 0, nil); ok {
		t.Errorf("an off cache answered")
	}
}

// TestMessageCacheSessions: over a real server and store, a FETCH of
// messages read before needs no store access and answers the same; a
// FETCH with MODSEQ goes to the store; what one session expunges, another
// session of the process answers as expunged, not from memory; and
// sessions fetching, changing flags and expunging at once always get each
// message's own content.
func TestMessageCacheSessions(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	const n = 40
	for i := range n {
		raw := fmt.Sprintf("Subject: message %d\r\n\r\n%s", i+1, strings.Repeat(fmt.Sprintf("body of %d\r\n", i+1), 1+i))
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte(raw), 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	login := func() *client {
		c := e.dial(t)
		if got := last(c.cmd("a", "LOGIN alice@example.com pw-alice")); !strings.HasPrefix(got, "a OK") {
			t.Fatalf("LOGIN: %s", got)
		}
		if got := last(c.cmd("b", "SELECT INBOX")); !strings.HasPrefix(got, "b OK") {
			t.Fatalf("SELECT: %s", got)
		}
		return c
	}
	a, b := login(), login()
	metas := func(name string, c *client, cmd string, want int64) []string {
		t.Helper()
		before := mail.metaReads.Load()
		out := c.cmd("f", cmd)
		if got := mail.metaReads.Load() - before; got != want {
			t.Errorf("%s: %d metadata reads; want %d", name, got, want)
		}
		return out
	}
	first := metas("first FETCH", a, "UID FETCH 1:40 (FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 1)
	again := metas("same FETCH again", a, "UID FETCH 1:40 (FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 0)
	if strings.Join(first, "\n") != strings.Join(again, "\n") {
		t.Errorf("from memory: got\n%s\nwant\n%s", strings.Join(again, "\n"), strings.Join(first, "\n"))
	}
	// Another session of the process reads the same messages from memory.
	metas("other session", b, "UID FETCH 5 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 0)
	// Flags come from the session, MODSEQ from the store.
	if got := last(b.cmd("s", `UID STORE 5 +FLAGS.SILENT (\Flagged)`)); !strings.HasPrefix(got, "s OK") {
		t.Fatalf("STORE: %s", got)
	}
	a.cmd("n", "NOOP")
	if got := metas("FLAGS", a, "UID FETCH 5 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 0); !strings.Contains(strings.Join(got, "\n"), `\Flagged`) {
		t.Errorf("FLAGS after another session's STORE: %q", got)
	}
	metas("MODSEQ", a, "UID FETCH 5 (MODSEQ)", 1)
	// b expunges 5; a has not been told and fetches it: the store says it
	// is gone, as without the cache.
	b.cmd("d", `UID STORE 5 +FLAGS.SILENT (\Deleted)`)
	if got := last(b.cmd("x", "EXPUNGE")); !strings.HasPrefix(got, "x OK") {
		t.Fatalf("EXPUNGE: %s", got)
	}
	got := metas("expunged by another session", a, "UID FETCH 5 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 1)
	if strings.Contains(strings.Join(got, "\n"), "message 5") || !strings.Contains(last(got), "EXPUNGEISSUED") {
		t.Errorf("FETCH of a message another session expunged: %q; want no data and [EXPUNGEISSUED]", got)
	}

	// Sessions racing: each checks that every message it fetches is its
	// own, while others change flags and expunge.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		c := login()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 30 {
				lines := c.cmd("f", "UID FETCH 1:40 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[])")
				for i, l := range lines {
					var uid int
					// Unsolicited FETCH responses (others' flag changes)
					// carry no section.
					k := strings.Index(l, "FETCH (UID ")
					if k < 0 || !strings.Contains(l, "BODY[HEADER.FIELDS") {
						continue
					}
					if _, err := fmt.Sscanf(l[k+len("FETCH ("):], "UID %d", &uid); err != nil {
						continue
					}
					if i+1 >= len(lines) || lines[i+1] != fmt.Sprintf("Subject: message %d", uid) {
						errs <- fmt.Errorf("session %d round %d: UID %d answered with %q", w, round, uid, lines[i+1:min(i+2, len(lines))])
						return
					}
				}
				if w%2 == 0 {
					u := 1 + (w*7+round)%40
					c.cmd("s", fmt.Sprintf(`UID STORE %d +FLAGS.SILENT (\Deleted)`, u))
					c.cmd("x", "EXPUNGE")
				} else {
					c.cmd("s", fmt.Sprintf(`UID STORE %d FLAGS.SILENT (\Seen)`, 1+round))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
