package imapadapter

import (
	"context"
	"maps"
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

// TestOwnFlagChangeNotHeard: a session's own flag change does not call its
// changed callback (it has the change already, and would re-read the
// folder before its tagged OK), while another session on the same folder
// hears it; the second session's change is heard by the first; a change
// that changes nothing is heard by nobody.
func TestOwnFlagChangeNotHeard(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := store.Mailbox{Name: "alice", DisplayName: "alice", Alias: "alice", PrimarySmtpAddress: "alice@example.com",
		UserPrincipalName: "alice@example.com", ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	b := New(Options{Mail: st, Hub: notify.NewLocal()})
	alice := &user{b: b, mailboxID: m.ID}
	_, uid, err := alice.Append(ctx, "INBOX", &imap.AppendMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	heard := map[string]int{}
	open := func(name string) imap.Folder {
		f, err := alice.Open(ctx, "INBOX", func() {
			mu.Lock()
			heard[name]++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		return f
	}
	one, two := open("one"), open("two")
	take := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := heard
		heard = map[string]int{}
		return out
	}
	set := func(f imap.Folder, op imap.FlagOp, fl imap.Flags) int {
		changed, _, err := f.StoreFlags(ctx, &imap.FlagUpdate{UIDs: []imap.UIDRange{{Start: uid, Stop: uid}}, Op: op, Flags: fl})
		if err != nil {
			t.Fatal(err)
		}
		return len(changed)
	}
	for _, c := range []struct {
		f    imap.Folder
		op   imap.FlagOp
		fl   imap.Flags
		want map[string]int
	}{
		{one, imap.FlagsAdd, imap.FlagFlagged, map[string]int{"two": 1}},
		{two, imap.FlagsRemove, imap.FlagFlagged, map[string]int{"one": 1}},
		{one, imap.FlagsAdd, imap.FlagSeen, map[string]int{"two": 1}},
		{one, imap.FlagsAdd, imap.FlagSeen, map[string]int{}}, // no change
		{two, imap.FlagsReplace, imap.FlagDeleted, map[string]int{"one": 1}},
	} {
		set(c.f, c.op, c.fl)
		if g := take(); !maps.Equal(g, c.want) {
			t.Fatalf("after %v %v: heard %v, want %v", c.op, c.fl, g, c.want)
		}
	}
	// Another session's change after one's own is still heard, and the
	// own event is skipped only for its own MODSEQ.
	set(one, imap.FlagsAdd, imap.FlagAnswered)
	set(two, imap.FlagsAdd, imap.FlagDraft)
	if g, want := take(), map[string]int{"one": 1, "two": 1}; !maps.Equal(g, want) {
		t.Fatalf("heard %v, want %v", g, want)
	}
}
