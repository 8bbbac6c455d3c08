package service_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestBulkSetCASMailboxSameMailboxAgain pipes one mailbox several times
// (by different identities) into one bulk edit, with a wildcard, an
// ambiguous and a missing identity among them: the identities of a chunk
// are looked up at once, yet each item must see what the items before it
// changed, and resolve, fail and be audited as on its own.
func TestBulkSetCASMailboxSameMailboxAgain(t *testing.T) {
	e := newEnv(t, 3)
	ctx := context.Background()
	before := e.state(t)
	res, err := e.svc.SetCASMailboxes(ctx, orgAdmin, []service.SetCASMailboxRequest{
		{Identity: "user000000", PopEnabled: ptr(false)},
		{Identity: " USER000000@contoso.com", PopEnabled: ptr(false)}, // already done by the item before
		{Identity: "User user000000", PopEnabled: ptr(true), ImapEnabled: ptr(false)},
		{Identity: "user00000*", PopEnabled: ptr(false)}, // three mailboxes
		{Identity: "nobody", PopEnabled: ptr(false)},
		{Identity: "user00000[", ImapEnabled: ptr(false)}, // no wildcard: a plain name nobody has
		{Identity: "user000002", ImapEnabled: ptr(false)},
		{Identity: "user000002", ImapEnabled: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		changes []string // "Name:Old>New"
		noop    bool
		err     any // a pointer to the error type wanted
	}
	wants := []want{
		{changes: []string{"PopEnabled:True>False"}},
		{noop: true},
		{changes: []string{"PopEnabled:False>True", "ImapEnabled:True>False"}},
		{err: new(*service.AmbiguousError)},
		{err: new(*service.NotFoundError)},
		{err: new(*service.NotFoundError)},
		{changes: []string{"ImapEnabled:True>False"}},
		{changes: []string{"ImapEnabled:False>True"}},
	}
	changes := func(cs []store.PropertyChange) []string {
		var out []string
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%s:%s>%s", c.Name, c.OldValue, c.NewValue))
		}
		return out
	}
	for i, w := range wants {
		r := res[i]
		if w.err != nil {
			if !errors.As(r.Err, w.err) {
				t.Errorf("item %d: got %v; want %v", i, r.Err, w.err)
			}
			continue
		}
		if r.Err != nil || r.NoChange != w.noop || !slices.Equal(changes(r.Changes), w.changes) {
			t.Errorf("item %d: got err %v, no change %v, changes %v; want no change %v, changes %v", i, r.Err, r.NoChange,
				changes(r.Changes), w.noop, w.changes)
		}
	}
	after := e.state(t)
	for _, m := range after.mailbox {
		switch m.Alias {
		case "user000000":
			if !m.PopEnabled || m.ImapEnabled {
				t.Errorf("user000000: POP %v IMAP %v; want POP on, IMAP off", m.PopEnabled, m.ImapEnabled)
			}
		case "user000001", "user000002":
			if !m.PopEnabled || !m.ImapEnabled {
				t.Errorf("%s: POP %v IMAP %v; want both on", m.Alias, m.PopEnabled, m.ImapEnabled)
			}
		}
	}
	// Newest first: the three failures (in their order), then the four
	// changes (in theirs); the no-op wrote nothing.
	recs := after.audit[:len(after.audit)-len(before.audit)]
	var got []string
	for _, r := range slices.Backward(recs) {
		got = append(got, fmt.Sprintf("%s %v %v", r.ObjectModified, r.Succeeded, changes(r.ModifiedProperties)))
	}
	wantRecs := []string{
		"User user000000 true [PopEnabled:True>False]",
		"User user000000 true [PopEnabled:False>True ImapEnabled:True>False]",
		"User user000002 true [ImapEnabled:True>False]",
		"User user000002 true [ImapEnabled:False>True]",
		"user00000* false []",
		"nobody false []",
		"user00000[ false []",
	}
	if !slices.Equal(got, wantRecs) {
		t.Errorf("audit records, oldest first:\n got %q\nwant %q", got, wantRecs)
	}
}

// TestListingKeepsItsTotal pages through a listing while a pipeline
// removes what it was given: each page answers with the total its first
// page counted (the continuation token carries it, so that a page does
// not count the whole directory again), lists every mailbox once, and a
// token of a listing that has no total in it (from before) still counts.
func TestListingKeepsItsTotal(t *testing.T) {
	e := newEnv(t, 7)
	ctx := context.Background()
	var seen []string
	o := service.ListOptions{ResultSize: 3}
	for page := 0; ; page++ {
		p, err := e.svc.GetMailboxes(ctx, orgAdmin, o)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 7 {
			t.Errorf("page %d: total %d; want 7", page, p.Total)
		}
		for _, m := range p.Items {
			seen = append(seen, m.Alias)
			if _, err := e.svc.RemoveMailbox(ctx, orgAdmin, m.Alias, false); err != nil {
				t.Fatal(err)
			}
		}
		if !p.More {
			break
		}
		o.Cursor = p.Next
	}
	want := []string{"user000000", "user000001", "user000002", "user000003", "user000004", "user000005", "user000006"}
	if !slices.Equal(seen, want) {
		t.Errorf("listed %v; want %v", seen, want)
	}
	// A token without the total counts again: 7 removed, none left.
	e = newEnv(t, 4)
	p, err := e.svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{ResultSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := base64.RawURLEncoding.DecodeString(p.Next)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(tok, &fields); err != nil || fields["n"] != float64(4) {
		t.Fatalf("token %s (%v); want the total 4 in \"n\"", tok, err)
	}
	delete(fields, "n")
	old, _ := json.Marshal(fields)
	if _, err := e.svc.RemoveMailbox(ctx, orgAdmin, "user000003", false); err != nil {
		t.Fatal(err)
	}
	p, err = e.svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{ResultSize: 2, Cursor: base64.RawURLEncoding.EncodeToString(old)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 3 || len(p.Items) != 1 || p.Items[0].Alias != "user000002" {
		t.Errorf("old token: total %d, %d items; want total 3 (counted again), user000002", p.Total, len(p.Items))
	}
}

// TestBulkSetCASMailboxByGUID changes piped objects named by their GUID
// (Get-CASMailbox | Set-CASMailbox): the GUID names the mailbox whatever
// the item's Identity says, in any case; an unknown GUID fails its item
// under its Identity; a later item sees an earlier item's change; items
// by GUID and by identity mix in one chunk.
func TestBulkSetCASMailboxByGUID(t *testing.T) {
	e := newEnv(t, 3)
	ctx := context.Background()
	byAlias := map[string]store.Mailbox{}
	for _, m := range e.state(t).mailbox {
		byAlias[m.Alias] = m
	}
	m0, m1 := byAlias["user000000"], byAlias["user000001"]
	if m0.GUID == "" || m1.GUID == "" {
		t.Fatalf("no GUIDs: %+v %+v", m0, m1)
	}
	res, err := e.svc.SetCASMailboxes(ctx, orgAdmin, []service.SetCASMailboxRequest{
		{Identity: "a name nobody has", Guid: m0.GUID, PopEnabled: ptr(false)},
		{Identity: "User user000001", Guid: strings.ToUpper(m1.GUID), ImapEnabled: ptr(false)},
		{Identity: "gone", Guid: "00000000-0000-0000-0000-000000000000", PopEnabled: ptr(false)},
		{Identity: "User user000000", Guid: m0.GUID, PopEnabled: ptr(false)}, // done by the first item
		{Identity: "user000002", ImapEnabled: ptr(false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d results; want 5", len(res))
	}
	for i, want := range []string{"User user000000", "User user000001", "", "User user000000", "User user000002"} {
		r := res[i]
		if want == "" {
			var nf *service.NotFoundError
			if !errors.As(r.Err, &nf) || !strings.Contains(nf.Error(), "gone") {
				t.Errorf("item %d: got %v; want not found, naming \"gone\"", i, r.Err)
			}
			continue
		}
		if r.Err != nil || r.Identity != want || r.NoChange != (i == 3) {
			t.Errorf("item %d: got %q, err %v, no change %v; want %q", i, r.Identity, r.Err, r.NoChange, want)
		}
	}
	want := map[string][2]bool{"user000000": {false, true}, "user000001": {true, false}, "user000002": {true, false}} // POP, IMAP
	for _, m := range e.state(t).mailbox {
		if w := want[m.Alias]; m.PopEnabled != w[0] || m.ImapEnabled != w[1] {
			t.Errorf("%s: POP %v IMAP %v; want %v %v", m.Alias, m.PopEnabled, m.ImapEnabled, w[0], w[1])
		}
	}
}

// TestListUnstorableText: a search, filter or identity holding a NUL or
// bytes that are not UTF-8 never reaches the database (PostgreSQL answers
// such text with an error of its own): a search finds nothing, an identity
// names nothing, a filter is refused naming the parameter.
func TestListUnstorableText(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 2)
	for _, bad := range []string{"user\x00", "user\xff"} {
		if p, err := e.svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{Search: bad}); err != nil || len(p.Items) != 0 {
			t.Errorf("search %q: %d items, %v; want none and no error", bad, len(p.Items), err)
		}
		_, err := e.svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{Filter: "Name -eq '" + bad + "'"})
		var ve *service.ValidationError
		if !errors.As(err, &ve) || ve.Parameter != "Filter" {
			t.Errorf("filter with %q: %v; want a validation error naming Filter", bad, err)
		}
		for _, id := range []string{bad, bad + "*"} {
			var nf *service.NotFoundError
			if _, err := e.svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{Identity: id}); !errors.As(err, &nf) {
				t.Errorf("list -Identity %q: %v; want not found", id, err)
			}
		}
		_, err = e.svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: bad, PopEnabled: ptr(false)})
		var nf *service.NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("Set-CASMailbox -Identity %q: %v; want not found", bad, err)
		}
	}
}
