package imapadapter

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

func TestMerge(t *testing.T) {
	mf := func(uid uint32, f store.Flags) store.MessageFlags { return store.MessageFlags{UID: uid, Flags: f} }
	got := merge(
		[]store.MessageFlags{mf(1, 0), mf(2, 0), mf(3, 0), mf(5, 0)},
		[]store.MessageFlags{mf(2, store.FlagSeen), mf(6, 0), mf(7, 0)},
		[]uint32{3, 7})
	want := []store.MessageFlags{mf(1, 0), mf(2, store.FlagSeen), mf(5, 0), mf(6, 0)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %v; want %v", got, want)
	}
}

// TestIndexCache checks that the cached index follows the store through
// arrivals, flag changes and expunges, and matches FolderIndex exactly.
func TestIndexCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := store.Mailbox{Name: "a", DisplayName: "a", Alias: "a", PrimarySmtpAddress: "a@x", UserPrincipalName: "a@x", ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	deliver := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := st.Deliver(ctx, []int64{m.ID}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(20)
	inbox, err := st.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexCache(10, 1000)
	check := func(step string) {
		t.Helper()
		_, got, err := c.index(ctx, st, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, want, err := st.FolderIndex(ctx, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: cached index %v; want %v", step, got, want)
		}
	}
	check("first")
	if len(c.folders) != 1 {
		t.Fatalf("folder not cached")
	}
	deliver(3)
	check("after deliveries")
	if _, _, err := st.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 4}}, Op: store.FlagsAdd, Flags: store.FlagDeleted, Keywords: []string{"$x"}}); err != nil {
		t.Fatal(err)
	}
	check("after STORE")
	if _, err := st.Expunge(ctx, inbox.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	check("after EXPUNGE")
}
