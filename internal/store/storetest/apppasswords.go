package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// testAppPasswords: app passwords are added per mailbox (names unique in
// any case within a mailbox, secrets unique everywhere), found by the hash
// of their secret whoever owns them, listed by name, revoked one by one or
// all at once (DELETE ... RETURNING says which), marked used by successful
// login records only and only forward in time, and go with their mailbox.
func testAppPasswords(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "apppw-a")
	b := newMailbox(t, s, "apppw-b")
	now := time.Now().UTC().Truncate(time.Microsecond)
	phone := store.AppPassword{MailboxID: a.ID, Name: "Phone", SecretHash: "h-phone", WhenCreated: now}
	laptop := store.AppPassword{MailboxID: a.ID, Name: "laptop", SecretHash: "h-laptop", WhenCreated: now}
	other := store.AppPassword{MailboxID: b.ID, Name: "Phone", SecretHash: "h-b-phone", WhenCreated: now}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for _, p := range []*store.AppPassword{&phone, &laptop, &other} {
			if err := tx.InsertAppPassword(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []store.AppPassword{
		{MailboxID: a.ID, Name: "PHONE", SecretHash: "h-new", WhenCreated: now},    // name taken in this mailbox
		{MailboxID: b.ID, Name: "Tablet", SecretHash: "h-phone", WhenCreated: now}, // secret taken anywhere
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAppPassword(ctx, &dup) })
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("insert %q/%q: got %v; want ErrExists", dup.Name, dup.SecretHash, err)
		}
	}
	list := func(id int64) []string {
		t.Helper()
		var names []string
		if err := s.View(ctx, func(tx store.Tx) error {
			ps, err := tx.AppPasswords(ctx, id)
			for _, p := range ps {
				names = append(names, p.Name)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := list(a.ID); !slices.Equal(got, []string{"laptop", "Phone"}) {
		t.Errorf("list: got %v; want [laptop Phone]", got)
	}
	var found store.AppPassword
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		if found, err = tx.AppPasswordBySecret(ctx, "h-b-phone"); err != nil {
			return err
		}
		if _, err := tx.AppPasswordBySecret(ctx, "h-none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown secret: got %v; want ErrNotFound", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if found.ID != other.ID || found.MailboxID != b.ID || found.Name != "Phone" || !found.WhenCreated.Equal(now) || !found.LastUsed.IsZero() {
		t.Errorf("by secret: got %+v; want %+v", found, other)
	}

	// Last use: from successful records only, never backwards.
	rec := func(at time.Time, result string) store.LoginRecord {
		return store.LoginRecord{Time: at, Protocol: "imap4", MailboxID: a.ID, Username: "apppw-a", Result: result,
			RemoteAddr: "192.0.2.7:1234", AuthMethod: "PLAIN", AppPassword: "Phone", AppPasswordID: phone.ID}
	}
	if err := s.InsertLoginRecords(ctx, []store.LoginRecord{rec(now.Add(2*time.Second), store.LoginSuccess),
		rec(now.Add(time.Second), store.LoginSuccess), rec(now.Add(3*time.Second), store.LoginDisabled)}); err != nil {
		t.Fatal(err)
	}
	var recs []store.LoginRecord
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		if found, err = tx.AppPasswordBySecret(ctx, "h-phone"); err != nil {
			return err
		}
		recs, err = tx.RecentLogins(ctx, a.ID, store.LoginQuery{Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !found.LastUsed.Equal(now.Add(2*time.Second)) || found.LastUsedProtocol != "imap4" || found.LastUsedAddr != "192.0.2.7:1234" {
		t.Errorf("last use: got %v %q %q; want %v imap4 192.0.2.7:1234", found.LastUsed, found.LastUsedProtocol, found.LastUsedAddr, now.Add(2*time.Second))
	}
	if len(recs) != 3 || recs[0].AppPassword != "Phone" {
		t.Errorf("login records keep the app password's name: got %+v", recs)
	}

	// Revoke one, then the rest; the other mailbox keeps its own.
	var gone []store.AppPassword
	if err := s.Update(ctx, func(tx store.Tx) error {
		var err error
		gone, err = tx.DeleteAppPasswords(ctx, a.ID, []int64{phone.ID, other.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].ID != phone.ID {
		t.Errorf("revoke Phone (and another mailbox's ID): got %+v; want Phone only", gone)
	}
	if got := list(a.ID); !slices.Equal(got, []string{"laptop"}) {
		t.Errorf("after revoking Phone: got %v", got)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		var err error
		gone, err = tx.DeleteAppPasswords(ctx, a.ID, nil)
		return err
	}); err != nil || len(gone) != 1 || gone[0].Name != "laptop" {
		t.Errorf("revoke all: got %+v, %v; want laptop", gone, err)
	}
	if got := list(b.ID); !slices.Equal(got, []string{"Phone"}) {
		t.Errorf("other mailbox: got %v; want [Phone]", got)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, b.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx store.Tx) error {
		_, err := tx.AppPasswordBySecret(ctx, "h-b-phone")
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after Remove-Mailbox: got %v; want ErrNotFound", err)
	}
}
