package imapadapter

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// TestWatch: a NOTIFY session's Watch hears of every change of its own
// mailbox (the folder's ID for messages, 0 for the folder list and
// subscriptions), of nothing of other mailboxes, and of nothing after
// cancel; Folders gives the IDs Watch names.
func TestWatch(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []int64
	for _, name := range []string{"alice", "bob"} {
		m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: name + "@example.com",
			UserPrincipalName: name + "@example.com", ImapEnabled: true}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	hub := notify.NewLocal()
	b := New(Options{Mail: st, Hub: hub})
	alice, bob := &user{b: b, mailboxID: ids[0]}, &user{b: b, mailboxID: ids[1]}

	var mu sync.Mutex
	var got []int64
	cancel := alice.Watch(func(id int64) {
		mu.Lock()
		got = append(got, id)
		mu.Unlock()
	})
	take := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}

	if _, err := alice.CreateFolder(ctx, "Work", ""); err != nil {
		t.Fatal(err)
	}
	folders, err := alice.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(folders, func(f imap.FolderInfo) bool { return f.Name == "Work" })
	work, _ := st.FolderByName(ctx, ids[0], "Work")
	if i < 0 || folders[i].ID != work.ID || work.ID == 0 {
		t.Fatalf("Folders: %+v; Work is %d", folders, work.ID)
	}
	if _, _, err := alice.Append(ctx, "Work", &imap.AppendMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")}); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetSubscribed(ctx, "Work", true); err != nil {
		t.Fatal(err)
	}
	if err := alice.RenameFolder(ctx, "Work", "Done"); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteFolder(ctx, "Done"); err != nil {
		t.Fatal(err)
	}
	if g, want := take(), []int64{0, work.ID, 0, 0, 0}; !slices.Equal(g, want) {
		t.Fatalf("Watch got %v; want %v", g, want)
	}
	// Another mailbox's changes, and another kind of event, are not heard.
	if _, err := bob.CreateFolder(ctx, "Work", ""); err != nil {
		t.Fatal(err)
	}
	hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: ids[0]})
	if g := take(); len(g) != 0 {
		t.Fatalf("Watch heard %v", g)
	}
	cancel()
	if _, err := alice.CreateFolder(ctx, "After", ""); err != nil {
		t.Fatal(err)
	}
	if g := take(); len(g) != 0 {
		t.Fatalf("Watch heard %v after cancel", g)
	}
}
