package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
