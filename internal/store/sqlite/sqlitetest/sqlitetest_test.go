package sqlitetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
)

// TestFull checks that a full database fails every kind of write with
// store.ErrStorageFull, serves reads, and takes writes again once space is
// freed; with and without group commit.
func TestFull(t *testing.T) {
	for _, o := range []struct {
		name string
		opts sqlite.Options
	}{
		{"group commit", sqlite.Options{}},
		{"no group commit", sqlite.Options{NoGroupCommit: true}},
	} {
		t.Run(o.name, func(t *testing.T) {
			ctx := context.Background()
			st := sqlitetest.Open(t, o.opts)
			m := store.Mailbox{Name: "a", DisplayName: "a", Alias: "a", PrimarySmtpAddress: "a@x", UserPrincipalName: "a@x"}
			if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
				t.Fatal(err)
			}
			msg := store.NewMessage{InternalDate: time.Now(), Raw: []byte("Subject: x\r\n\r\nbody\r\n")}
			if _, err := st.Deliver(ctx, []int64{m.ID}, msg); err != nil {
				t.Fatal(err)
			}
			inbox, err := st.FolderByName(ctx, m.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := st.AcquireLease(ctx, "l", "h", time.Minute); !ok || err != nil {
				t.Fatalf("AcquireLease = %v, %v; want true, nil", ok, err)
			}

			st.Fill(t)
			writes := []struct {
				name string
				fn   func() error
			}{
				{"Deliver", func() error { _, err := st.Deliver(ctx, []int64{m.ID}, msg); return err }},
				{"ClaimRecent", func() error { _, _, err := st.ClaimRecent(ctx, inbox.ID); return err }},
				{"ReleaseLease", func() error { return st.ReleaseLease(ctx, "l", "h") }},
				{"AcquireLease", func() error { _, err := st.AcquireLease(ctx, "l2", "h", time.Minute); return err }},
				{"InsertLoginRecords", func() error {
					return st.InsertLoginRecords(ctx, []store.LoginRecord{{Time: time.Now(), Protocol: "pop3", Username: "a", Result: store.LoginSuccess}})
				}},
				{"Update", func() error {
					return st.Update(ctx, func(tx store.Tx) error {
						m.DisplayName = "b"
						return tx.UpdateMailbox(ctx, m)
					})
				}},
			}
			for _, w := range writes {
				if err := w.fn(); !errors.Is(err, store.ErrStorageFull) {
					t.Errorf("full: %s: got %v; want store.ErrStorageFull", w.name, err)
				}
			}
			if f, err := st.FolderByID(ctx, inbox.ID); err != nil || f.Messages != 1 {
				t.Errorf("full: FolderByID = %d messages, %v; want 1, nil", f.Messages, err)
			}

			st.Free(t)
			for _, w := range writes {
				if err := w.fn(); err != nil {
					t.Errorf("freed: %s: got %v; want nil", w.name, err)
				}
			}
		})
	}
}
