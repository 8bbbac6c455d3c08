package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestGetRecentSignIns: the last success per protocol and the last
// refusals, newest first, with their reason and client address.
func TestGetRecentSignIns(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	m, err := e.svc.GetMailbox(ctx, orgAdmin, "user000000")
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	e.st.View(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMailboxes(ctx, m.Guid, 1)
		if err == nil && len(ms) == 1 {
			id = ms[0].ID
		}
		return err
	})
	now := time.Now().UTC().Truncate(time.Second)
	recs := []store.LoginRecord{{Time: now.Add(-time.Hour), Protocol: "pop3", MailboxID: id, Result: store.LoginSuccess, RemoteAddr: "192.0.2.1:1"}}
	for i := range 7 {
		recs = append(recs, store.LoginRecord{Time: now.Add(time.Duration(-i) * time.Minute), Protocol: "imap4", MailboxID: id,
			Result: store.LoginBlocked, Reason: "blocked", RemoteAddr: "192.0.2.2:2"})
	}
	if err := e.st.InsertLoginRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetRecentSignIns(ctx, helpDesk, "user000000")
	if err != nil {
		t.Fatal(err)
	}
	if got.LastPop == nil || got.LastPop.ClientAddress != "192.0.2.1:1" || got.LastPop.Protocol != "POP3" || got.LastPop.Result != "Success" {
		t.Errorf("LastPop: %+v", got.LastPop)
	}
	if got.LastImap != nil {
		t.Errorf("LastImap: %+v; want none", got.LastImap)
	}
	if len(got.Refusals) != service.RecentRefusals || !got.Refusals[0].Time.Equal(now) ||
		got.Refusals[0].Result != "Blocked by security defaults" || got.Refusals[0].Reason != "blocked" {
		t.Errorf("refusals: %+v", got.Refusals)
	}
	if _, err := e.svc.GetRecentSignIns(ctx, orgAdmin, "nobody"); describeStatus(err) != "not found" {
		t.Errorf("unknown mailbox: %v", err)
	}
	if _, err := e.svc.GetRecentSignIns(ctx, service.Caller{Name: "x"}, "user000000"); describeStatus(err) != "forbidden" {
		t.Errorf("no role: %v", err)
	}
}

func describeStatus(err error) string {
	switch err.(type) {
	case *service.NotFoundError:
		return "not found"
	case *service.ForbiddenError:
		return "forbidden"
	}
	return "other"
}

// TestListEffectiveState: EffectivePop and EffectiveImap select by what
// applies now: the own setting, or nothing allowed under security
// defaults.
func TestListEffectiveState(t *testing.T) {
	e := newEnv(t, 3)
	ctx := context.Background()
	off, on := false, true
	if _, err := e.svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: "user000001", PopEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	count := func(pop, imap *bool) int {
		t.Helper()
		p, err := e.svc.GetCASMailboxes(ctx, helpDesk, service.ListOptions{EffectivePop: pop, EffectiveImap: imap})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != p.Total {
			t.Fatalf("page %d of total %d", len(p.Items), p.Total)
		}
		return p.Total
	}
	if got := count(&on, nil); got != 2 {
		t.Errorf("POP3 allowed: %d; want 2", got)
	}
	if got := count(&off, nil); got != 1 {
		t.Errorf("POP3 not allowed: %d; want 1", got)
	}
	if _, err := e.svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	if got := count(&on, nil); got != 0 {
		t.Errorf("POP3 allowed under security defaults: %d; want 0", got)
	}
	if got := count(&off, &off); got != 3 {
		t.Errorf("neither allowed under security defaults: %d; want 3", got)
	}
}
