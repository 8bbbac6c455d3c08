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
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
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

// TestOwnFlagChangeNotHeard: a session does not hear back its own flag
// change when it was the folder's next change after the MODSEQ the session
// had (imap.FlagUpdate.OwnModSeq), nor a late event of a change it already
// had; it does hear its own change when another came in between (it must
// then read that one), and every other session hears every change. Each
// session here keeps its MODSEQ as the engine does: its own change when
// OwnModSeq says so, the folder's after reading changes.
func TestOwnFlagChangeNotHeard(t *testing.T) {
	ctx := context.Background()
	st, m := storeWithMailbox(t, "alice")
	hub := notify.NewLocal()
	b := New(Options{Mail: st, Hub: hub})
	alice := &user{b: b, mailboxID: m.ID}
	_, uid, err := alice.Append(ctx, "INBOX", &imap.AppendMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	type session struct {
		f     imap.Folder
		seen  uint64 // the engine's HIGHESTMODSEQ
		heard int
	}
	var mu sync.Mutex
	sessions := map[string]*session{}
	for _, name := range []string{"one", "two"} {
		s := &session{}
		s.f, err = alice.Open(ctx, "INBOX", func() {
			mu.Lock()
			s.heard++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.f.Close()
		st, _, err := s.f.Index(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.seen = st.HighestModSeq
		sessions[name] = s
	}
	one, two := sessions["one"], sessions["two"]
	heard := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for name, s := range sessions {
			if s.heard > 0 {
				out[name] = s.heard
			}
			s.heard = 0
		}
		return out
	}
	set := func(s *session, op imap.FlagOp, fl imap.Flags) {
		up := &imap.FlagUpdate{UIDs: []imap.UIDRange{{Start: uid, Stop: uid}}, Op: op, Flags: fl, SeenModSeq: s.seen}
		changed, _, err := s.f.StoreFlags(ctx, up)
		if err != nil {
			t.Fatal(err)
		}
		if m := up.OwnModSeq(changed); m != 0 {
			s.seen = m
		}
	}
	catchUp := func(s *session) {
		st, _, _, err := s.f.Changes(ctx, s.seen)
		if err != nil {
			t.Fatal(err)
		}
		s.seen = st.HighestModSeq
	}
	publish := func(modSeq uint64) {
		hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: m.ID, FolderID: one.f.(*folder).id, ModSeq: modSeq})
	}
	for _, c := range []struct {
		name string
		do   func()
		want map[string]int
	}{
		{"one's change, the next", func() { set(one, imap.FlagsAdd, imap.FlagFlagged) }, map[string]int{"two": 1}},
		// two has not read one's change: its own is not the next after
		// what it has, so it hears it and reads both.
		{"two's change after one's unread", func() { set(two, imap.FlagsRemove, imap.FlagFlagged) }, map[string]int{"one": 1, "two": 1}},
		// one has not read two's change either.
		{"one's change after two's unread", func() { set(one, imap.FlagsAdd, imap.FlagSeen) }, map[string]int{"one": 1, "two": 1}},
		{"both read", func() { catchUp(one); catchUp(two) }, map[string]int{}},
		{"no change", func() { set(one, imap.FlagsAdd, imap.FlagSeen) }, map[string]int{}},
		{"two's change, the next", func() { set(two, imap.FlagsReplace, imap.FlagDeleted) }, map[string]int{"one": 1}},
		{"one reads", func() { catchUp(one) }, map[string]int{}},
		{"one's change, the next", func() { set(one, imap.FlagsAdd, imap.FlagAnswered) }, map[string]int{"two": 1}},
		// A late event of a change both already have (another node's,
		// arriving after): two's last STORE told its folder what it had.
		{"late event", func() { catchUp(two); set(two, imap.FlagsAdd, imap.FlagAnswered); publish(two.seen) }, map[string]int{}},
		// Above what one has: heard.
		{"event above", func() { publish(one.seen + 1) }, map[string]int{"one": 1, "two": 1}},
		{"event without MODSEQ", func() { publish(0) }, map[string]int{"one": 1, "two": 1}},
	} {
		c.do()
		if g := heard(); !maps.Equal(g, c.want) {
			t.Fatalf("%s: heard %v; want %v", c.name, g, c.want)
		}
	}
}

// storeWithMailbox opens a SQLite store in a temporary directory, closed
// when the test ends, with one IMAP-enabled mailbox of the given name.
func storeWithMailbox(t *testing.T, name string) (*sqlstore.DB, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: name + "@example.com",
		UserPrincipalName: name + "@example.com", ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	return st, m
}
