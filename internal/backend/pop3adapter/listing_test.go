package pop3adapter

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// listingMail counts the store's listings of a folder's messages.
type listingMail struct {
	store.Mail
	listings atomic.Int64
}

func (c *listingMail) Messages(ctx context.Context, folderID int64, uids []store.UIDRange, want store.MetaFields, fn func(store.MessageMeta) error) error {
	c.listings.Add(1)
	return c.Mail.Messages(ctx, folderID, uids, want, fn)
}

// TestListingReused opens bob's maildrop again and again, as a client
// that polls does: with nothing changed, the login takes the listing of
// the last one without reading the messages again; after a delivery, a
// flag change and an expunge it reads them again. Every listing is the
// one a backend without the cache makes.
func TestListingReused(t *testing.T) {
	e := newEnv(t) // bob has 3 messages
	for i := range 5 {
		e.deliver(t, fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i), "bob")
	}
	ctx := context.Background()
	counted := &listingMail{Mail: e.st}
	b := New(Options{Mail: counted})
	truth := New(Options{Mail: e.st})
	truth.listings = nil
	open := func(what string, wantReads int64, wantMessages int) []pop3.Message {
		t.Helper()
		md, err := b.openMaildrop(ctx, e.boxes["bob"])
		if err != nil {
			t.Fatal(err)
		}
		defer md.Close()
		want, err := truth.openMaildrop(ctx, e.boxes["bob"])
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		if n := counted.listings.Load(); n != wantReads {
			t.Errorf("%s: %d listings read from the store; want %d", what, n, wantReads)
		}
		if len(md.msgs) != wantMessages || !slices.Equal(md.msgs, want.msgs) || !slices.Equal(md.uids, want.uids) || !slices.Equal(md.bodies, want.bodies) {
			t.Errorf("%s: listing %v (UIDs %v); want %v (UIDs %v), %d messages", what, md.msgs, md.uids, want.msgs, want.uids, wantMessages)
		}
		return md.msgs
	}
	first := open("first login", 1, 8)
	open("a login with nothing new", 1, 8)
	open("another", 1, 8)
	e.deliver(t, []byte("Subject: new\r\n\r\nnew\r\n"), "bob")
	open("a login after a delivery", 2, 9)
	open("a login with nothing new since", 2, 9)
	inbox, err := e.st.FolderByName(ctx, e.boxes["bob"], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	open("a login after a flag change", 3, 9)
	if _, err := e.st.Expunge(ctx, inbox.ID, []store.UIDRange{{Start: 2, Stop: 2}}, false); err != nil {
		t.Fatal(err)
	}
	msgs := open("a login after an expunge", 4, 8)
	if slices.Contains(msgs, first[1]) {
		t.Errorf("the expunged message %v is still listed", first[1])
	}
	open("a login with nothing new since", 4, 8)
}

// TestListingCacheBound fills the cache past its bound: the least
// recently used listings go, the total stays within the bound, a listing
// larger than a quarter of it is not kept, nor one whose count is not its
// folder row's (read across a change).
func TestListingCacheBound(t *testing.T) {
	c := newListingCache(40)
	folder := func(id int64, n int) store.Folder {
		return store.Folder{ID: id, UIDValidity: 7, HighestModSeq: uint64(100 + id), Messages: uint32(n)}
	}
	listingOf := func(n int) *listing {
		l := &listing{}
		for i := range n {
			l.uids = append(l.uids, uint32(i+1))
			l.bodies = append(l.bodies, int64(i+1))
			l.msgs = append(l.msgs, pop3.Message{Size: 10, UID: fmt.Sprint(i + 1)})
		}
		return l
	}
	for id := int64(1); id <= 5; id++ {
		c.put(folder(id, 10), listingOf(10))
		if id == 2 && c.get(folder(1, 10)) == nil { // 1 used again: 2 is now the oldest
			t.Fatal("listing 1 not kept")
		}
	}
	if c.total > 40 {
		t.Errorf("%d messages kept; want at most 40", c.total)
	}
	if c.get(folder(2, 10)) != nil {
		t.Errorf("listing 2, the least recently used, still kept")
	}
	for _, id := range []int64{1, 3, 4, 5} {
		if c.get(folder(id, 10)) == nil {
			t.Errorf("listing %d not kept", id)
		}
	}
	if f := folder(3, 10); true {
		f.HighestModSeq++
		if c.get(f) != nil {
			t.Errorf("listing 3 served at another MODSEQ")
		}
		f = folder(3, 10)
		f.UIDValidity++
		if c.get(f) != nil {
			t.Errorf("listing 3 served at another UIDVALIDITY")
		}
	}
	c.put(folder(6, 11), listingOf(11))
	if c.get(folder(6, 11)) != nil {
		t.Errorf("a listing of more than a quarter of the bound kept")
	}
	c.put(folder(7, 9), listingOf(8))
	if c.get(folder(7, 8)) != nil || c.get(folder(7, 9)) != nil {
		t.Errorf("a listing whose count is not its folder's kept")
	}
}
