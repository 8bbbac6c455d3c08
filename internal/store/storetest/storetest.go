// Package storetest is the conformance suite of store.Store: every engine
// runs it, so that SQLite and PostgreSQL behave alike in every case the rest
// of Gatehouse relies on.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Open returns a new, empty store for one test; the engine's test closes it.
type Open func(t *testing.T) store.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"OrgConfigAndPlan", testOrgConfigAndPlan},
		{"MailboxIdentity", testMailboxIdentity},
		{"MailboxUniqueness", testMailboxUniqueness},
		{"MailboxUpdateDelete", testMailboxUpdateDelete},
		{"ListMailboxes", testListMailboxes},
		{"RoleGroups", testRoleGroups},
		{"Audit", testAudit},
		{"InsertAudits", testInsertAudits},
		{"FindMailboxesMany", testFindMailboxesMany},
		{"MailboxesByGUID", testMailboxesByGUID},
		{"LoginRecords", testLoginRecords},
		{"RecentLogins", testRecentLogins},
		{"Folders", testFolders},
		{"RenameInbox", testRenameInbox},
		{"DeliverAndRead", testDeliverAndRead},
		{"AppendMany", testAppendMany},
		{"LargeBody", testLargeBody},
		{"ReadBodyHeads", testReadBodyHeads},
		{"Flags", testFlags},
		{"ExpungeAndChanges", testExpungeAndChanges},
		{"CopyMove", testCopyMove},
		{"ClaimRecent", testClaimRecent},
		{"ConcurrentClaimRecent", testConcurrentClaimRecent},
		{"AppendClaimingRecent", testAppendClaimingRecent},
		{"CopyClaimingRecent", testCopyClaimingRecent},
		{"ExpungeChanges", testExpungeChanges},
		{"ConcurrentDeliveries", testConcurrentDeliveries},
		{"LastLogon", testLastLogon},
		{"AdminSessions", testAdminSessions},
		{"SearchSummary", testSearchSummary},
		{"SearchSubjectExact", testSearchSubjectExact},
		{"Leases", testLeases},
		{"SessionReports", testSessionReports},
		{"SweepKeepsSharedBodies", testSweepKeepsSharedBodies},
		{"SweepSparesBodiesBeingRead", testSweepSparesBodiesBeingRead},
		{"Repair", testRepair},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentExpunges", testConcurrentExpunges},
		{"ConcurrentRemovals", testConcurrentRemovals},
		{"SaveDate", testSaveDate},
		{"HasBinary", testHasBinary},
		{"FolderIdentity", testFolderIdentity},
		{"Preview", testPreview},
		{"QuotaSetAndUsage", testQuotaSetAndUsage},
		{"QuotaEnforced", testQuotaEnforced},
		{"QuotaConcurrent", testQuotaConcurrent},
		{"Recipient", testRecipient},
		{"SignInState", testSignInState},
		{"AppendTarget", testAppendTarget},
		{"QueueLifecycle", testQueueLifecycle},
		{"QueueConcurrentClaims", testQueueConcurrentClaims},
		{"SmtpClientAuthSwitch", testSmtpClientAuthSwitch},
		{"SCRAMKeysAndAuthMethod", testSCRAMKeysAndAuthMethod},
		{"AuthPolicies", testAuthPolicies},
		{"AppPasswords", testAppPasswords},
		{"MigrationObjects", testMigrationObjects},
		{"MigrationEndpointTrustAndPages", testMigrationEndpointTrustAndPages},
		{"MigrationCopy", testMigrationCopy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

func newMailbox(t *testing.T, s store.Store, name string, extra ...string) store.Mailbox {
	t.Helper()
	alias := strings.ToLower(strings.ReplaceAll(name, " ", "."))
	m := store.Mailbox{
		Name: name, DisplayName: name, Alias: alias,
		PrimarySmtpAddress: alias + "@contoso.com", UserPrincipalName: alias + "@contoso.com",
		EmailAddresses: extra, PasswordHash: "x", PopEnabled: true, ImapEnabled: true,
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatalf("insert mailbox %s: %v", name, err)
	}
	return m
}

func find(t *testing.T, s store.Store, id string) []store.Mailbox {
	t.Helper()
	var out []store.Mailbox
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.FindMailboxes(ctx, id, 0)
		return err
	}); err != nil {
		t.Fatalf("find %q: %v", id, err)
	}
	return out
}

func testOrgConfigAndPlan(t *testing.T, s store.Store) {
	want := store.OrgConfig{Name: "Contoso", Domain: "contoso.com", SecurityDefaultsEnabled: true, SmtpClientAuthenticationDisabled: true,
		WhenChanged: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetOrgConfig(ctx, want) }); err != nil {
		t.Fatal(err)
	}
	var got store.OrgConfig
	var plan store.CASMailboxPlan
	s.View(ctx, func(tx store.Tx) error {
		var err error
		if got, err = tx.OrgConfig(ctx); err != nil {
			t.Fatal(err)
		}
		plan, err = tx.Plan(ctx)
		return err
	})
	if !got.WhenChanged.Equal(want.WhenChanged) || got.Name != want.Name || got.Domain != want.Domain || !got.SecurityDefaultsEnabled ||
		!got.SmtpClientAuthenticationDisabled {
		t.Errorf("org config: got %+v; want %+v", got, want)
	}
	if !plan.PopEnabled || !plan.ImapEnabled {
		t.Errorf("default plan: got %+v; want both enabled", plan)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.SetPlan(ctx, store.CASMailboxPlan{PopEnabled: false, ImapEnabled: true})
	}); err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error { plan, _ = tx.Plan(ctx); return nil })
	if plan.PopEnabled || !plan.ImapEnabled {
		t.Errorf("plan after set: got %+v; want pop off, imap on", plan)
	}
}

func testMailboxIdentity(t *testing.T, s store.Store) {
	ck := newMailbox(t, s, "Christa Knapp", "c.knapp@contoso.com")
	newMailbox(t, s, "Christa Mueller")
	if ck.ID == 0 || ck.GUID == "" {
		t.Fatalf("insert did not set ID and GUID: %+v", ck)
	}
	for _, id := range []string{"Christa Knapp", "christa knapp", "CHRISTA.KNAPP", "christa.knapp@contoso.com",
		"C.Knapp@Contoso.com", strings.ToUpper(ck.GUID), " Christa Knapp "} {
		got := find(t, s, id)
		if len(got) != 1 || got[0].ID != ck.ID {
			t.Errorf("find %q: got %d matches; want Christa Knapp only", id, len(got))
		}
	}
	if got := find(t, s, "Christa"); len(got) != 0 {
		t.Errorf("find partial name: got %d; want 0 (identity is exact)", len(got))
	}
	var byAddr store.Mailbox
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		byAddr, err = tx.MailboxByAddress(ctx, "C.KNAPP@contoso.com")
		return err
	})
	if err != nil || byAddr.ID != ck.ID {
		t.Errorf("by address: got %v, %v; want Christa Knapp", byAddr.Name, err)
	}
	if !slices.Equal(byAddr.EmailAddresses, []string{"c.knapp@contoso.com"}) {
		t.Errorf("EmailAddresses: got %v", byAddr.EmailAddresses)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		_, err := tx.MailboxByAddress(ctx, "nobody@contoso.com")
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown address: got %v; want ErrNotFound", err)
	}
	// Two mailboxes whose display names collide: identity is ambiguous.
	a := newMailbox(t, s, "Ana Lopez")
	b := store.Mailbox{Name: "Ana Lopez 2", DisplayName: "Ana Lopez", Alias: "alopez2", PrimarySmtpAddress: "alopez2@contoso.com",
		UserPrincipalName: "alopez2@contoso.com", PasswordHash: "x"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &b) }); err != nil {
		t.Fatal(err)
	}
	got := find(t, s, "ana lopez")
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Errorf("ambiguous display name: got %d matches; want both", len(got))
	}
}

func testMailboxUniqueness(t *testing.T, s store.Store) {
	newMailbox(t, s, "Kim Akers", "sales@contoso.com")
	for _, tc := range []struct {
		name string
		m    store.Mailbox
	}{
		{"name", store.Mailbox{Name: "KIM AKERS", Alias: "x1", PrimarySmtpAddress: "x1@contoso.com", UserPrincipalName: "x1@contoso.com"}},
		{"alias", store.Mailbox{Name: "x2", Alias: "Kim.Akers", PrimarySmtpAddress: "x2@contoso.com", UserPrincipalName: "x2@contoso.com"}},
		{"upn", store.Mailbox{Name: "x3", Alias: "x3", PrimarySmtpAddress: "x3@contoso.com", UserPrincipalName: "kim.akers@contoso.com"}},
		{"primary address", store.Mailbox{Name: "x4", Alias: "x4", PrimarySmtpAddress: "Kim.Akers@contoso.com", UserPrincipalName: "x4@contoso.com"}},
		{"proxy address", store.Mailbox{Name: "x5", Alias: "x5", PrimarySmtpAddress: "x5@contoso.com", UserPrincipalName: "x5@contoso.com", EmailAddresses: []string{"Sales@contoso.com"}}},
	} {
		m := tc.m
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) })
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate %s: got %v; want ErrExists", tc.name, err)
		}
	}
	// Nothing of the failed inserts remains.
	if got := find(t, s, "x5@contoso.com"); len(got) != 0 {
		t.Errorf("failed insert left a mailbox behind")
	}
}

func testMailboxUpdateDelete(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Pat Kim", "pat@contoso.com")
	other := newMailbox(t, s, "Lee Park")
	m.DisplayName = "Patricia Kim"
	m.PopEnabled = false
	m.EmailAddresses = []string{"patricia@contoso.com"}
	m.WhenChanged = time.Now().UTC()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, m) }); err != nil {
		t.Fatal(err)
	}
	if got := find(t, s, "pat@contoso.com"); len(got) != 0 {
		t.Errorf("old proxy address still resolves")
	}
	got := find(t, s, "patricia kim")
	if len(got) != 1 || got[0].PopEnabled || !got[0].ImapEnabled {
		t.Fatalf("after update: got %+v", got)
	}
	// A clash rolls the whole transaction back.
	m.EmailAddresses = []string{other.PrimarySmtpAddress}
	m.DisplayName = "Changed"
	err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, m) })
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("update onto taken address: got %v; want ErrExists", err)
	}
	if got := find(t, s, "patricia kim"); len(got) != 1 {
		t.Errorf("failed update was not rolled back")
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxProtocols(ctx, m.ID, true, false, at) }); err != nil {
		t.Fatal(err)
	}
	if got := find(t, s, "patricia kim"); !got[0].PopEnabled || got[0].ImapEnabled || !got[0].WhenChanged.Equal(at) ||
		got[0].DisplayName != "Patricia Kim" {
		t.Errorf("after SetMailboxProtocols: %+v", got[0])
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxProtocols(ctx, 999999, true, true, at) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("protocols of a missing mailbox: got %v; want ErrNotFound", err)
	}
	mb, _ := s.FolderByName(ctx, m.ID, "INBOX")
	deliver(t, s, []int64{m.ID}, "Subject: hello\r\n\r\nbody\r\n")
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, m.ID) }); err != nil {
		t.Fatal(err)
	}
	if got := find(t, s, "patricia@contoso.com"); len(got) != 0 {
		t.Errorf("deleted mailbox still resolves")
	}
	if _, err := s.FolderByID(ctx, mb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("folder of deleted mailbox: got %v; want ErrNotFound", err)
	}
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, m.ID) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: got %v; want ErrNotFound", err)
	}
}

func list(t *testing.T, s store.Store, q store.MailboxQuery) ([]string, int) {
	t.Helper()
	var page []store.Mailbox
	var total int
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		page, total, err = tx.ListMailboxes(ctx, q)
		return err
	}); err != nil {
		t.Fatalf("list %+v: %v", q, err)
	}
	var names []string
	for _, m := range page {
		names = append(names, m.Name)
	}
	return names, total
}

func testListMailboxes(t *testing.T, s store.Store) {
	for _, n := range []string{"Christa Knapp", "Chris Green", "Ben Andrews", "Dana Smith", "Ed Banks"} {
		newMailbox(t, s, n)
	}
	s.Update(ctx, func(tx store.Tx) error {
		ms, _ := tx.FindMailboxes(ctx, "Ben Andrews", 1)
		ms[0].PopEnabled = false
		return tx.UpdateMailbox(ctx, ms[0])
	})
	for _, tc := range []struct {
		name  string
		q     store.MailboxQuery
		want  []string
		total int
	}{
		{"all by display name", store.MailboxQuery{}, []string{"Ben Andrews", "Chris Green", "Christa Knapp", "Dana Smith", "Ed Banks"}, 5},
		{"page", store.MailboxQuery{Offset: 1, Limit: 2}, []string{"Chris Green", "Christa Knapp"}, 5},
		{"offset only", store.MailboxQuery{Offset: 4}, []string{"Ed Banks"}, 5},
		{"like", store.MailboxQuery{Filter: store.Cond{Field: store.FieldName, Op: store.OpLike, Value: "chr*"}}, []string{"Chris Green", "Christa Knapp"}, 2},
		{"pop disabled", store.MailboxQuery{Filter: store.Cond{Field: store.FieldPopEnabled, Op: store.OpEq, Value: false}}, []string{"Ben Andrews"}, 1},
		{"and/not", store.MailboxQuery{Filter: store.And{
			store.Cond{Field: store.FieldPopEnabled, Op: store.OpEq, Value: true},
			store.Not{F: store.Cond{Field: store.FieldDisplayName, Op: store.OpLike, Value: "*a*"}},
		}}, []string{"Chris Green"}, 1},
		{"or", store.MailboxQuery{Filter: store.Or{
			store.Cond{Field: store.FieldAlias, Op: store.OpEq, Value: "ED.BANKS"},
			store.Cond{Field: store.FieldEmailAddresses, Op: store.OpLike, Value: "dana*"},
		}}, []string{"Dana Smith", "Ed Banks"}, 2},
		{"like escapes %", store.MailboxQuery{Filter: store.Cond{Field: store.FieldName, Op: store.OpLike, Value: "%"}}, nil, 0},
		{"search prefix", store.MailboxQuery{Search: "chris"}, []string{"Chris Green", "Christa Knapp"}, 2},
		{"search address", store.MailboxQuery{Search: "ed.b"}, []string{"Ed Banks"}, 1},
		{"search a word inside", store.MailboxQuery{Search: "KNAPP"}, []string{"Christa Knapp"}, 1},
		{"search inside a word", store.MailboxQuery{Search: "napp"}, nil, 0},
		{"search escapes %", store.MailboxQuery{Search: "%a"}, nil, 0},
		{"search across a separator", store.MailboxQuery{Search: "knapp@con"}, []string{"Christa Knapp"}, 1},
		{"search from an inner word to the domain", store.MailboxQuery{Search: "banks@contoso.com"}, []string{"Ed Banks"}, 1},
		{"search a domain", store.MailboxQuery{Search: "contoso"}, []string{"Ben Andrews", "Chris Green", "Christa Knapp", "Dana Smith", "Ed Banks"}, 5},
		{"search with a filter", store.MailboxQuery{Search: "contoso", Filter: store.Cond{Field: store.FieldPopEnabled, Op: store.OpEq, Value: false}}, []string{"Ben Andrews"}, 1},
		{"search a separator and a word", store.MailboxQuery{Search: ".knapp"}, nil, 0},
		{"sort desc", store.MailboxQuery{Sort: []store.SortKey{{Field: store.FieldName, Desc: true}}, Limit: 2}, []string{"Ed Banks", "Dana Smith"}, 5},
		{"sort by pop", store.MailboxQuery{Sort: []store.SortKey{{Field: store.FieldPopEnabled}}, Limit: 1}, []string{"Ben Andrews"}, 5},
		{"no count", store.MailboxQuery{Filter: store.Cond{Field: store.FieldName, Op: store.OpLike, Value: "chr*"}, Limit: 1, NoCount: true},
			[]string{"Chris Green"}, 0},
	} {
		got, total := list(t, s, tc.q)
		if !slices.Equal(got, tc.want) || total != tc.total {
			t.Errorf("%s: got %v (total %d); want %v (total %d)", tc.name, got, total, tc.want, tc.total)
		}
	}
	testSearchFollowsWrites(t, s)
	err := s.View(ctx, func(tx store.Tx) error {
		_, _, err := tx.ListMailboxes(ctx, store.MailboxQuery{Filter: store.Cond{Field: "PasswordHash", Op: store.OpEq, Value: "x"}})
		return err
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("filter on unknown field: got %v; want ErrInvalid", err)
	}
	testListAfter(t, s)
}

// testSearchFollowsWrites: the admin list's search (mailbox_words) finds a
// mailbox by what it is called now: after a rename and a change of
// addresses, not by the old values; not at all once it is removed; and by
// texts longer than the words the table keeps, which the values decide.
func testSearchFollowsWrites(t *testing.T, s store.Store) {
	long := "Maximilian Alexander Wolfeschlegelsteinhausen-Bergerdorff"
	m := newMailbox(t, s, "Zoë Ünal", "zoe.u@fabrikam.example")
	search := func(text string) []string {
		t.Helper()
		got, _ := list(t, s, store.MailboxQuery{Search: text})
		return got
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"ünal", []string{"Zoë Ünal"}},
		{"ZOË", []string{"Zoë Ünal"}},
		{"fabrikam.ex", []string{"Zoë Ünal"}},
		{"u@fab", []string{"Zoë Ünal"}},
	} {
		if got := search(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: got %v; want %v", tc.text, got, tc.want)
		}
	}
	m.Name, m.DisplayName, m.Alias = "Zoe Yilmaz", "Zoe Yilmaz", "zoe.yilmaz"
	m.PrimarySmtpAddress, m.EmailAddresses = "zoe.yilmaz@contoso.com", []string{"zy@tailspin.example"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, m) }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"ünal", nil},
		{"fabrikam", nil},
		{"yilmaz", []string{"Zoe Yilmaz"}},
		{"tailspin", []string{"Zoe Yilmaz"}},
		{"zy@", []string{"Zoe Yilmaz"}},
	} {
		if got := search(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("after the rename, search %q: got %v; want %v", tc.text, got, tc.want)
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, m.ID) }); err != nil {
		t.Fatal(err)
	}
	if got := search("yilmaz"); got != nil {
		t.Errorf("search after the removal: got %v; want nothing", got)
	}
	lm := newMailbox(t, s, long)
	defer func() {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, lm.ID) }); err != nil {
			t.Fatal(err)
		}
	}()
	lc := strings.ToLower(long)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{lc, []string{long}},
		{"alexander wolfeschlegelsteinhausen-b", []string{long}},
		// The first 32 characters are a word start's; the rest is not.
		{"alexander wolfeschlegelsteinhausen-x", nil},
		{lc + "x", nil},
		{"bergerdorff", []string{long}},
	} {
		if got := search(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: got %v; want %v", tc.text, got, tc.want)
		}
	}
	// Three words of its own for each of 300 addresses: more than one
	// statement's worth of rows.
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("p%d.q@d%d.example", i, i))
	}
	mm := newMailbox(t, s, "Many Addresses", many...)
	defer func() {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, mm.ID) }); err != nil {
			t.Fatal(err)
		}
	}()
	for _, text := range []string{"p0.q@", "d299.example", "q@d150", "many"} {
		if got := search(text); !slices.Equal(got, []string{"Many Addresses"}) {
			t.Errorf("search %q: got %v; want the mailbox with 300 addresses", text, got)
		}
	}
}

// testListAfter pages through listings with a cursor (keyset paging), two
// mailboxes a page, in several orders, and once removing each page before
// asking for the next, as Get-Mailbox | Remove-Mailbox does: every page
// must go on where the last ended.
func testListAfter(t *testing.T, s store.Store) {
	cursorOf := func(m store.Mailbox, sort []store.SortKey) *store.MailboxCursor {
		field := store.FieldDisplayName
		if len(sort) > 0 {
			field = sort[0].Field
		}
		var v any
		switch field {
		case store.FieldName:
			v = m.Name
		case store.FieldDisplayName:
			v = m.DisplayName
		case store.FieldPopEnabled:
			v = m.PopEnabled
		case store.FieldWhenCreated:
			v = m.WhenCreated
		}
		return &store.MailboxCursor{Value: v, ID: m.ID}
	}
	pages := func(q store.MailboxQuery, remove bool) []string {
		var names []string
		q.Limit = 2
		for range 10 {
			var page []store.Mailbox
			if err := s.View(ctx, func(tx store.Tx) error {
				var err error
				page, _, err = tx.ListMailboxes(ctx, q)
				return err
			}); err != nil {
				t.Fatalf("list %+v: %v", q, err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				names = append(names, m.Name)
				if remove {
					if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, m.ID) }); err != nil {
						t.Fatal(err)
					}
				}
			}
			q.After = cursorOf(page[len(page)-1], q.Sort)
		}
		return names
	}
	for _, tc := range []struct {
		name string
		q    store.MailboxQuery
		want []string
	}{
		{"by display name", store.MailboxQuery{}, []string{"Ben Andrews", "Chris Green", "Christa Knapp", "Dana Smith", "Ed Banks"}},
		{"name desc", store.MailboxQuery{Sort: []store.SortKey{{Field: store.FieldName, Desc: true}}},
			[]string{"Ed Banks", "Dana Smith", "Christa Knapp", "Chris Green", "Ben Andrews"}},
		{"by pop, ties by id", store.MailboxQuery{Sort: []store.SortKey{{Field: store.FieldPopEnabled}}},
			[]string{"Ben Andrews", "Christa Knapp", "Chris Green", "Dana Smith", "Ed Banks"}},
		{"by creation", store.MailboxQuery{Sort: []store.SortKey{{Field: store.FieldWhenCreated}}},
			[]string{"Christa Knapp", "Chris Green", "Ben Andrews", "Dana Smith", "Ed Banks"}},
		{"filtered", store.MailboxQuery{Filter: store.Cond{Field: store.FieldPopEnabled, Op: store.OpEq, Value: true}},
			[]string{"Chris Green", "Christa Knapp", "Dana Smith", "Ed Banks"}},
	} {
		if got := pages(tc.q, false); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, got, tc.want)
		}
	}
	err := s.View(ctx, func(tx store.Tx) error {
		_, _, err := tx.ListMailboxes(ctx, store.MailboxQuery{After: &store.MailboxCursor{Value: 3, ID: 1}})
		return err
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("cursor of the wrong type: got %v; want ErrInvalid", err)
	}
	want := []string{"Ben Andrews", "Chris Green", "Christa Knapp", "Dana Smith", "Ed Banks"}
	if got := pages(store.MailboxQuery{Filter: store.Cond{Field: store.FieldName, Op: store.OpNotLike, Value: "admin*"}}, true); !slices.Equal(got, want) {
		t.Errorf("removing each page: got %v; want %v", got, want)
	}
}

func testRoleGroups(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Admin")
	s.Update(ctx, func(tx store.Tx) error {
		groups, err := tx.RoleGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
		}
		want := []string{"Organization Management", "Recipient Management", "Help Desk", "View-Only Organization Management"}
		if !slices.Equal(names, want) {
			t.Errorf("built-in role groups: got %v; want %v", names, want)
		}
		g, err := tx.RoleGroupByName(ctx, "help desk")
		if err != nil || g.Name != "Help Desk" {
			t.Fatalf("by name: %v %v", g, err)
		}
		if err := tx.AddRoleGroupMember(ctx, g.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if err := tx.AddRoleGroupMember(ctx, g.ID, m.ID); !errors.Is(err, store.ErrExists) {
			t.Errorf("add twice: got %v; want ErrExists", err)
		}
		return nil
	})
	s.View(ctx, func(tx store.Tx) error {
		of, _ := tx.MemberOf(ctx, m.ID)
		if len(of) != 1 || of[0].Name != "Help Desk" {
			t.Errorf("member of: got %v", of)
		}
		g, _ := tx.RoleGroupByName(ctx, "Help Desk")
		ms, _ := tx.RoleGroupMembers(ctx, g.ID)
		if len(ms) != 1 || ms[0].ID != m.ID {
			t.Errorf("members: got %v", ms)
		}
		if _, err := tx.RoleGroupByName(ctx, "Nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown group: got %v", err)
		}
		return nil
	})
	err := s.Update(ctx, func(tx store.Tx) error {
		g, _ := tx.RoleGroupByName(ctx, "Help Desk")
		if err := tx.RemoveRoleGroupMember(ctx, g.ID, m.ID); err != nil {
			return err
		}
		return tx.RemoveRoleGroupMember(ctx, g.ID, m.ID)
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remove twice: got %v; want ErrNotFound", err)
	}
}

func testAudit(t *testing.T, s store.Store) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []store.AuditRecord{
		{RunDate: base, Caller: "admin", Surface: "shell", CmdletName: "Set-CASMailbox", ObjectModified: "Christa Knapp",
			CmdletParameters:   []store.Parameter{{Name: "PopEnabled", Value: "False"}},
			ModifiedProperties: []store.PropertyChange{{Name: "PopEnabled", OldValue: "True", NewValue: "False"}}, Succeeded: true},
		{RunDate: base.Add(time.Hour), Caller: "helpdesk", Surface: "api", CmdletName: "Set-CASMailbox", ObjectModified: "Ben",
			Succeeded: false, Error: "denied"},
		{RunDate: base.Add(2 * time.Hour), Caller: "admin", Surface: "admincenter", CmdletName: "Set-OrganizationConfig", ObjectModified: "Contoso", Succeeded: true},
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i := range recs {
			if err := tx.InsertAudit(ctx, &recs[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	no := false
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"all newest first", store.AuditQuery{}, []string{"Contoso", "Ben", "Christa Knapp"}},
		{"cmdlet", store.AuditQuery{Cmdlets: []string{"set-casmailbox"}}, []string{"Ben", "Christa Knapp"}},
		{"object", store.AuditQuery{ObjectIDs: []string{"christa knapp"}}, []string{"Christa Knapp"}},
		{"user", store.AuditQuery{UserIDs: []string{"ADMIN"}}, []string{"Contoso", "Christa Knapp"}},
		{"dates", store.AuditQuery{Start: base.Add(30 * time.Minute), End: base.Add(90 * time.Minute)}, []string{"Ben"}},
		{"failed", store.AuditQuery{IsSuccess: &no}, []string{"Ben"}},
		{"limit", store.AuditQuery{Limit: 1}, []string{"Contoso"}},
	} {
		var got []store.AuditRecord
		s.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.SearchAudit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			return nil
		})
		var objs []string
		for _, r := range got {
			objs = append(objs, r.ObjectModified)
		}
		if !slices.Equal(objs, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, objs, tc.want)
		}
		if tc.name == "object" && len(got) == 1 {
			r := got[0]
			if !r.RunDate.Equal(base) || len(r.ModifiedProperties) != 1 || r.ModifiedProperties[0].NewValue != "False" ||
				len(r.CmdletParameters) != 1 || !r.Succeeded || r.Surface != "shell" {
				t.Errorf("record round trip: got %+v", r)
			}
		}
	}
}

func testLoginRecords(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Pop User")
	b := newMailbox(t, s, "Imap User")
	now := time.Now().UTC()
	day := now.Add(-24 * time.Hour)
	recs := []store.LoginRecord{
		{Time: day, Protocol: "pop3", MailboxID: a.ID, Username: "pop.user", Result: store.LoginSuccess},
		{Time: now, Protocol: "pop3", MailboxID: a.ID, Username: "pop.user", Result: store.LoginSuccess},
		{Time: now, Protocol: "pop3", MailboxID: a.ID, Username: "pop.user", Result: store.LoginDisabled},
		{Time: now, Protocol: "imap4", MailboxID: b.ID, Username: "imap.user", Result: store.LoginSuccess, ClientName: "Thunderbird"},
		{Time: now, Protocol: "imap4", MailboxID: b.ID, Username: "imap.user", Result: store.LoginFailed},
		{Time: now, Protocol: "imap4", MailboxID: 0, Username: "ghost", Result: store.LoginFailed},
		{Time: now.Add(-100 * 24 * time.Hour), Protocol: "imap4", MailboxID: a.ID, Result: store.LoginSuccess},
	}
	if err := s.InsertLoginRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var rows []store.UsageRow
	var daily []store.DailyActive
	s.View(ctx, func(tx store.Tx) error {
		var err error
		if rows, err = tx.UsageReport(ctx, now.Add(-7*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		daily, err = tx.DailyActiveUsers(ctx, now.Add(-7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if len(rows) != 2 {
		t.Fatalf("usage rows: got %d; want 2: %+v", len(rows), rows)
	}
	imap, pop := rows[0], rows[1] // ordered by display name
	if pop.PopLogins != 2 || pop.PopRefused != 1 || !pop.LastPop.Equal(now.Truncate(time.Microsecond)) || !pop.LastImap.IsZero() {
		t.Errorf("pop user row: got %+v", pop)
	}
	if imap.ImapLogins != 1 || imap.Failed != 1 || imap.PopLogins != 0 {
		t.Errorf("imap user row: got %+v", imap)
	}
	total := 0
	for _, d := range daily {
		total += d.Pop + d.Imap
		if d.Day.Hour() != 0 || d.Day.Minute() != 0 {
			t.Errorf("day not at midnight: %v", d.Day)
		}
	}
	if total != 3 { // pop user on two days (or one, if the day before is the same day), imap user once
		if !(total == 2 && day.YearDay() == now.YearDay()) {
			t.Errorf("daily active: got %+v", daily)
		}
	}
	n, err := s.PruneLoginRecords(ctx, now.Add(-90*24*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("prune: got %d, %v; want 1", n, err)
	}
}

func folderNames(t *testing.T, s store.Store, mb int64) []string {
	t.Helper()
	fs, err := s.Folders(ctx, mb)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name+f.SpecialUse)
	}
	return out
}

func testFolders(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Folder User")
	want := []string{`Archive\Archive`, `Drafts\Drafts`, "INBOX", `Junk\Junk`, `Sent\Sent`, `Trash\Trash`}
	if got := folderNames(t, s, m.ID); !slices.Equal(got, want) {
		t.Errorf("default folders: got %v; want %v", got, want)
	}
	subs, _ := s.Subscriptions(ctx, m.ID)
	if len(subs) != 6 {
		t.Errorf("default subscriptions: got %v", subs)
	}
	a, err := s.CreateFolder(ctx, m.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFolder(ctx, m.ID, "Projects", ""); !errors.Is(err, store.ErrExists) {
		t.Errorf("create twice: got %v; want ErrExists", err)
	}
	child, _ := s.CreateFolder(ctx, m.ID, "Projects/2026", "")
	s.CreateFolder(ctx, m.ID, "ProjectsOld", "")
	if a.UIDValidity == 0 || child.UIDValidity <= a.UIDValidity || a.UIDNext != 1 {
		t.Errorf("new folder state: %+v, child %+v", a, child)
	}
	s.SetSubscribed(ctx, m.ID, "Projects/2026", true)
	deliverTo(t, s, a.ID, "Subject: x\r\n\r\nx\r\n")
	if err := s.RenameFolder(ctx, m.ID, "Projects", "Work"); err != nil {
		t.Fatal(err)
	}
	got := folderNames(t, s, m.ID)
	if !slices.Contains(got, "Work") || !slices.Contains(got, "Work/2026") || !slices.Contains(got, "ProjectsOld") || slices.Contains(got, "Projects") {
		t.Errorf("after rename: %v", got)
	}
	w, _ := s.FolderByName(ctx, m.ID, "Work")
	if w.ID != a.ID || w.Messages != 1 {
		t.Errorf("renamed folder keeps its identity and messages: %+v", w)
	}
	subs, _ = s.Subscriptions(ctx, m.ID)
	if !slices.Contains(subs, "Work/2026") {
		t.Errorf("subscription not renamed: %v", subs)
	}
	if err := s.RenameFolder(ctx, m.ID, "Work", "Work/Sub"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("rename under itself: got %v; want ErrInvalid", err)
	}
	if err := s.RenameFolder(ctx, m.ID, "Work", "Sent"); !errors.Is(err, store.ErrExists) {
		t.Errorf("rename onto existing: got %v; want ErrExists", err)
	}
	if err := s.RenameFolder(ctx, m.ID, "Nope", "Other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rename missing: got %v; want ErrNotFound", err)
	}
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	if err := s.DeleteFolder(ctx, inbox.ID); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("delete INBOX: got %v; want ErrInvalid", err)
	}
	if err := s.DeleteFolder(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FolderByName(ctx, m.ID, "Work"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted folder: got %v", err)
	}
	s.SetSubscribed(ctx, m.ID, "Gone", true)
	s.SetSubscribed(ctx, m.ID, "Gone", true)
	s.SetSubscribed(ctx, m.ID, "Drafts", false)
	subs, _ = s.Subscriptions(ctx, m.ID)
	if !slices.Contains(subs, "Gone") || slices.Contains(subs, "Drafts") {
		t.Errorf("subscriptions: %v", subs)
	}
}

func testRenameInbox(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Inbox User")
	deliver(t, s, []int64{m.ID}, "Subject: one\r\n\r\n1\r\n")
	deliver(t, s, []int64{m.ID}, "Subject: two\r\n\r\n2\r\n")
	before, _ := s.FolderByName(ctx, m.ID, "INBOX")
	if err := s.RenameFolder(ctx, m.ID, "INBOX", "Old Mail"); err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	old, err := s.FolderByName(ctx, m.ID, "Old Mail")
	if err != nil {
		t.Fatal(err)
	}
	if inbox.ID != before.ID || inbox.Messages != 0 || inbox.UIDNext != before.UIDNext || inbox.UIDValidity != before.UIDValidity {
		t.Errorf("INBOX after rename: %+v (before %+v)", inbox, before)
	}
	_, idx, _ := s.FolderIndex(ctx, old.ID)
	if old.Messages != 2 || len(idx) != 2 || old.UIDNext <= idx[1].UID {
		t.Errorf("new folder: %+v %v", old, idx)
	}
	_, _, expunged, _ := s.Changes(ctx, inbox.ID, before.HighestModSeq)
	if len(expunged) != 2 {
		t.Errorf("INBOX sessions must see the messages expunged: got %v", expunged)
	}
	// New mail still goes to INBOX, with UIDs above the old ones.
	d := deliver(t, s, []int64{m.ID}, "Subject: three\r\n\r\n3\r\n")
	if d[0].FolderID != inbox.ID || d[0].UID < before.UIDNext {
		t.Errorf("delivery after INBOX rename: %+v", d)
	}
}

func parsedMessage(raw string) store.NewMessage {
	subject := ""
	for _, line := range strings.Split(raw, "\r\n") {
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			subject = v
		}
	}
	return store.NewMessage{Raw: []byte(raw), Structure: []byte("structure:" + subject),
		Summary: store.Summary{Subject: subject, From: "Ann <ann@example.com>", SentDate: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}}
}

func deliver(t *testing.T, s store.Store, mbs []int64, raw string) []store.Delivered {
	t.Helper()
	d, err := s.Deliver(ctx, mbs, parsedMessage(raw))
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return d
}

func deliverTo(t *testing.T, s store.Store, folderID int64, raw string) uint32 {
	t.Helper()
	_, uid, err := s.Append(ctx, folderID, parsedMessage(raw))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return uid
}

func all() []store.UIDRange { return []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}} }

func metas(t *testing.T, s store.Store, folderID int64, uids []store.UIDRange, want store.MetaFields) []store.MessageMeta {
	t.Helper()
	var out []store.MessageMeta
	if err := s.Messages(ctx, folderID, uids, want, func(m store.MessageMeta) error {
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// readAll reads a whole body in one call (which, unlike a read of part of
// it, leaves no hold that keeps it from the sweep).
func readAll(t *testing.T, s store.Store, bodyID, size int64) []byte {
	t.Helper()
	p := make([]byte, size+10)
	n, err := s.ReadBody(ctx, bodyID, 0, p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read body: %v", err)
	}
	return p[:n]
}

// testReadBodyHeads reads the starts of several bodies in one call: whole
// small bodies, a cut of a large one that spans stored pieces, the same
// body twice, a body that is gone, and no bodies at all.
func testReadBodyHeads(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Heads")
	small := "Subject: one\r\n\r\nfirst\r\n"
	other := "Subject: two\r\n\r\nsecond, a little longer\r\n"
	var b strings.Builder
	for i := 0; b.Len() < 600<<10; i++ {
		fmt.Fprintf(&b, "line %08d of a message longer than one stored piece\r\n", i)
	}
	large := b.String()
	var folderID int64
	for _, raw := range []string{small, other, large} {
		folderID = deliver(t, s, []int64{m.ID}, raw)[0].FolderID
	}
	ms := metas(t, s, folderID, all(), 0)
	if len(ms) != 3 {
		t.Fatalf("messages: got %d; want 3", len(ms))
	}
	const gone = 1 << 50
	ids := []int64{ms[2].BodyID, ms[0].BodyID, gone, ms[1].BodyID, ms[0].BodyID}
	heads := [][]byte{make([]byte, 300<<10), make([]byte, 1000), make([]byte, 10), make([]byte, 5), make([]byte, 3)}
	n, err := s.ReadBodyHeads(ctx, ids, heads)
	if err != nil {
		t.Fatalf("ReadBodyHeads: %v", err)
	}
	if len(n) != len(ids) {
		t.Fatalf("got %d counts; want %d", len(n), len(ids))
	}
	// The large body: at least its first stored piece, never past the buffer.
	if n[0] < 1 || n[0] > len(heads[0]) || string(heads[0][:n[0]]) != large[:n[0]] {
		t.Errorf("head of the large body: got %d octets (equal: %v)", n[0], string(heads[0][:n[0]]) == large[:n[0]])
	}
	for i, want := range map[int]string{1: small, 2: "", 3: other[:5], 4: small[:3]} {
		if got := string(heads[i][:n[i]]); got != want {
			t.Errorf("head %d (body %d): got %q; want %q", i, ids[i], got, want)
		}
	}
	if n, err := s.ReadBodyHeads(ctx, nil, nil); err != nil || len(n) != 0 {
		t.Errorf("no bodies: got %v, %v; want none and no error", n, err)
	}
	if _, err := s.ReadBodyHeads(ctx, []int64{ms[0].BodyID}, nil); err == nil {
		t.Errorf("one body and no buffer: got no error")
	}
}

func testDeliverAndRead(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Recipient A")
	b := newMailbox(t, s, "Recipient B")
	raw := "Subject: Grüße\r\nFrom: Ann <ann@example.com>\r\n\r\nHallo\r\n"
	d := deliver(t, s, []int64{a.ID, b.ID}, raw)
	if len(d) != 2 || d[0].MailboxID != a.ID || d[1].MailboxID != b.ID || d[0].UID != 1 || d[1].UID != 1 {
		t.Fatalf("delivered: %+v", d)
	}
	d2 := deliver(t, s, []int64{a.ID}, "Subject: second\r\n\r\nx\r\n")
	if d2[0].UID != 2 || d2[0].ModSeq <= d[0].ModSeq {
		t.Errorf("second delivery: %+v", d2)
	}
	f, idx, err := s.FolderIndex(ctx, d[0].FolderID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 2 || f.Unseen != 2 || f.UIDNext != 3 || f.Size != int64(len(raw))+int64(len("Subject: second\r\n\r\nx\r\n")) || len(idx) != 2 {
		t.Errorf("folder after deliveries: %+v, index %v", f, idx)
	}
	if f.HighestModSeq != idx[1].ModSeq {
		t.Errorf("HighestModSeq %d; want the last message's %d", f.HighestModSeq, idx[1].ModSeq)
	}
	ms := metas(t, s, f.ID, []store.UIDRange{{Start: 1, Stop: 1}}, store.MetaSummary|store.MetaStructure)
	if len(ms) != 1 {
		t.Fatalf("messages: got %d", len(ms))
	}
	m := ms[0]
	if m.Subject != "Grüße" || string(m.Structure) != "structure:Grüße" || m.Size != int64(len(raw)) || m.From != "Ann <ann@example.com>" ||
		!m.SentDate.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) || m.InternalDate.IsZero() {
		t.Errorf("meta: %+v", m)
	}
	basic := metas(t, s, f.ID, all(), 0)
	if len(basic) != 2 || basic[0].Structure != nil || basic[0].Subject != "" || basic[0].BodyID != m.BodyID {
		t.Errorf("basic meta must not read summary or structure: %+v", basic)
	}
	if got := readAll(t, s, m.BodyID, m.Size); string(got) != raw {
		t.Errorf("body: got %q; want %q", got, raw)
	}
	pre := metas(t, s, f.ID, []store.UIDRange{{Start: 1, Stop: 1}}, store.MetaBodyPrefix|store.MetaStructure)
	if string(pre[0].BodyPrefix) != raw || string(pre[0].Structure) != "structure:Grüße" {
		t.Errorf("body prefix of a small message: %q", pre[0].BodyPrefix)
	}
	if head := metas(t, s, f.ID, []store.UIDRange{{Start: 1, Stop: 1}}, store.MetaHeadPrefix); string(head[0].BodyPrefix) != raw {
		t.Errorf("head prefix of a small message: %q; want all of it", head[0].BodyPrefix)
	}
	mb := metas(t, s, d[1].FolderID, all(), 0)
	if mb[0].BodyID != m.BodyID || mb[0].ID == m.ID {
		t.Errorf("recipients share one body but not one message: %+v vs %+v", mb[0], m)
	}
	p := make([]byte, 4)
	n, err := s.ReadBody(ctx, m.BodyID, 9, p)
	if n != 4 || err != nil || string(p) != "Grü" {
		t.Errorf("ranged read: got %q %d %v", p[:n], n, err)
	}
	if _, err := s.ReadBody(ctx, m.BodyID, m.Size, p); err != io.EOF {
		t.Errorf("read at end: got %v; want io.EOF", err)
	}
	if _, err := s.Deliver(ctx, []int64{a.ID, 999999}, parsedMessage("Subject: x\r\n\r\n")); err == nil {
		t.Errorf("delivery to a missing mailbox must fail")
	}
	if f2, _ := s.FolderByID(ctx, f.ID); f2.Messages != 2 {
		t.Errorf("failed delivery left a message: %+v", f2)
	}
	if got := metas(t, s, f.ID, []store.UIDRange{{Start: 5, Stop: 9}}, 0); len(got) != 0 {
		t.Errorf("messages outside range: %v", got)
	}
}

func testLargeBody(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Big Mail")
	var b bytes.Buffer
	b.WriteString("Subject: big\r\n\r\n")
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, "line %08d of a large message, with enough text to be long\r\n", i)
	}
	raw := b.String()
	d := deliver(t, s, []int64{m.ID}, raw)
	ms := metas(t, s, d[0].FolderID, all(), 0)
	if ms[0].Size != int64(len(raw)) {
		t.Fatalf("size: got %d; want %d", ms[0].Size, len(raw))
	}
	if got := readAll(t, s, ms[0].BodyID, ms[0].Size); string(got) != raw {
		t.Errorf("large body differs (got %d bytes)", len(got))
	}
	pre := metas(t, s, d[0].FolderID, all(), store.MetaBodyPrefix)
	if len(pre) != 1 || string(pre[0].BodyPrefix) != raw[:store.BodyPrefixSize] {
		t.Errorf("body prefix of a large message: %d bytes", len(pre[0].BodyPrefix))
	}
	head := metas(t, s, d[0].FolderID, all(), store.MetaHeadPrefix)
	if len(head) != 1 || string(head[0].BodyPrefix) != raw[:store.HeadPrefixSize] {
		t.Errorf("head prefix of a large message: %d bytes; want the first %d", len(head[0].BodyPrefix), store.HeadPrefixSize)
	}
	if both := metas(t, s, d[0].FolderID, all(), store.MetaHeadPrefix|store.MetaBodyPrefix); len(both) != 1 || len(both[0].BodyPrefix) != store.BodyPrefixSize {
		t.Errorf("body and head prefix asked together: %d bytes; want the body prefix's %d", len(both[0].BodyPrefix), store.BodyPrefixSize)
	}
	// Reads that straddle chunk boundaries.
	for _, off := range []int64{256<<10 - 3, 1<<20 - 1, int64(len(raw)) - 5} {
		p := make([]byte, 10)
		n, err := s.ReadBody(ctx, ms[0].BodyID, off, p)
		want := raw[off:min(off+10, int64(len(raw)))]
		if string(p[:n]) != want || (n < 10) != (err == io.EOF) {
			t.Errorf("read at %d: got %q, %v; want %q", off, p[:n], err, want)
		}
	}
	// A second copy, a body of its own that nothing reads before the
	// sweep: the reads in parts above hold the first from it.
	deliverTo(t, s, d[0].FolderID, raw)
	unread := metas(t, s, d[0].FolderID, all(), 0)[1]
	if _, err := s.Expunge(ctx, d[0].FolderID, nil, true); err != nil {
		t.Fatal(err)
	}
	s.StoreFlags(ctx, d[0].FolderID, store.FlagUpdate{UIDs: all(), Op: store.FlagsAdd, Flags: store.FlagDeleted})
	s.Expunge(ctx, d[0].FolderID, nil, true)
	// The body stays readable for a session that has not been told yet,
	// until the sweep after the grace period.
	if got := readAll(t, s, ms[0].BodyID, ms[0].Size); string(got) != raw {
		t.Errorf("body right after its only message was expunged: got %d bytes; want the whole message", len(got))
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("sweep of bodies orphaned over an hour ago: got %d, %v; want 0 (it was orphaned just now)", n, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Errorf("sweep: got %d, %v; want 1 (the copy not read; the one read in parts is held)", n, err)
	}
	if _, err := s.ReadBody(ctx, unread.BodyID, 300<<10, make([]byte, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("swept body's later chunk: got %v; want ErrNotFound", err)
	}
	if _, err := s.ReadBody(ctx, unread.BodyID, 0, make([]byte, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("body after the sweep: got %v; want ErrNotFound", err)
	}
	if got := readAll(t, s, ms[0].BodyID, ms[0].Size); string(got) != raw {
		t.Errorf("body held by reads of its parts, after the sweep: got %d bytes; want the whole message", len(got))
	}
}

func testFlags(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Flag User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	for i := 0; i < 5; i++ {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	msg := parsedMessage("Subject: seen\r\n\r\n")
	msg.Flags = store.FlagSeen | store.FlagDraft
	msg.Keywords = []string{"$Label1", "$label1", "Work"}
	_, uid, err := s.Append(ctx, inbox.ID, msg)
	if err != nil || uid != 6 {
		t.Fatalf("append: %d %v", uid, err)
	}
	f, idx, _ := s.FolderIndex(ctx, inbox.ID)
	if f.Unseen != 5 || !slices.Equal(idx[5].Keywords, []string{"$Label1", "Work"}) || idx[5].Flags != store.FlagSeen|store.FlagDraft {
		t.Errorf("appended flags: %+v %+v", f, idx[5])
	}
	ch, refused, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 3}}, Op: store.FlagsAdd,
		Flags: store.FlagSeen | store.FlagFlagged, Keywords: []string{"Important"}})
	if err != nil || len(ch) != 3 || len(refused) != 0 {
		t.Fatalf("store +flags: %v %v %v", ch, refused, err)
	}
	f2, _ := s.FolderByID(ctx, inbox.ID)
	if f2.Unseen != 2 || f2.HighestModSeq <= f.HighestModSeq || ch[0].ModSeq != f2.HighestModSeq {
		t.Errorf("after +flags: folder %+v, changed %+v", f2, ch)
	}
	if ch[0].Flags != store.FlagSeen|store.FlagFlagged || !slices.Equal(ch[0].Keywords, []string{"Important"}) {
		t.Errorf("changed state: %+v", ch[0])
	}
	// A no-op store changes nothing and takes no MODSEQ.
	ch, _, _ = s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 3}}, Op: store.FlagsAdd, Flags: store.FlagSeen})
	f3, _ := s.FolderByID(ctx, inbox.ID)
	if len(ch) != 0 || f3.HighestModSeq != f2.HighestModSeq {
		t.Errorf("no-op store: changed %v, modseq %d -> %d", ch, f2.HighestModSeq, f3.HighestModSeq)
	}
	ch, _, _ = s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 2}}, Op: store.FlagsRemove,
		Flags: store.FlagSeen, Keywords: []string{"IMPORTANT"}})
	if len(ch) != 1 || ch[0].Flags != store.FlagFlagged || ch[0].Keywords != nil {
		t.Errorf("-flags: %+v", ch)
	}
	ch, _, _ = s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 6, Stop: 6}}, Op: store.FlagsReplace,
		Flags: store.FlagAnswered})
	if len(ch) != 1 || ch[0].Flags != store.FlagAnswered || ch[0].Keywords != nil {
		t.Errorf("replace: %+v", ch)
	}
	f4, idx, _ := s.FolderIndex(ctx, inbox.ID)
	unseen := 0
	for _, m := range idx {
		if m.Flags&store.FlagSeen == 0 {
			unseen++
		}
	}
	if int(f4.Unseen) != unseen {
		t.Errorf("unseen counter %d; index says %d", f4.Unseen, unseen)
	}
	// UNCHANGEDSINCE refuses messages changed after the given MODSEQ.
	ch, refused, _ = s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 6}}, Op: store.FlagsAdd,
		Flags: store.FlagDeleted, UnchangedSince: f.HighestModSeq})
	if !slices.Equal(refused, []uint32{1, 2, 3, 6}) || len(ch) != 2 {
		t.Errorf("unchangedsince: changed %v, refused %v", ch, refused)
	}
}

func testExpungeAndChanges(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Expunge User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	for i := 0; i < 6; i++ {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	f0, _ := s.FolderByID(ctx, inbox.ID)
	s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 3}}, Op: store.FlagsAdd, Flags: store.FlagDeleted})
	gone, err := s.Expunge(ctx, inbox.ID, nil, true)
	if err != nil || !slices.Equal(gone, []uint32{2, 3}) {
		t.Fatalf("expunge deleted: %v %v", gone, err)
	}
	gone, _ = s.Expunge(ctx, inbox.ID, []store.UIDRange{{Start: 5, Stop: 5}, {Start: 3, Stop: 3}}, false)
	if !slices.Equal(gone, []uint32{5}) {
		t.Errorf("expunge by uid: %v", gone)
	}
	// UID EXPUNGE spares a message whose \Deleted was cleared meanwhile.
	s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 6, Stop: 6}}, Op: store.FlagsAdd, Flags: store.FlagDeleted})
	gone, _ = s.Expunge(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 1}, {Start: 6, Stop: 6}}, true)
	if !slices.Equal(gone, []uint32{6}) {
		t.Errorf("expunge of deleted among given UIDs: %v; want [6]", gone)
	}
	gone, _ = s.Expunge(ctx, inbox.ID, nil, true)
	if len(gone) != 0 {
		t.Errorf("nothing left to expunge: %v", gone)
	}
	deliverTo(t, s, inbox.ID, "Subject: new\r\n\r\n")
	f, changed, expunged, err := s.Changes(ctx, inbox.ID, f0.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(expunged, []uint32{2, 3, 5, 6}) || len(changed) != 1 || changed[0].UID != 7 {
		t.Errorf("changes: changed %v, expunged %v", changed, expunged)
	}
	if f.Messages != 3 || f.UIDNext != 8 {
		t.Errorf("folder: %+v", f)
	}
	_, changed, expunged, _ = s.Changes(ctx, inbox.ID, f.HighestModSeq)
	if len(changed) != 0 || len(expunged) != 0 {
		t.Errorf("no changes since the highest MODSEQ: %v %v", changed, expunged)
	}
}

func testCopyMove(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Copy User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	arch, _ := s.FolderByName(ctx, m.ID, "Archive")
	for i := 0; i < 4; i++ {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
	}
	s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagSeen, Keywords: []string{"Work"}})
	before := metas(t, s, inbox.ID, all(), 0)
	res, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 2}}, arch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != arch.UIDValidity || !slices.Equal(res.SrcUIDs, []uint32{1, 2}) || !slices.Equal(res.DstUIDs, []uint32{1, 2}) {
		t.Errorf("copy result: %+v", res)
	}
	copied := metas(t, s, arch.ID, all(), 0)
	if len(copied) != 2 || copied[0].Flags != store.FlagSeen || !slices.Equal(copied[0].Keywords, []string{"Work"}) ||
		copied[0].BodyID != before[0].BodyID || copied[0].ID == before[0].ID || !copied[0].InternalDate.Equal(before[0].InternalDate) {
		t.Errorf("copied: %+v", copied)
	}
	res, err = s.Move(ctx, inbox.ID, []store.UIDRange{{Start: 2, Stop: 3}}, arch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.DstUIDs, []uint32{3, 4}) {
		t.Errorf("move result: %+v", res)
	}
	moved := metas(t, s, arch.ID, []store.UIDRange{{Start: 3, Stop: 4}}, 0)
	if len(moved) != 2 || moved[0].ID != before[1].ID {
		t.Errorf("a moved message keeps its ID: %+v vs %+v", moved, before[1])
	}
	fi, _ := s.FolderByID(ctx, inbox.ID)
	fa, _ := s.FolderByID(ctx, arch.ID)
	if fi.Messages != 2 || fa.Messages != 4 || fi.Unseen != 1 || fa.Unseen != 3 {
		t.Errorf("counters: inbox %+v, archive %+v", fi, fa)
	}
	_, _, expunged, _ := s.Changes(ctx, inbox.ID, before[3].ModSeq)
	if !slices.Equal(expunged, []uint32{2, 3}) {
		t.Errorf("moved messages expunged from source: %v", expunged)
	}
	// Expunging the copy keeps the shared body for the original.
	s.Expunge(ctx, arch.ID, []store.UIDRange{{Start: 1, Stop: 1}}, false)
	if got := readAll(t, s, before[0].BodyID, before[0].Size); !strings.Contains(string(got), "body 0") {
		t.Errorf("shared body lost: %q", got)
	}
	other := newMailbox(t, s, "Other User")
	oin, _ := s.FolderByName(ctx, other.ID, "INBOX")
	if _, err := s.Copy(ctx, inbox.ID, all(), oin.ID); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("copy across mailboxes: got %v; want ErrInvalid", err)
	}
}

func testClaimRecent(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Recent User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	deliverTo(t, s, inbox.ID, "Subject: 1\r\n\r\n")
	deliverTo(t, s, inbox.ID, "Subject: 2\r\n\r\n")
	if from, err := s.RecentFrom(ctx, inbox.ID); err != nil || from != 1 {
		t.Errorf("RecentFrom before any claim: %d, %v; want 1", from, err)
	}
	first, next, err := s.ClaimRecent(ctx, inbox.ID)
	if err != nil || first != 1 || next != 3 {
		t.Errorf("first claim: %d..%d %v; want 1..3", first, next, err)
	}
	if from, err := s.RecentFrom(ctx, inbox.ID); err != nil || from != 3 {
		t.Errorf("RecentFrom after the claim: %d, %v; want 3", from, err)
	}
	if _, err := s.RecentFrom(ctx, -1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecentFrom of no folder: %v; want ErrNotFound", err)
	}
	first, next, _ = s.ClaimRecent(ctx, inbox.ID)
	if first != next {
		t.Errorf("second claim must get nothing: %d..%d", first, next)
	}
	deliverTo(t, s, inbox.ID, "Subject: 3\r\n\r\n")
	first, next, _ = s.ClaimRecent(ctx, inbox.ID)
	if first != 3 || next != 4 {
		t.Errorf("claim after new mail: %d..%d; want 3..4", first, next)
	}
}

// testCopyClaimingRecent: a COPY into the folder itself that claims
// \Recent copies as Copy does and claims what ClaimRecent would right after
// it, its copies included; the changes it reads with the write, when the
// engine does, are what Changes says right after it; a folder that is gone
// is ErrNotFound and a set that matches nothing copies nothing.
func testCopyClaimingRecent(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Recent Copier")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	for i := range 3 {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
	}
	s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagSeen, Keywords: []string{"Work"}})
	before, _ := s.FolderByID(ctx, inbox.ID)
	r, err := s.CopyClaimingRecent(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 2}}, before.HighestModSeq)
	if err != nil || r.UIDValidity != inbox.UIDValidity || !slices.Equal(r.SrcUIDs, []uint32{1, 2}) || !slices.Equal(r.DstUIDs, []uint32{4, 5}) ||
		r.First != 1 || r.Next != 6 {
		t.Fatalf("copy: %+v, %v; want UIDs 1, 2 as 4, 5 and a claim of 1..6", r, err)
	}
	if from, err := s.RecentFrom(ctx, inbox.ID); err != nil || from != 6 {
		t.Errorf("RecentFrom after the copy: %d, %v; want 6", from, err)
	}
	copies := metas(t, s, inbox.ID, []store.UIDRange{{Start: 4, Stop: 5}}, 0)
	originals := metas(t, s, inbox.ID, []store.UIDRange{{Start: 1, Stop: 2}}, 0)
	if len(copies) != 2 || copies[0].Flags != store.FlagSeen || !slices.Equal(copies[0].Keywords, []string{"Work"}) ||
		copies[0].BodyID != originals[0].BodyID || copies[1].BodyID != originals[1].BodyID {
		t.Errorf("copies %+v of %+v", copies, originals)
	}
	f, changed, expunged, err := s.Changes(ctx, inbox.ID, before.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 5 || f.Unseen != 3 || f.UIDNext != 6 || f.Size != before.Size+originals[0].Size+originals[1].Size {
		t.Errorf("INBOX after the copy: %+v; want 5 messages, 3 unseen, UIDNEXT 6, %d octets", f, before.Size+originals[0].Size+originals[1].Size)
	}
	if got := r.Changes; got != nil {
		if got.Folder.HighestModSeq != f.HighestModSeq || got.Folder.UIDNext != f.UIDNext || got.Folder.Messages != f.Messages ||
			fmt.Sprint(got.Changed) != fmt.Sprint(changed) || fmt.Sprint(got.Expunged) != fmt.Sprint(expunged) {
			t.Errorf("changes read with the copy %+v; Changes right after: %+v %v %v", *got, f, changed, expunged)
		}
	}
	if first, next, err := s.ClaimRecent(ctx, inbox.ID); err != nil || first != next {
		t.Errorf("ClaimRecent after the copy: %d..%d, %v; want nothing", first, next, err)
	}
	if r, err := s.CopyClaimingRecent(ctx, inbox.ID, []store.UIDRange{{Start: 100, Stop: 200}}, f.HighestModSeq); err != nil || len(r.DstUIDs) != 0 {
		t.Errorf("copy of no message: %+v, %v; want nothing copied", r, err)
	}
	if after, _ := s.FolderByID(ctx, inbox.ID); after.Messages != 5 || after.UIDNext != 6 || after.HighestModSeq != f.HighestModSeq {
		t.Errorf("INBOX after a copy of no message: %+v; want it as it was: %+v", after, f)
	}
	if _, err := s.CopyClaimingRecent(ctx, -1, []store.UIDRange{{Start: 1, Stop: 1}}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("copy in no folder: %v; want ErrNotFound", err)
	}
	// More UID ranges than one statement takes (every other UID up to
	// 450): the copy goes statement by statement, and claims all the same.
	deliverTo(t, s, inbox.ID, "Subject: late\r\n\r\n")
	var many []store.UIDRange
	for u := uint32(1); u <= 450; u += 2 {
		many = append(many, store.UIDRange{Start: u, Stop: u})
	}
	r, err = s.CopyClaimingRecent(ctx, inbox.ID, many, f.HighestModSeq)
	if err != nil || !slices.Equal(r.SrcUIDs, []uint32{1, 3, 5}) || !slices.Equal(r.DstUIDs, []uint32{7, 8, 9}) || r.First != 6 || r.Next != 10 {
		t.Errorf("copy over %d ranges: %+v, %v; want UIDs 1, 3, 5 as 7:9 and a claim of 6..10", len(many), r, err)
	}
	if from, err := s.RecentFrom(ctx, inbox.ID); err != nil || from != 10 {
		t.Errorf("RecentFrom after the copy over many ranges: %d, %v; want 10", from, err)
	}
}

// testAppendClaimingRecent: an APPEND that claims \Recent claims what
// ClaimRecent would right after it, its own message included, and
// nothing when the folder is gone; the changes it reads with the write,
// when the engine does, are what Changes says right after it.
func testAppendClaimingRecent(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Recent Appender")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	deliverTo(t, s, inbox.ID, "Subject: 1\r\n\r\n")
	deliverTo(t, s, inbox.ID, "Subject: 2\r\n\r\n")
	check := func(name string, since uint64, wantUID, wantFirst, wantNext uint32) {
		t.Helper()
		r, err := s.AppendClaimingRecent(ctx, inbox.ID, parsedMessage("Subject: "+name+"\r\n\r\n"), since)
		if err != nil || r.UIDValidity != inbox.UIDValidity || r.UID != wantUID || r.First != wantFirst || r.Next != wantNext {
			t.Errorf("%s: UIDVALIDITY %d, UID %d, claim %d..%d, %v; want %d, %d, %d..%d", name, r.UIDValidity, r.UID, r.First, r.Next, err,
				inbox.UIDValidity, wantUID, wantFirst, wantNext)
		}
		if from, err := s.RecentFrom(ctx, inbox.ID); err != nil || from != wantNext {
			t.Errorf("%s: RecentFrom %d, %v; want %d", name, from, err, wantNext)
		}
		if r.Changes == nil {
			return
		}
		f, changed, expunged, err := s.Changes(ctx, inbox.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Changes
		if got.Folder.ID != f.ID || got.Folder.HighestModSeq != f.HighestModSeq || got.Folder.UIDNext != f.UIDNext ||
			got.Folder.Messages != f.Messages || got.Folder.Unseen != f.Unseen ||
			fmt.Sprint(got.Changed) != fmt.Sprint(changed) || fmt.Sprint(got.Expunged) != fmt.Sprint(expunged) {
			t.Errorf("%s: changes read with the APPEND %+v; Changes since %d right after: %+v %v %v", name, *got, since, f, changed, expunged)
		}
		if n := len(got.Changed); n == 0 || got.Changed[n-1].UID != r.UID {
			t.Errorf("%s: changes read with the APPEND %v do not end with its own UID %d", name, got.Changed, r.UID)
		}
	}
	check("with two unclaimed before it", 0, 3, 1, 4)
	// A flag change and an expunge the session has not been told of.
	before, _ := s.FolderByName(ctx, m.ID, "INBOX")
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 2}}, Op: store.FlagsAdd, Flags: store.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 2}}, Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	check("right after", before.HighestModSeq, 4, 4, 5)
	if first, next, err := s.ClaimRecent(ctx, inbox.ID); err != nil || first != next {
		t.Errorf("ClaimRecent after the APPENDs: %d..%d, %v; want nothing", first, next, err)
	}
	deliverTo(t, s, inbox.ID, "Subject: 5\r\n\r\n")
	now, _ := s.FolderByName(ctx, m.ID, "INBOX")
	check("after a delivery", now.HighestModSeq, 6, 5, 7)
	if _, err := s.AppendClaimingRecent(ctx, -1, parsedMessage("Subject: x\r\n\r\n"), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppendClaimingRecent to no folder: %v; want ErrNotFound", err)
	}
	if f, _ := s.FolderByName(ctx, m.ID, "INBOX"); f.Messages != 5 || f.UIDNext != 7 {
		t.Errorf("INBOX after the APPENDs: %d messages, UIDNEXT %d; want 5, 7", f.Messages, f.UIDNext)
	}
}

// testExpungeChanges: ExpungeChanges removes only messages with \Deleted
// (of the given UIDs, or all), and the changes it reads with the write,
// when the engine does, are what Changes says right after it.
func testExpungeChanges(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Expunge Reader")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	for i := range 5 {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	mark := func(uids []store.UIDRange, f store.Flags) {
		t.Helper()
		if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: uids, Op: store.FlagsAdd, Flags: f}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, uids []store.UIDRange, since uint64, want []uint32) {
		t.Helper()
		removed, got, err := s.ExpungeChanges(ctx, inbox.ID, uids, since)
		if err != nil || fmt.Sprint(removed) != fmt.Sprint(want) {
			t.Errorf("%s: removed %v, %v; want %v", name, removed, err, want)
		}
		if got == nil {
			return
		}
		f, changed, expunged, err := s.Changes(ctx, inbox.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		if got.Folder.HighestModSeq != f.HighestModSeq || got.Folder.Messages != f.Messages || got.Folder.UIDNext != f.UIDNext ||
			fmt.Sprint(got.Changed) != fmt.Sprint(changed) || fmt.Sprint(got.Expunged) != fmt.Sprint(expunged) {
			t.Errorf("%s: changes read with the EXPUNGE %+v; Changes since %d right after: %+v %v %v", name, *got, since, f, changed, expunged)
		}
		for _, u := range want {
			if !slices.Contains(got.Expunged, u) {
				t.Errorf("%s: changes read with the EXPUNGE %v lack its own expunged UID %d", name, got.Expunged, u)
			}
		}
	}
	before, _ := s.FolderByName(ctx, m.ID, "INBOX")
	mark([]store.UIDRange{{Start: 1, Stop: 2}}, store.FlagDeleted)
	mark([]store.UIDRange{{Start: 4, Stop: 4}}, store.FlagFlagged)
	check("UID 2:3 with UID 2 deleted", []store.UIDRange{{Start: 2, Stop: 3}}, before.HighestModSeq, []uint32{2})
	mark([]store.UIDRange{{Start: 5, Stop: 5}}, store.FlagDeleted)
	now, _ := s.FolderByName(ctx, m.ID, "INBOX")
	check("all deleted", nil, now.HighestModSeq, []uint32{1, 5})
	check("nothing deleted", nil, now.HighestModSeq, nil)
	if f, _ := s.FolderByName(ctx, m.ID, "INBOX"); f.Messages != 2 {
		t.Errorf("INBOX after the EXPUNGEs: %d messages; want 2", f.Messages)
	}
}

// testConcurrentClaimRecent claims \Recent from several sessions while
// mail arrives: every UID is claimed by exactly one claim.
func testConcurrentClaimRecent(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Recent Race")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	if _, _, err := s.ClaimRecent(ctx, -1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimRecent of no folder: %v; want ErrNotFound", err)
	}
	const claimers, deliveries = 4, 20
	var mu sync.Mutex
	claimed := map[uint32]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				first, next, err := s.ClaimRecent(ctx, inbox.ID)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if first > next {
					t.Errorf("claim %d..%d: first after next", first, next)
				}
				mu.Lock()
				for uid := first; uid < next; uid++ {
					claimed[uid]++
				}
				mu.Unlock()
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	for i := range deliveries {
		if i%2 == 0 {
			deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: %d\r\n\r\n", i))
			continue
		}
		// Every other message comes from a session that claims as it
		// appends (AppendClaimingRecent): its claim holds its own UID.
		r, err := s.AppendClaimingRecent(ctx, inbox.ID, parsedMessage(fmt.Sprintf("Subject: %d\r\n\r\n", i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		uid, first, next := r.UID, r.First, r.Next
		if uid < first || uid >= next {
			t.Errorf("AppendClaimingRecent: UID %d outside its claim %d..%d", uid, first, next)
		}
		mu.Lock()
		for u := first; u < next; u++ {
			claimed[u]++
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	first, next, err := s.ClaimRecent(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	for uid := first; uid < next; uid++ {
		claimed[uid]++
	}
	for uid := uint32(1); uid <= deliveries; uid++ {
		if claimed[uid] != 1 {
			t.Errorf("UID %d claimed %d times; want once", uid, claimed[uid])
		}
	}
	if len(claimed) != deliveries {
		t.Errorf("%d UIDs claimed; want %d", len(claimed), deliveries)
	}
}

func testConcurrentDeliveries(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Busy A")
	b := newMailbox(t, s, "Busy B")
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mbs := []int64{a.ID}
			if i%2 == 0 {
				mbs = append(mbs, b.ID)
			}
			if i%10 == 0 {
				mbs = append(mbs, -1) // a failing delivery among good ones
			}
			_, err := s.Deliver(ctx, mbs, parsedMessage(fmt.Sprintf("Subject: %d\r\n\r\n", i)))
			if (err != nil) != (i%10 == 0) {
				errs <- fmt.Errorf("delivery %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	fa, idx, _ := s.FolderIndex(ctx, mustInbox(t, s, a.ID))
	if fa.Messages != n-n/10 || len(idx) != n-n/10 || fa.UIDNext != uint32(len(idx))+1 {
		t.Errorf("A: folder %+v with %d messages; want %d", fa, len(idx), n-n/10)
	}
	for i := 1; i < len(idx); i++ {
		if idx[i].UID != idx[i-1].UID+1 {
			t.Errorf("UIDs not dense and ascending at %d: %v", i, idx[i])
		}
	}
	fb, _ := s.FolderByID(ctx, mustInbox(t, s, b.ID))
	if fb.Messages != n/2-n/10 {
		t.Errorf("B: %d messages; want %d", fb.Messages, n/2-n/10)
	}
}

func mustInbox(t *testing.T, s store.Store, mb int64) int64 {
	t.Helper()
	f, err := s.FolderByName(ctx, mb, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func testLastLogon(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Logon User")
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.SetLastLogon(ctx, m.ID, "pop3", at); err != nil {
		t.Fatal(err)
	}
	s.SetLastLogon(ctx, m.ID, "pop3", at.Add(-time.Hour)) // older: ignored
	if err := s.SetLastLogon(ctx, m.ID, "smtp", at); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown protocol: got %v", err)
	}
	got := find(t, s, m.Name)[0]
	if !got.LastPopLogon.Equal(at) || !got.LastImapLogon.IsZero() {
		t.Errorf("last logon: pop %v imap %v; want %v and zero", got.LastPopLogon, got.LastImapLogon, at)
	}
}

func testAdminSessions(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Session Admin")
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertAdminSession(ctx, store.AdminSession{TokenHash: "live", MailboxID: m.ID, Surface: "api",
			ClientAddress: "10.0.0.1", Created: now, Expires: now.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.InsertAdminSession(ctx, store.AdminSession{TokenHash: "old", MailboxID: m.ID, Surface: "api",
			Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		got, err := tx.AdminSession(ctx, "live", now)
		if err != nil || got.MailboxID != m.ID || !got.Expires.Equal(now.Add(time.Hour)) || got.ClientAddress != "10.0.0.1" {
			t.Errorf("live session: %+v %v", got, err)
		}
		if _, err := tx.AdminSession(ctx, "old", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired session: got %v; want ErrNotFound", err)
		}
		return nil
	})
	s.Update(ctx, func(tx store.Tx) error { return tx.DeleteAdminSessions(ctx, m.ID, now) })
	s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.AdminSession(ctx, "live", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after sign-out of all: %v", err)
		}
		return nil
	})
}

func testSearchSummary(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Search User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	for _, subj := range []string{"Quarterly REPORT", "lunch", "100% done_now", "Grüße aus Köln", "report draft"} {
		deliverTo(t, s, inbox.ID, "Subject: "+subj+"\r\n\r\n")
	}
	for _, tc := range []struct {
		field, sub string
		uids       []store.UIDRange
		want       []uint32
	}{
		{"subject", "report", all(), []uint32{1, 5}},
		{"SUBJECT", "RePoRt", []store.UIDRange{{Start: 2, Stop: 9}}, []uint32{5}},
		{"subject", "%", all(), []uint32{3}},
		{"subject", "e_n", all(), []uint32{3}},
		{"subject", "grüße", all(), []uint32{4}},
		{"subject", "", all(), []uint32{1, 2, 3, 4, 5}},
		{"from", "ann@example", all(), []uint32{1, 2, 3, 4, 5}},
		{"cc", "x", all(), nil},
	} {
		got, err := s.SearchSummary(ctx, inbox.ID, tc.uids, tc.field, tc.sub)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("search %s %q: got %v, %v; want %v", tc.field, tc.sub, got, err, tc.want)
		}
	}
	// Summaries may be cached: a message delivered after a search is
	// found by the next one, and several UID ranges combine.
	deliverTo(t, s, inbox.ID, "Subject: Another Report\r\n\r\n")
	for _, tc := range []struct {
		uids []store.UIDRange
		want []uint32
	}{
		{all(), []uint32{1, 5, 6}},
		{[]store.UIDRange{{Start: 1, Stop: 1}, {Start: 4, Stop: 6}}, []uint32{1, 5, 6}},
		{[]store.UIDRange{{Start: 2, Stop: 4}}, nil},
	} {
		if got, err := s.SearchSummary(ctx, inbox.ID, tc.uids, "subject", "REPORT"); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("search %v after a delivery: got %v, %v; want %v", tc.uids, got, err, tc.want)
		}
	}
	// A folder searched in part first, then whole, then after an expunge.
	m2 := newMailbox(t, s, "Search User Two")
	inbox2, _ := s.FolderByName(ctx, m2.ID, "INBOX")
	for _, subj := range []string{"a match", "b", "c match", "d", "e match", "f match"} {
		deliverTo(t, s, inbox2.ID, "Subject: "+subj+"\r\n\r\n")
	}
	for _, step := range []struct {
		uids []store.UIDRange
		want []uint32
	}{
		{[]store.UIDRange{{Start: 2, Stop: 3}}, []uint32{3}},
		{[]store.UIDRange{{Start: 5, Stop: 5}}, []uint32{5}},
		{all(), []uint32{1, 3, 5, 6}},
		{[]store.UIDRange{{Start: 6, Stop: 1}}, []uint32{1, 3, 5, 6}}, // reversed range
	} {
		if got, err := s.SearchSummary(ctx, inbox2.ID, step.uids, "subject", "match"); err != nil || !slices.Equal(got, step.want) {
			t.Errorf("search %v: got %v, %v; want %v", step.uids, got, err, step.want)
		}
	}
	if _, _, err := s.StoreFlags(ctx, inbox2.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 3, Stop: 3}}, Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox2.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SearchSummary(ctx, inbox2.ID, all(), "subject", "match"); err != nil || !slices.Equal(got, []uint32{1, 5, 6}) {
		t.Errorf("search after expunging UID 3: got %v, %v; want [1 5 6]", got, err)
	}
	if _, err := s.SearchSummary(ctx, inbox.ID, all(), "body", "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
}

// testSearchSubjectExact: SEARCH SUBJECT answers the exact substring
// matches, ASCII case-insensitive, on every engine, whatever the engine's
// own case folding accepts (PostgreSQL's lower() folds the KELVIN SIGN to
// "k"), in a folder of 50 messages, after expunges and moves. Words
// shorter than three characters and words outside ASCII are in it, for an
// index of trigrams, should one come.
func testSearchSubjectExact(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Trigram User")
	inbox, _ := s.FolderByName(ctx, m.ID, "INBOX")
	other, err := s.CreateFolder(ctx, m.ID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{
		"Budget NEEDLE review",   // 1
		"needlework",             // 2
		"nee dle",                // 3: every letter, not the word
		"\u212aitchen sink",      // 4: KELVIN SIGN, which lower() may fold to k
		"kitchen sink",           // 5
		"Grüße aus Köln",         // 6
		"eedle needl",            // 7: the word's trigrams, not in a row
		`say "hi" 100% done_now`, // 8
		"x",                      // 9
	}
	for _, subj := range subjects {
		deliverTo(t, s, inbox.ID, "Subject: "+subj+"\r\n\r\n")
	}
	// Filler, so that the words above are rare in the folder.
	for i := range 40 {
		deliverTo(t, s, inbox.ID, fmt.Sprintf("Subject: filler %d\r\n\r\n", i))
	}
	for _, tc := range []struct {
		sub  string
		uids []store.UIDRange
		want []uint32
	}{
		{"needle", all(), []uint32{1, 2}},
		{"NeEdLe", all(), []uint32{1, 2}},
		{"needle", []store.UIDRange{{Start: 2, Stop: 40}}, []uint32{2}},
		{"needle", []store.UIDRange{{Start: 1, Stop: 1}, {Start: 3, Stop: 9}}, []uint32{1}},
		{"kitchen", all(), []uint32{5}},
		{"itchen sink", all(), []uint32{4, 5}},
		{"grüße", all(), []uint32{6}},
		{"köln", all(), []uint32{6}},
		{"ne", all(), []uint32{1, 2, 3, 7, 8}},
		{"x", all(), []uint32{9}},
		{"dle", all(), []uint32{1, 2, 3, 7}},
		{`"hi"`, all(), []uint32{8}},
		{"100% done_", all(), []uint32{8}},
		{"0%", all(), []uint32{8}},
		{"e_n", all(), []uint32{8}},
		{"filler 3", all(), []uint32{13, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49}},
		{"nothing like it", all(), nil},
	} {
		got, err := s.SearchSummary(ctx, inbox.ID, tc.uids, "subject", tc.sub)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("search subject %q in %v: got %v, %v; want %v", tc.sub, tc.uids, got, err, tc.want)
		}
	}
	// A delivery after the first searches is found; an expunged message
	// and a moved one are not, and the moved one is found where it went.
	deliverTo(t, s, inbox.ID, "Subject: late needle\r\n\r\n") // 50
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Move(ctx, inbox.ID, []store.UIDRange{{Start: 2, Stop: 2}}, other.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SearchSummary(ctx, inbox.ID, all(), "subject", "needle"); err != nil || !slices.Equal(got, []uint32{50}) {
		t.Errorf("search after expunge and move: got %v, %v; want [50]", got, err)
	}
	if got, err := s.SearchSummary(ctx, other.ID, all(), "subject", "NEEDLE"); err != nil || !slices.Equal(got, []uint32{1}) {
		t.Errorf("search in the folder moved to: got %v, %v; want [1]", got, err)
	}
	if _, err := s.Copy(ctx, other.ID, all(), inbox.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SearchSummary(ctx, inbox.ID, all(), "subject", "needle"); err != nil || !slices.Equal(got, []uint32{50, 51}) {
		t.Errorf("search after copying it back: got %v, %v; want [50 51]", got, err)
	}
	if _, err := s.SweepBodies(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SearchSummary(ctx, inbox.ID, all(), "subject", "needle"); err != nil || !slices.Equal(got, []uint32{50, 51}) {
		t.Errorf("search after the expunged body was swept: got %v, %v; want [50 51]", got, err)
	}
}

func testSessionReports(t *testing.T, s store.Store) {
	since := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	a := []store.SessionReport{
		{MailboxID: 7, Protocol: "imap4", RemoteAddr: "192.0.2.1:5000", Since: since},
		{MailboxID: 7, Protocol: "pop3", RemoteAddr: "192.0.2.2:5000", Since: since.Add(time.Second)},
	}
	if err := s.ReportSessions(ctx, 1<<63+5, "node-a", a); err != nil {
		t.Fatal(err)
	}
	if err := s.ReportSessions(ctx, 6, "node-b", a[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.ReportSessions(ctx, 6, "node-c", nil); err != nil {
		t.Fatalf("an empty report: %v", err)
	}
	got, err := s.CollectSessionReports(ctx, 1<<63+5)
	if err != nil || len(got) != 2 || got[0].Node != "node-a" || got[0].Protocol != "imap4" || got[1].RemoteAddr != "192.0.2.2:5000" ||
		!got[0].Since.Equal(since) || got[0].MailboxID != 7 {
		t.Fatalf("collect: %+v, %v", got, err)
	}
	if again, err := s.CollectSessionReports(ctx, 1<<63+5); err != nil || len(again) != 0 {
		t.Errorf("collected twice: %+v, %v", again, err)
	}
	if other, err := s.CollectSessionReports(ctx, 6); err != nil || len(other) != 1 || other[0].Node != "node-b" {
		t.Errorf("the other question: %+v, %v", other, err)
	}
}

func testLeases(t *testing.T, s store.Store) {
	ok, err := s.AcquireLease(ctx, "pop3:1", "node-a", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	if ok, _ := s.AcquireLease(ctx, "pop3:1", "node-b", time.Minute); ok {
		t.Errorf("a held lease went to another holder")
	}
	if ok, _ := s.AcquireLease(ctx, "pop3:1", "node-a", time.Minute); !ok {
		t.Errorf("the holder cannot renew")
	}
	if ok, _ := s.AcquireLease(ctx, "pop3:2", "node-b", time.Minute); !ok {
		t.Errorf("another name is free")
	}
	s.ReleaseLease(ctx, "pop3:1", "node-b") // not the holder: no effect
	if ok, _ := s.AcquireLease(ctx, "pop3:1", "node-b", time.Minute); ok {
		t.Errorf("release by a non-holder freed the lease")
	}
	if err := s.ReleaseLease(ctx, "pop3:1", "node-a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.AcquireLease(ctx, "pop3:1", "node-b", time.Millisecond); !ok {
		t.Errorf("released lease not free")
	}
	time.Sleep(5 * time.Millisecond)
	if ok, _ := s.AcquireLease(ctx, "pop3:1", "node-a", time.Minute); !ok {
		t.Errorf("an expired lease is free")
	}
	// A lease of an earlier process of an instance goes to the instance's
	// new process at once, not to another instance's.
	if ok, _ := s.AcquireLease(ctx, "batch:1", "inst1/proc-a", time.Minute); !ok {
		t.Fatal("a free lease was refused")
	}
	if ok, _ := s.AcquireLeaseFrom(ctx, "batch:1", "inst2/proc-c", "inst2/", time.Minute); ok {
		t.Errorf("another instance took over a held lease")
	}
	if ok, _ := s.AcquireLeaseFrom(ctx, "batch:1", "inst1/proc-b", "inst1/", time.Minute); !ok {
		t.Errorf("the instance's new process could not take over its earlier process's lease")
	}
	if ok, _ := s.AcquireLease(ctx, "batch:1", "inst1/proc-a", time.Minute); ok {
		t.Errorf("the earlier process still renews a lease taken over from it")
	}
}

// testRecentLogins: a mailbox's newest records first, by protocol and
// result, never another mailbox's.
func testRecentLogins(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Recent User")
	b := newMailbox(t, s, "Other User")
	now := time.Now().UTC().Truncate(time.Second)
	at := func(min int) time.Time { return now.Add(time.Duration(-min) * time.Minute) }
	recs := []store.LoginRecord{
		{Time: at(50), Protocol: "pop3", MailboxID: a.ID, Username: "recent", Result: store.LoginSuccess, RemoteAddr: "192.0.2.1:1100"},
		{Time: at(40), Protocol: "pop3", MailboxID: a.ID, Username: "recent", Result: store.LoginSuccess, RemoteAddr: "192.0.2.2:1100", TLS: true},
		{Time: at(30), Protocol: "imap4", MailboxID: a.ID, Username: "recent", Result: store.LoginDisabled, Reason: "IMAP4 disabled", RemoteAddr: "192.0.2.3:993"},
		{Time: at(20), Protocol: "pop3", MailboxID: a.ID, Username: "recent", Result: store.LoginFailed, Reason: "bad password", RemoteAddr: "192.0.2.4:995"},
		{Time: at(10), Protocol: "imap4", MailboxID: a.ID, Username: "recent", Result: store.LoginSuccess, RemoteAddr: "192.0.2.5:993", ClientName: "Thunderbird", ClientVersion: "128"},
		{Time: at(5), Protocol: "imap4", MailboxID: b.ID, Username: "other", Result: store.LoginBlocked, RemoteAddr: "198.51.100.1:993"},
	}
	if err := s.InsertLoginRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	refused := []string{store.LoginFailed, store.LoginDisabled, store.LoginBlocked, store.LoginThrottled, store.LoginNoTLS}
	for _, tc := range []struct {
		name string
		q    store.LoginQuery
		want []string // remote addresses, newest first
	}{
		{"all", store.LoginQuery{Limit: 10}, []string{"192.0.2.5:993", "192.0.2.4:995", "192.0.2.3:993", "192.0.2.2:1100", "192.0.2.1:1100"}},
		{"limit", store.LoginQuery{Limit: 2}, []string{"192.0.2.5:993", "192.0.2.4:995"}},
		{"last pop3 success", store.LoginQuery{Protocol: "pop3", Results: []string{store.LoginSuccess}, Limit: 1}, []string{"192.0.2.2:1100"}},
		{"refusals", store.LoginQuery{Results: refused, Limit: 5}, []string{"192.0.2.4:995", "192.0.2.3:993"}},
		{"none asked", store.LoginQuery{}, nil},
	} {
		var got []store.LoginRecord
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.RecentLogins(ctx, a.ID, tc.q)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var addrs []string
		for _, r := range got {
			addrs = append(addrs, r.RemoteAddr)
		}
		if !slices.Equal(addrs, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, addrs, tc.want)
		}
		if tc.name == "all" && len(got) == 5 {
			r := got[0]
			if !r.Time.Equal(at(10)) || r.Protocol != "imap4" || r.MailboxID != a.ID || r.Username != "recent" ||
				r.Result != store.LoginSuccess || r.ClientName != "Thunderbird" || r.ClientVersion != "128" || r.TLS {
				t.Errorf("record round trip: got %+v", r)
			}
			if got[3].TLS != true || got[2].Reason != "IMAP4 disabled" {
				t.Errorf("TLS and reason: got %+v and %+v", got[3], got[2])
			}
		}
	}
}

// testSCRAMKeysAndAuthMethod: a mailbox's SCRAM keys are kept by insert and
// update, and a login record keeps how the client signed in.
func testSCRAMKeysAndAuthMethod(t *testing.T, s store.Store) {
	m := store.Mailbox{Name: "Scram", DisplayName: "Scram", Alias: "scram", PrimarySmtpAddress: "scram@contoso.com",
		UserPrincipalName: "scram@contoso.com", PasswordHash: "x", SCRAMSHA256: "SCRAM-SHA-256$4096:c2FsdA==$a:b"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	read := func() store.Mailbox {
		t.Helper()
		var got store.Mailbox
		if err := s.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.MailboxByID(ctx, m.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); got.SCRAMSHA256 != m.SCRAMSHA256 {
		t.Errorf("after insert: got %q; want %q", got.SCRAMSHA256, m.SCRAMSHA256)
	}
	m.SCRAMSHA256 = "SCRAM-SHA-256$4096:b3RoZXI=$c:d"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, m) }); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.SCRAMSHA256 != m.SCRAMSHA256 {
		t.Errorf("after update: got %q; want %q", got.SCRAMSHA256, m.SCRAMSHA256)
	}
	now := time.Now().UTC()
	if err := s.InsertLoginRecords(ctx, []store.LoginRecord{
		{Time: now, Protocol: "imap4", MailboxID: m.ID, Username: "scram", Result: store.LoginSuccess, AuthMethod: "SCRAM-SHA-256"},
		{Time: now.Add(time.Second), Protocol: "pop3", MailboxID: m.ID, Username: "scram", Result: store.LoginSuccess, AuthMethod: "XOAUTH2"},
	}); err != nil {
		t.Fatal(err)
	}
	var got []store.LoginRecord
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.RecentLogins(ctx, m.ID, store.LoginQuery{Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, r := range got {
		methods = append(methods, r.AuthMethod)
	}
	if !slices.Equal(methods, []string{"XOAUTH2", "SCRAM-SHA-256"}) {
		t.Errorf("auth methods: got %v; want [XOAUTH2 SCRAM-SHA-256]", methods)
	}
}

// testAuthPolicies: authentication policies are added, found in any case,
// listed by name, updated and removed; names are unique; mailboxes and the
// organization name one, and the count of users follows.
func testAuthPolicies(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := newMailbox(t, s, "Policy User")
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, p := range []*store.AuthPolicy{
			{Name: "Block Basic", WhenCreated: now, WhenChanged: now},
			{Name: "Allow POP", AllowBasicAuthPop: true, WhenCreated: now, WhenChanged: now},
		} {
			if err := tx.InsertAuthPolicy(ctx, p); err != nil {
				return err
			}
			if p.ID == 0 {
				t.Errorf("%s: no ID", p.Name)
			}
		}
		if err := tx.InsertAuthPolicy(ctx, &store.AuthPolicy{Name: "BLOCK basic"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate name: got %v; want ErrExists", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		ps, err := tx.AuthPolicies(ctx)
		if err != nil {
			return err
		}
		if len(ps) != 2 || ps[0].Name != "Allow POP" || !ps[0].AllowBasicAuthPop || ps[0].AllowBasicAuthImap || ps[1].Name != "Block Basic" {
			t.Errorf("list: got %+v", ps)
		}
		p, err := tx.AuthPolicy(ctx, "block BASIC")
		if err != nil {
			return err
		}
		if !p.WhenCreated.Equal(now) || p.AllowBasicAuthPop || p.AllowBasicAuthImap || p.AllowBasicAuthSmtp {
			t.Errorf("found: got %+v", p)
		}
		p.AllowBasicAuthSmtp, p.WhenChanged = true, now.Add(time.Second)
		if err := tx.UpdateAuthPolicy(ctx, p); err != nil {
			return err
		}
		if p, _ = tx.AuthPolicy(ctx, "Block Basic"); !p.AllowBasicAuthSmtp || !p.WhenChanged.Equal(now.Add(time.Second)) {
			t.Errorf("after update: got %+v", p)
		}
		if err := tx.SetMailboxAuthPolicy(ctx, m.ID, "Block Basic", now); err != nil {
			return err
		}
		if n, err := tx.AuthPolicyUsers(ctx, "BLOCK BASIC"); err != nil || n != 1 {
			t.Errorf("users: got %d, %v; want 1", n, err)
		}
		got, err := tx.MailboxByID(ctx, m.ID)
		if err != nil || !strings.EqualFold(got.AuthenticationPolicy, "Block Basic") {
			t.Errorf("mailbox policy: got %q, %v", got.AuthenticationPolicy, err)
		}
		// UpdateMailbox keeps the policy.
		got.DisplayName = "Policy User 2"
		if err := tx.UpdateMailbox(ctx, got); err != nil {
			return err
		}
		if got, _ = tx.MailboxByID(ctx, m.ID); !strings.EqualFold(got.AuthenticationPolicy, "Block Basic") {
			t.Errorf("after UpdateMailbox: policy %q", got.AuthenticationPolicy)
		}
		o := store.OrgConfig{Name: "Contoso", Domain: "contoso.com"}
		o.DefaultAuthenticationPolicy = "Allow POP"
		if err := tx.SetOrgConfig(ctx, o); err != nil {
			return err
		}
		if o, _ = tx.OrgConfig(ctx); !strings.EqualFold(o.DefaultAuthenticationPolicy, "Allow POP") {
			t.Errorf("org default: got %q", o.DefaultAuthenticationPolicy)
		}
		if err := tx.DeleteAuthPolicy(ctx, p.ID); err != nil {
			return err
		}
		if _, err := tx.AuthPolicy(ctx, "Block Basic"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: got %v; want ErrNotFound", err)
		}
		if err := tx.DeleteAuthPolicy(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: got %v; want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
