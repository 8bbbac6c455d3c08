package client

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

var (
	t0 = time.Date(2026, 11, 30, 8, 15, 0, 123456000, time.UTC)
	t1 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

	smtpOff = true
)

// samples are values of the wire types the shell shows, with the cases
// that decide how a property looks: nil and empty slices, nil and set
// pointers, zero and set times, omitempty fields both ways, nested
// structs.
var samples = []any{
	wire.Mailbox{Identity: "Christa Knapp", Name: "Christa Knapp", DisplayName: "Christa Knapp", Alias: "christa",
		PrimarySmtpAddress: "christa@contoso.com", EmailAddresses: []string{"SMTP:christa@contoso.com", "smtp:ck@contoso.com"},
		UserPrincipalName: "christa@contoso.com", Guid: "cdd0c7ad-0bf8-455c-96a3-b22d59228801", RecipientTypeDetails: "UserMailbox",
		WhenCreated: t0, WhenChanged: t1, IssueWarningQuota: "Unlimited", ProhibitSendQuota: "1.9 GB (2,040,109,466 bytes)",
		ProhibitSendReceiveQuota: "2 GB (2,147,483,648 bytes)"},
	wire.Mailbox{Name: "nil addresses"},
	wire.Mailbox{Name: "no addresses", EmailAddresses: []string{}},
	wire.CASMailbox{Identity: "Bob", Name: "Bob", PopEnabled: true, EffectivePopEnabled: true, PopAccess: "Enabled",
		ImapAccess: "BlockedBySecurityDefaults", LastPopLogonTime: &t0, WhenChanged: t1},
	wire.CASMailbox{Identity: "Christa", Name: "Christa", SmtpClientAuthenticationDisabled: &smtpOff, SmtpClientAuthAccess: "Disabled"},
	wire.TransportConfig{Identity: "Transport Settings", SmtpClientAuthenticationDisabled: true, WhenChanged: t0},
	wire.Queue{Identity: "Smarthost", DeliveryType: "SmartHostConnectorDelivery", NextHopDomain: "[127.0.0.1]:25", Status: "Retry",
		MessageCount: 2, LastError: "451 4.3.0 try later", NextRetryTime: &t1},
	wire.Queue{Identity: "Smarthost", Status: "Ready"},
	wire.QueueMessage{Identity: "Smarthost\\7", Queue: "Smarthost", Status: "Retry", Size: 1234, FromAddress: "christa@contoso.com",
		Recipients: []string{"a@fabrikam.com", "b@fabrikam.com"}, RetryCount: 3, DateReceived: t0, NextRetryTime: &t1, ExpirationTime: t1},
	wire.QueueMessage{Identity: "Smarthost\\8", Recipients: []string{}},
	wire.EmailAppUsage{UserPrincipalName: "holly@contoso.com", LastSmtpDate: &t1, SmtpLogins: 4, SmtpRefused: 2},
	wire.CASMailboxPlan{Identity: "Default", Name: "Default", PopEnabled: true, WhenChanged: t0},
	wire.OrganizationConfig{Identity: "Contoso", Name: "Contoso", DefaultDomain: "contoso.com", SecurityDefaultsEnabled: true},
	wire.RoleGroup{Identity: "Help Desk", Name: "Help Desk", Roles: []string{"View-Only Recipients", "Reset Password"}, Members: []string{}},
	wire.RoleGroupMember{Identity: "holly", Name: "Holly Holt", RecipientType: "UserMailbox"},
	wire.AuditRecord{RunDate: t0, Caller: "admin@contoso.com", CmdletName: "Set-CASMailbox",
		CmdletParameters:   []wire.Parameter{{Name: "Identity", Value: "ben"}, {Name: "PopEnabled", Value: "False"}},
		ModifiedProperties: []wire.PropertyChange{{Name: "PopEnabled", OldValue: "True", NewValue: "False"}}, Succeeded: true},
	wire.AuditRecord{RunDate: t0, Error: "denied"},
	wire.EmailAppUsage{UserPrincipalName: "christa@contoso.com", LastPopDate: &t0, PopLogins: 3, PopRefused: 1},
	wire.DailyActiveUsers{Date: t1, PopUsers: 2},
	wire.MailboxStatistics{Identity: "Christa Knapp", ItemCount: 24, TotalItemSize: "13.441 KB (13,764 bytes)",
		TotalItemSizeBytes: 13764, StorageLimitStatus: "BelowLimit", ProhibitSendReceiveQuotaBytes: 1 << 40},
	wire.ResultBody{Identity: "x", Changes: []wire.Change{{Name: "A", NewValue: "1"}}, Warning: "w",
		Sessions: []wire.OpenSession{{Mailbox: "x", Protocol: "POP3", Since: t0}}},
	wire.ResultBody{Identity: "omitted"},
	wire.MigrationEndpoint{Identity: "Old", EndpointType: "IMAP", RemoteServer: "imap.fabrikam.com", Port: 993, Security: "Ssl",
		Authentication: "Basic", MaxConcurrentMigrations: 20, WhenCreated: t0},
	wire.ServerAvailability{Result: "Success", Message: "The IMAP server answered.", Capabilities: []string{"CONDSTORE", "IMAP4rev1"}},
	wire.ServerAvailability{Result: "Failed", Message: "connection refused"},
	wire.MigrationBatch{Identity: "B1", Status: "Synced", MigrationType: "IMAP", SourceEndpoint: "Old", TotalCount: 6, SyncedCount: 5,
		FailedCount: 1, ExcludedFolders: []string{"Junk"}, SubmittedByUser: "admin@contoso.com", CreationDateTime: t0, StartDateTime: t0,
		LastSyncedDateTime: t1},
	wire.MigrationBatch{Identity: "B2", Status: "Created", ExcludedFolders: []string{}},
	wire.MigrationUser{Identity: "bob@contoso.com", BatchId: "B1", Status: "Synced", UserName: "bob", TotalItemsInSourceMailboxCount: 1200,
		ItemsSynced: 1198, ItemsSkipped: 2, BytesTransferred: 21 << 20, LastSuccessfulSyncTimestamp: t1,
		SkippedItems: []wire.MigrationSkippedItem{{Folder: "INBOX", UID: 7, Subject: "big", Size: 30 << 20, Reason: "larger than the limit"}},
		Folders:      []wire.MigrationFolder{{Folder: "INBOX", UIDValidity: 1733300000, LastUID: 1200, HighestModSeq: 1 << 40}}},
	wire.MigrationUser{Identity: "frank@contoso.com", BatchId: "B1", Status: "Failed", ErrorSummary: "AUTHENTICATIONFAILED"},
}

// TestObjectAsJSONReaderMadeIt checks that the typed path (encoding/json
// into the wire type, then Object) gives the shell exactly the object the
// generic path (the shell's JSON reader over the same answer) gave before
// the client was typed: the same properties, in the same order, with the
// same values, so that what the cmdlets show has not changed.
func TestObjectAsJSONReaderMadeIt(t *testing.T) {
	for i, v := range samples {
		t.Run(fmt.Sprintf("%d-%T", i, v), func(t *testing.T) {
			data, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			generic, err := cmdlet.DecodeJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			want := generic.(*cmdlet.Object)
			want.TypeName = "Gatehouse.Test"
			typed := reflect.New(reflect.TypeOf(v))
			if err := json.Unmarshal(data, typed.Interface()); err != nil {
				t.Fatal(err)
			}
			got := Object("Gatehouse.Test", typed.Elem().Interface())
			if !sameValue(got, want) {
				g, _ := cmdlet.EncodeJSON(got)
				w, _ := cmdlet.EncodeJSON(want)
				t.Errorf("Object differs from the JSON reader's object\n got %v %s\nwant %v %s", got.Names(), g, want.Names(), w)
			}
		})
	}
}

// sameValue compares shell values: objects by type name, property names
// in order and values, arrays element by element, the rest by
// reflect.DeepEqual (so a time.Time must match to its location).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case *cmdlet.Object:
		y, ok := b.(*cmdlet.Object)
		if !ok || x.TypeName != y.TypeName || !reflect.DeepEqual(x.Names(), y.Names()) {
			return false
		}
		for _, n := range x.Names() {
			xv, _ := x.Get(n)
			yv, _ := y.Get(n)
			if !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestShapedObjectGainsProperty checks that objects sharing a shape stay
// apart when one of them gains a property (Add-Member, a calculated
// Select-Object column on the same object).
func TestShapedObjectGainsProperty(t *testing.T) {
	a := Object("T", wire.RoleGroupMember{Name: "a"})
	b := Object("T", wire.RoleGroupMember{Name: "b"})
	a.Set("Extra", int64(1))
	a.Set("name", "A")
	if b.Has("Extra") || len(b.Names()) != 5 {
		t.Errorf("b = %v; want the 5 properties of RoleGroupMember", b.Names())
	}
	if v, _ := b.Get("Name"); v != "b" {
		t.Errorf("b.Name = %v; want b", v)
	}
	if v, _ := a.Get("NAME"); v != "A" || len(a.Names()) != 6 || a.Names()[5] != "Extra" {
		t.Errorf("a = %v, Name %v; want 6 properties ending in Extra, Name A", a.Names(), v)
	}
}

// TestObjectOfPointerAndNil covers the arguments Object takes besides a
// struct value.
func TestObjectOfPointerAndNil(t *testing.T) {
	m := wire.RoleGroupMember{Name: "Holly"}
	if got := Object("T", &m); !sameValue(got, Object("T", m)) {
		t.Errorf("Object(&v) = %v; want Object(v)", got.Names())
	}
	if got := Object("T", (*wire.RoleGroupMember)(nil)); len(got.Names()) != 0 || got.TypeName != "T" {
		t.Errorf("Object(nil pointer) = %v %q; want an empty object of type T", got.Names(), got.TypeName)
	}
	if got, _ := Object("T", []string{"a"}).Get("Value"); !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("Object(non-struct).Value = %#v; want the value", got)
	}
	if got := Object("T", nil); len(got.Names()) != 0 {
		t.Errorf("Object(nil) = %v; want an empty object", got.Names())
	}
}

// page10000 is a page of 10,000 mailboxes as the server writes it.
func page10000(b *testing.B) []byte {
	b.Helper()
	page := wire.ListBody[wire.Mailbox]{Total: 10000, Items: make([]wire.Mailbox, 10000)}
	for i := range page.Items {
		name := fmt.Sprintf("User %05d", i)
		addr := fmt.Sprintf("user%05d@contoso.com", i)
		page.Items[i] = wire.Mailbox{Identity: name, Name: name, DisplayName: name, Alias: fmt.Sprintf("user%05d", i),
			PrimarySmtpAddress: addr, EmailAddresses: []string{"SMTP:" + addr}, UserPrincipalName: addr,
			Guid: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), RecipientTypeDetails: "UserMailbox",
			WhenCreated: t0, WhenChanged: t1, IssueWarningQuota: "Unlimited", ProhibitSendQuota: "Unlimited", ProhibitSendReceiveQuota: "Unlimited"}
	}
	data, err := json.MarshalIndent(page, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodePage10000Generic is the client's path before it was
// typed: the shell's JSON reader builds the objects from the page.
func BenchmarkDecodePage10000Generic(b *testing.B) {
	data := page10000(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		v, err := cmdlet.DecodeJSON(data)
		if err != nil {
			b.Fatal(err)
		}
		items, _ := v.(*cmdlet.Object).Get("Items")
		if len(items.([]any)) != 10000 {
			b.Fatal("wrong page")
		}
	}
}

// BenchmarkDecodePage10000Typed is the typed path: encoding/json into the
// wire types, then Object for each mailbox, as a pipeline gets them.
func BenchmarkDecodePage10000Typed(b *testing.B) {
	data := page10000(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		var page listAnswer[wire.Mailbox]
		if err := decodeAnswer(data, &page); err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, m := range page.Items {
			if Object(TypeMailbox, m) != nil {
				n++
			}
		}
		if n != 10000 {
			b.Fatal("wrong page")
		}
	}
}

// BenchmarkDecodePage10000TypedOnly is the typed decode alone, as the
// cmdlets that read fields (Set- pipelines, completion) use it.
func BenchmarkDecodePage10000TypedOnly(b *testing.B) {
	data := page10000(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		var page listAnswer[wire.Mailbox]
		if err := decodeAnswer(data, &page); err != nil {
			b.Fatal(err)
		}
		if len(page.Items) != 10000 {
			b.Fatal("wrong page")
		}
	}
}
