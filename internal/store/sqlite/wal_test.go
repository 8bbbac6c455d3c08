package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// walFixture opens a store whose log syncs run before (a test's hook first)
// and returns it with a mailbox's INBOX holding one message.
func walFixture(t *testing.T, before func() error) (store.Store, store.Folder) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.WithBeforeWALSync(sqlite.Options{}, before))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := store.Mailbox{Name: "W", DisplayName: "W", Alias: "w", PrimarySmtpAddress: "w@x", UserPrincipalName: "w@x"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(ctx, inbox.ID, walMessage()); err != nil {
		t.Fatal(err)
	}
	return s, inbox
}

func walMessage() store.NewMessage {
	return store.NewMessage{Raw: []byte("Subject: w\r\n\r\nbody\r\n")}
}

// wait fails the test when ch does not deliver within a minute: a write
// that never comes back is a hang, and a minute is no performance figure.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("%s did not come back", what)
		var zero T
		return zero
	}
}

// walFixtureHeld is walFixture whose first log sync after it opened waits
// until release is closed; entered is signalled when that sync begins.
func walFixtureHeld(t *testing.T) (s store.Store, inbox store.Folder, entered <-chan struct{}, release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	hold := make(chan struct{}, 1)
	began := make(chan struct{}, 1)
	s, inbox = walFixture(t, func() error {
		select {
		case <-hold:
			began <- struct{}{}
			<-release
		default:
		}
		return nil
	})
	hold <- struct{}{}
	return s, inbox, began, release
}

// TestDurableWriteWaitsForLogSync: an APPEND is answered only after a sync
// of the write-ahead log that began after its commit, while a flag change
// committed during that sync is answered at once (sqlstore.Options.SyncLog).
func TestDurableWriteWaitsForLogSync(t *testing.T) {
	ctx := context.Background()
	s, inbox, entered, release := walFixtureHeld(t)
	appended := make(chan error, 1)
	go func() {
		_, _, err := s.Append(ctx, inbox.ID, walMessage())
		appended <- err
	}()
	// A sync starts only after a commit that has a durable write in it.
	wait(t, entered, "the log sync after the APPEND's commit")
	stored := make(chan error, 1)
	go func() {
		_, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagFlagged})
		stored <- err
	}()
	if err := wait(t, stored, "STORE during a held log sync"); err != nil {
		t.Fatalf("STORE: %v", err)
	}
	select {
	case err := <-appended:
		t.Fatalf("APPEND answered (err %v) while the log sync after its commit was held", err)
	default:
	}
	close(release)
	if err := wait(t, appended, "APPEND after the log sync"); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	f, err := s.FolderByID(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 2 {
		t.Errorf("got %d messages; want 2", f.Messages)
	}
}

// TestLeaseDoesNotWaitForLogSync: taking and giving back a lease (a POP3
// session's maildrop lock, at its login and at QUIT) are relaxed writes,
// answered while a sync of the log is held, as flag changes are.
func TestLeaseDoesNotWaitForLogSync(t *testing.T) {
	ctx := context.Background()
	s, inbox, entered, release := walFixtureHeld(t)
	defer close(release)
	go s.Append(ctx, inbox.ID, walMessage())
	wait(t, entered, "the log sync after the APPEND's commit")
	done := make(chan error, 1)
	go func() {
		ok, err := s.AcquireLease(ctx, "pop3:1", "node-a", time.Minute)
		if err == nil && !ok {
			err = errors.New("lease not taken")
		}
		if err == nil {
			err = s.ReleaseLease(ctx, "pop3:1", "node-a")
		}
		done <- err
	}()
	if err := wait(t, done, "a lease taken and released during a held log sync"); err != nil {
		t.Fatalf("lease: %v", err)
	}
	ok, err := s.AcquireLease(ctx, "pop3:1", "node-b", time.Minute)
	if err != nil || !ok {
		t.Errorf("lease after its release: got %v, %v; want true, nil", ok, err)
	}
}

// TestFailedLogSyncRefusesDurableWrites: after a sync of the log failed,
// no durable write is acknowledged again (the kernel may have dropped the
// pages it failed to write, so a later successful sync proves nothing);
// flag changes, which never waited for the disk, go on.
func TestFailedLogSyncRefusesDurableWrites(t *testing.T) {
	ctx := context.Background()
	fail := make(chan error, 1)
	s, inbox := walFixture(t, func() error {
		select {
		case err := <-fail:
			return err
		default:
			return nil
		}
	})
	fail <- errors.New("EIO from the test")
	for i := range 2 {
		if _, _, err := s.Append(ctx, inbox.ID, walMessage()); err == nil {
			t.Fatalf("APPEND %d after a failed log sync: no error; want one", i+1)
		}
	}
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
		t.Errorf("STORE after a failed log sync: %v", err)
	}
}

// TestCheckpointerCopiesLog: the checkpointer, not the writer (whose
// automatic checkpoint is far off at 8,000 pages), copies the committed
// log into the database file, and the writes stay readable.
func TestCheckpointerCopiesLog(t *testing.T) {
	ctx := context.Background()
	type result struct{ log, copied int }
	results := make(chan result, 100)
	o := sqlite.WithCheckpointed(sqlite.Options{}, func(log, copied int) {
		select {
		case results <- result{log, copied}:
		default:
		}
	})
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := store.Mailbox{Name: "C", DisplayName: "C", Alias: "c", PrimarySmtpAddress: "c@x", UserPrincipalName: "c@x"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, _, err := s.Append(ctx, inbox.ID, walMessage()); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for a checkpoint that found frames in the log and copied all
	// of them (it runs every 500 ms; a minute without one is a broken
	// checkpointer, not a slow machine).
	deadline := time.Now().Add(time.Minute)
	for {
		r := wait(t, results, "a checkpoint")
		if r.log > 0 && r.copied == r.log {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint copied the whole log in a minute (last: %d of %d frames)", r.copied, r.log)
		}
	}
	f, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 20 {
		t.Fatalf("INBOX has %d messages after the checkpoint, want 20", f.Messages)
	}
}
