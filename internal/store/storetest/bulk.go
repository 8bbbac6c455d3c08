package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// testMailboxesByGUID checks the lookup of a bulk edit's piped objects by
// GUID: any case, spaces, unknown and repeated GUIDs, more than one query
// takes.
func testMailboxesByGUID(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Guid Knapp", "gk@fabrikam.com")
	b := newMailbox(t, s, "Guid Andrews")
	guids := []string{strings.ToUpper(a.GUID), " " + b.GUID + " ", a.GUID, "", "00000000-0000-0000-0000-000000000000", a.Name}
	for i := range 1100 {
		guids = append(guids, fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1))
	}
	guids = append(guids, b.GUID)
	var got map[string]store.Mailbox
	if err := s.View(ctx, func(tx store.Tx) (err error) {
		got, err = tx.MailboxesByGUID(ctx, guids)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d mailboxes; want 2: %v", len(got), got)
	}
	for _, m := range []store.Mailbox{a, b} {
		g, ok := got[strings.ToLower(m.GUID)]
		if !ok || g.ID != m.ID || g.Name != m.Name || g.GUID != m.GUID || g.PrimarySmtpAddress != m.PrimarySmtpAddress {
			t.Errorf("%s: got %+v (found %v); want mailbox %d", m.GUID, g, ok, m.ID)
		}
	}
}

// testFindMailboxesMany checks that FindMailboxesMany answers each identity
// exactly as FindMailboxes does, over more identities than one of its
// queries takes.
func testFindMailboxesMany(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Christa Knapp", "ck@fabrikam.com")
	b := newMailbox(t, s, "Ben Andrews")
	// Two mailboxes sharing a display name: an ambiguous identity.
	for _, n := range []string{"Twin One", "Twin Two"} {
		alias := strings.ToLower(strings.ReplaceAll(n, " ", "."))
		m := store.Mailbox{Name: n, DisplayName: "Twins", Alias: alias, PrimarySmtpAddress: alias + "@contoso.com",
			UserPrincipalName: alias + "@contoso.com", PasswordHash: "x"}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"christa knapp", "  CK@Fabrikam.com ", a.GUID, strings.ToUpper(a.GUID), "ben.andrews", "BEN.ANDREWS@contoso.com",
		"twins", "nobody", "", "   ", "Christa Knapp", "Twins"}
	// More distinct identities than one query binds, with the real ones
	// again at the end.
	for i := range 1100 {
		ids = append(ids, fmt.Sprintf("nobody-%d", i))
	}
	ids = append(ids, "Ben Andrews", "twin.one@contoso.com", "TWINS")
	for _, limit := range []int{0, 1, 2} {
		var got [][]store.Mailbox
		if err := s.View(ctx, func(tx store.Tx) (err error) {
			got, err = tx.FindMailboxesMany(ctx, ids, limit)
			return err
		}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if len(got) != len(ids) {
			t.Fatalf("limit %d: %d answers for %d identities", limit, len(got), len(ids))
		}
		var found int
		for i, id := range ids {
			var want []store.Mailbox
			s.View(ctx, func(tx store.Tx) (err error) {
				want, err = tx.FindMailboxes(ctx, id, limit)
				if err != nil {
					t.Fatal(err)
				}
				return nil
			})
			if !slices.EqualFunc(got[i], want, func(x, y store.Mailbox) bool {
				return x.ID == y.ID && x.Name == y.Name && x.GUID == y.GUID && x.PopEnabled == y.PopEnabled &&
					slices.Equal(x.EmailAddresses, y.EmailAddresses) && x.WhenChanged.Equal(y.WhenChanged)
			}) {
				t.Errorf("limit %d, %q: got %v; want %v (FindMailboxes)", limit, id, names(got[i]), names(want))
			}
			found += len(got[i])
		}
		if found == 0 {
			t.Fatalf("limit %d: nothing found", limit)
		}
	}
	// Spot checks that do not lean on FindMailboxes.
	var got [][]store.Mailbox
	s.View(ctx, func(tx store.Tx) (err error) {
		got, err = tx.FindMailboxesMany(ctx, []string{"CK@FABRIKAM.COM", "Twins", "ben andrews", "nobody"}, 2)
		return err
	})
	if len(got) != 4 || len(got[0]) != 1 || got[0][0].ID != a.ID || len(got[1]) != 2 || got[1][0].ID >= got[1][1].ID ||
		len(got[2]) != 1 || got[2][0].ID != b.ID || len(got[3]) != 0 {
		t.Errorf("spot checks: got %v", got)
	}
}

func names(ms []store.Mailbox) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// testInsertAudits checks that InsertAudits writes every record in the
// order given, over more records than one of its statements takes, and
// sets their IDs.
func testInsertAudits(t *testing.T, s store.Store) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := store.AuditRecord{RunDate: base, Caller: "admin", CmdletName: "Set-Mailbox", ObjectModified: "first", Succeeded: true}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAudit(ctx, &first) }); err != nil {
		t.Fatal(err)
	}
	const n = 1234
	recs := make([]*store.AuditRecord, n)
	for i := range recs {
		recs[i] = &store.AuditRecord{RunDate: base.Add(time.Duration(i) * time.Microsecond), Caller: "Admin", ClientAddress: "127.0.0.1",
			Surface: "api", CmdletName: "Set-CASMailbox", ObjectModified: fmt.Sprintf("Mailbox %04d", i),
			CmdletParameters: []store.Parameter{{Name: "Identity", Value: fmt.Sprintf("m%d", i)}, {Name: "PopEnabled", Value: "False"}},
			Succeeded:        i%7 != 0}
		if i%7 == 0 {
			recs[i].Error = fmt.Sprintf("failure %d", i)
		} else {
			recs[i].ModifiedProperties = []store.PropertyChange{{Name: "PopEnabled", OldValue: "True", NewValue: "False"}}
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAudits(ctx, recs) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAudits(ctx, nil) }); err != nil {
		t.Fatalf("no records: %v", err)
	}
	for i, r := range recs {
		if r.ID <= first.ID || (i > 0 && r.ID <= recs[i-1].ID) {
			t.Fatalf("record %d: ID %d (previous %d, first %d): want ascending IDs in the order given", i, r.ID, recs[max(i-1, 0)].ID, first.ID)
		}
	}
	var got []store.AuditRecord
	s.View(ctx, func(tx store.Tx) (err error) {
		got, err = tx.SearchAudit(ctx, store.AuditQuery{Cmdlets: []string{"set-casmailbox"}})
		return err
	})
	if len(got) != n {
		t.Fatalf("got %d records; want %d", len(got), n)
	}
	for j, g := range got {
		w := recs[n-1-j] // newest first
		if g.ID != w.ID || g.ObjectModified != w.ObjectModified || !g.RunDate.Equal(w.RunDate) || g.Caller != w.Caller ||
			g.Surface != w.Surface || g.ClientAddress != w.ClientAddress || g.Succeeded != w.Succeeded || g.Error != w.Error ||
			!slices.Equal(g.CmdletParameters, w.CmdletParameters) || !slices.Equal(g.ModifiedProperties, w.ModifiedProperties) {
			t.Fatalf("record %d: got %+v; want %+v", n-1-j, g, *w)
		}
	}
	var byCaller []store.AuditRecord
	s.View(ctx, func(tx store.Tx) (err error) {
		byCaller, err = tx.SearchAudit(ctx, store.AuditQuery{UserIDs: []string{"admin"}, ObjectIDs: []string{"mailbox 0007"}})
		return err
	})
	if len(byCaller) != 1 || byCaller[0].Error != "failure 7" {
		t.Errorf("search by lower-cased caller and object: got %+v", byCaller)
	}
}
