package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestConformanceNoGroupCommit runs the suite with each write committed on
// its own and SEARCH done by SQL alone (no summary cache).
func TestConformanceNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{NoGroupCommit: true, SummaryCacheBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := store.Mailbox{Name: "A", DisplayName: "A", Alias: "a", PrimarySmtpAddress: "a@x", UserPrincipalName: "a@x"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer s.Close()
	var got []store.Mailbox
	s.View(ctx, func(tx store.Tx) error { got, err = tx.FindMailboxes(ctx, "a", 0); return err })
	if len(got) != 1 {
		t.Errorf("after reopen: got %d mailboxes; want 1", len(got))
	}
}

func TestUnwritableDirectory(t *testing.T) {
	_, err := sqlite.Open(context.Background(), "/proc/gatehouse/x.db", sqlite.Options{})
	if err == nil {
		t.Fatal("open in an unwritable place must fail")
	}
}

// TestGroupedWritePanic: a panic inside one grouped write fails that write
// only; the committer keeps serving.
func TestGroupedWritePanic(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error { panic("boom") })
	if err == nil {
		t.Fatal("a panicking write must fail")
	}
	m := store.Mailbox{Name: "After", DisplayName: "After", Alias: "after", PrimarySmtpAddress: "after@x", UserPrincipalName: "after@x"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
}

func TestIntegrity(t *testing.T) {
	storetest.RunIntegrity(t, func(t *testing.T) (store.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return s, raw
	})
}
