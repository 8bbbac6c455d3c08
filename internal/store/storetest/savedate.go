package storetest

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// testSaveDate: every way a message reaches a folder (append, delivery,
// COPY, MOVE) sets its save date to that moment (RFC 8514), whatever its
// internal date; a flag change keeps it. A moved message keeps its body,
// and a copy shares it, so object ids derived from the body survive both.
func testSaveDate(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Save User")
	other := newMailbox(t, s, "Save Other")
	inbox := mustInbox(t, s, m.ID)
	arch, err := s.FolderByName(ctx, m.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	within := func(what string, got, from, to time.Time) {
		t.Helper()
		// Stored in microseconds.
		if got.Before(from.Truncate(time.Microsecond)) || got.After(to) {
			t.Errorf("%s: save date %v; want between %v and %v", what, got, from, to)
		}
	}

	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	msg := parsedMessage("Subject: appended\r\n\r\nhello\r\n")
	msg.InternalDate = old
	t0 := time.Now()
	if _, _, err := s.Append(ctx, inbox, msg); err != nil {
		t.Fatal(err)
	}
	d := deliver(t, s, []int64{m.ID, other.ID}, "Subject: delivered\r\n\r\nhi\r\n")
	t1 := time.Now()
	got := metas(t, s, inbox, all(), 0)
	if len(got) != 2 {
		t.Fatalf("inbox: %d messages; want 2", len(got))
	}
	if !got[0].InternalDate.Equal(old) {
		t.Errorf("appended internal date %v; want %v", got[0].InternalDate, old)
	}
	within("appended", got[0].SaveDate, t0, t1)
	within("delivered", got[1].SaveDate, t0, t1)
	otherInbox := mustInbox(t, s, other.ID)
	if o := metas(t, s, otherInbox, all(), 0); len(o) != 1 || o[0].BodyID != got[1].BodyID {
		t.Fatalf("delivery to two mailboxes shares one body: %+v", o)
	} else {
		within("delivered to the other mailbox", o[0].SaveDate, t0, t1)
	}
	if d[0].UID != got[1].UID {
		t.Errorf("delivered UID %d; want %d", d[0].UID, got[1].UID)
	}

	// A flag change leaves the save date alone.
	time.Sleep(2 * time.Millisecond)
	if _, _, err := s.StoreFlags(ctx, inbox, store.FlagUpdate{UIDs: all(), Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	flagged := metas(t, s, inbox, all(), 0)
	for i := range flagged {
		if !flagged[i].SaveDate.Equal(got[i].SaveDate) {
			t.Errorf("STORE changed the save date of UID %d: %v -> %v", got[i].UID, got[i].SaveDate, flagged[i].SaveDate)
		}
	}

	// COPY: a new save date in the destination, the original's unchanged,
	// the body shared, the internal date kept.
	time.Sleep(2 * time.Millisecond)
	t2 := time.Now()
	if _, err := s.Copy(ctx, inbox, []store.UIDRange{{Start: got[0].UID, Stop: got[0].UID}}, arch.ID); err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	copied := metas(t, s, arch.ID, all(), 0)
	if len(copied) != 1 || copied[0].BodyID != got[0].BodyID || !copied[0].InternalDate.Equal(old) {
		t.Fatalf("copy: %+v", copied)
	}
	within("copy", copied[0].SaveDate, t2, t3)
	if again := metas(t, s, inbox, all(), 0); !again[0].SaveDate.Equal(got[0].SaveDate) {
		t.Errorf("COPY changed the source's save date: %v -> %v", got[0].SaveDate, again[0].SaveDate)
	}

	// MOVE: a new save date, the same message row and body.
	time.Sleep(2 * time.Millisecond)
	t4 := time.Now()
	if _, err := s.Move(ctx, inbox, []store.UIDRange{{Start: got[1].UID, Stop: got[1].UID}}, arch.ID); err != nil {
		t.Fatal(err)
	}
	t5 := time.Now()
	moved := metas(t, s, arch.ID, all(), 0)
	if len(moved) != 2 || moved[1].ID != got[1].ID || moved[1].BodyID != got[1].BodyID {
		t.Fatalf("move: %+v", moved)
	}
	within("move", moved[1].SaveDate, t4, t5)
}

// testPreview: a preview given with a message is stored with its body and
// read back with MetaPreview, by every copy of it; a message stored without
// one reads as having none (HasPreview false), not as an empty preview.
func testPreview(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Preview User")
	other := newMailbox(t, s, "Preview Other")
	inbox := mustInbox(t, s, m.ID)
	arch, err := s.FolderByName(ctx, m.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	with := parsedMessage("Subject: with\r\n\r\nhello\r\n")
	with.Preview, with.HasPreview = "hello – ünïcode", true
	if _, _, err := s.Append(ctx, inbox, with); err != nil {
		t.Fatal(err)
	}
	empty := parsedMessage("Subject: empty\r\n\r\n")
	empty.HasPreview = true
	if _, _, err := s.Append(ctx, inbox, empty); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, []int64{m.ID}, "Subject: without\r\n\r\nbody\r\n")
	shared := parsedMessage("Subject: shared\r\n\r\nshared\r\n")
	shared.Preview, shared.HasPreview = "shared", true
	if _, err := s.Deliver(ctx, []int64{m.ID, other.ID}, shared); err != nil {
		t.Fatal(err)
	}
	got := metas(t, s, inbox, all(), store.MetaPreview)
	type pv struct {
		p   string
		has bool
	}
	want := []pv{{"hello – ünïcode", true}, {"", true}, {"", false}, {"shared", true}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages; want %d", len(got), len(want))
	}
	for i := range want {
		if (pv{got[i].Preview, got[i].HasPreview}) != want[i] {
			t.Errorf("UID %d: preview %q, %v; want %q, %v", got[i].UID, got[i].Preview, got[i].HasPreview, want[i].p, want[i].has)
		}
	}
	if o := metas(t, s, mustInbox(t, s, other.ID), all(), store.MetaPreview|store.MetaSummary); len(o) != 1 || o[0].Preview != "shared" || o[0].Subject != "shared" {
		t.Errorf("the other recipient's preview: %+v", o)
	}
	if plain := metas(t, s, inbox, all(), 0); plain[0].HasPreview || plain[0].Preview != "" {
		t.Errorf("preview read without MetaPreview: %+v", plain[0])
	}
	if _, err := s.Copy(ctx, inbox, all(), arch.ID); err != nil {
		t.Fatal(err)
	}
	copies := metas(t, s, arch.ID, all(), store.MetaPreview|store.MetaStructure)
	for i := range want {
		if (pv{copies[i].Preview, copies[i].HasPreview}) != want[i] {
			t.Errorf("copy of UID %d: preview %q, %v; want %q, %v", got[i].UID, copies[i].Preview, copies[i].HasPreview, want[i].p, want[i].has)
		}
	}
	// SetPreviews fills in what is missing, keeps what is there, and skips
	// bodies that are gone.
	if err := s.SetPreviews(ctx, map[int64]string{
		got[2].BodyID:             "made later",
		got[0].BodyID:             "not this",
		got[3].BodyID + 1_000_000: "no such body",
	}); err != nil {
		t.Fatalf("SetPreviews: %v", err)
	}
	want[2] = pv{"made later", true}
	after := metas(t, s, inbox, all(), store.MetaPreview)
	for i := range want {
		if (pv{after[i].Preview, after[i].HasPreview}) != want[i] {
			t.Errorf("after SetPreviews, UID %d: preview %q, %v; want %q, %v", after[i].UID, after[i].Preview, after[i].HasPreview, want[i].p, want[i].has)
		}
	}
	if err := s.SetPreviews(ctx, nil); err != nil {
		t.Errorf("SetPreviews(nil): %v", err)
	}
}

// testFolderIdentity: a folder keeps its ID when renamed (with its
// children), a folder created again under a name gets a new one, and a
// mailbox's GUID can be read back by its ID (the keys IMAP object ids are
// derived from, RFC 8474).
func testFolderIdentity(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Ident User")
	a, err := s.CreateFolder(ctx, m.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	kid, err := s.CreateFolder(ctx, m.ID, "Projects/2026", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RenameFolder(ctx, m.ID, "Projects", "Work"); err != nil {
		t.Fatal(err)
	}
	if f, err := s.FolderByName(ctx, m.ID, "Work"); err != nil || f.ID != a.ID {
		t.Errorf("renamed folder: %+v, %v; want ID %d", f, err, a.ID)
	}
	if f, err := s.FolderByName(ctx, m.ID, "Work/2026"); err != nil || f.ID != kid.ID {
		t.Errorf("renamed child: %+v, %v; want ID %d", f, err, kid.ID)
	}
	b, err := s.CreateFolder(ctx, m.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == a.ID || b.ID == kid.ID {
		t.Errorf("a folder created under a used name reuses ID %d", b.ID)
	}
	if err := s.DeleteFolder(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateFolder(ctx, m.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == b.ID {
		t.Errorf("a deleted folder's ID %d was reused", b.ID)
	}
	guid, err := s.MailboxGUID(ctx, m.ID)
	if err != nil || guid != m.GUID || guid == "" {
		t.Errorf("MailboxGUID: %q, %v; want %q", guid, err, m.GUID)
	}
	if _, err := s.MailboxGUID(ctx, m.ID+1_000_000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MailboxGUID of an unknown mailbox: %v; want ErrNotFound", err)
	}
}

// RunSaveDateMigration checks migration 0008 on an engine: messages stored
// before it get the time of the migration as their save date, not their
// internal date. open opens the store (again) on one database; raw reaches
// that database directly, to take it back to the schema before 0008.
func RunSaveDateMigration(t *testing.T, open func(t *testing.T) store.Store, raw *sql.DB) {
	s := open(t)
	m := newMailbox(t, s, "Migrated")
	inbox := mustInbox(t, s, m.ID)
	old := time.Date(2003, 4, 5, 6, 7, 8, 0, time.UTC)
	msg := parsedMessage("Subject: x\r\n\r\nx\r\n")
	msg.InternalDate = old
	if _, _, err := s.Append(ctx, inbox, msg); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, q := range []string{`ALTER TABLE messages DROP COLUMN save_date`, `DROP TABLE body_previews`, `DELETE FROM schema_migrations WHERE version = 8`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before := time.Now().Truncate(time.Second)
	s = open(t)
	after := time.Now()
	got := metas(t, s, inbox, all(), 0)
	if len(got) != 1 {
		t.Fatalf("got %d messages; want 1", len(got))
	}
	if !got[0].InternalDate.Equal(old) {
		t.Errorf("internal date %v; want %v", got[0].InternalDate, old)
	}
	if got := metas(t, s, inbox, all(), store.MetaPreview); got[0].HasPreview {
		t.Errorf("a body stored before the migration has a stored preview: %+v", got[0])
	}
	if sd := got[0].SaveDate; sd.Before(before) || sd.After(after) {
		t.Errorf("save date after the migration %v; want the time of the migration, between %v and %v", sd, before, after)
	}
}
