package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// env is a service over a real SQLite store, hub and session registry,
// with n mailboxes "User user000000"... (POP3 and IMAP4 enabled) and a
// record of every event published.
type env struct {
	st  store.Store
	hub *notify.Local
	reg *access.Registry
	svc *service.Service

	mu     sync.Mutex
	events []notify.Event
}

func newEnv(tb testing.TB, n int) *env {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com"}); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			a := fmt.Sprintf("user%06d", i)
			m := store.Mailbox{Name: "User " + a, DisplayName: "User " + a, Alias: a, PrimarySmtpAddress: a + "@contoso.com",
				UserPrincipalName: a + "@contoso.com", PasswordHash: "x", PopEnabled: true, ImapEnabled: true}
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{st: st, hub: notify.NewLocal()}
	e.reg = access.NewRegistry(access.RegistryOptions{Store: st, Hub: e.hub})
	tb.Cleanup(e.reg.Close)
	e.hub.Subscribe(0, func(ev notify.Event) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	})
	e.svc = service.New(service.Options{Store: st, Hub: e.hub, Registry: e.reg,
		Checker: auth.NewChecker(auth.CheckerOptions{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}})})
	return e
}

func caller(group string) service.Caller {
	return service.Caller{Name: strings.ToLower(strings.ReplaceAll(group, " ", "")) + "@contoso.com", Surface: service.SurfaceShell,
		Groups: []string{group}, Permissions: rbac.For([]string{group})}
}

var (
	orgAdmin  = caller(rbac.OrganizationManagement)
	recipient = caller(rbac.RecipientManagement)
	helpDesk  = caller(rbac.HelpDesk)
)

// state is everything the operations under test could write.
type state struct {
	org     store.OrgConfig
	plan    store.CASMailboxPlan
	mailbox []store.Mailbox
	audit   []store.AuditRecord
}

func (e *env) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	var s state
	err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		if s.org, err = tx.OrgConfig(ctx); err != nil {
			return err
		}
		if s.plan, err = tx.Plan(ctx); err != nil {
			return err
		}
		if s.mailbox, _, err = tx.ListMailboxes(ctx, store.MailboxQuery{}); err != nil {
			return err
		}
		s.audit, err = tx.SearchAudit(ctx, store.AuditQuery{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) published() []notify.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]notify.Event(nil), e.events...)
}

func ptr[T any](v T) *T { return &v }

// TestRefusedChangeIsAudited: an operation the caller may not run, or that
// fails after the permission check, changes nothing and publishes nothing,
// and leaves one audit record per object with Succeeded = false and the
// error.
func TestRefusedChangeIsAudited(t *testing.T) {
	for _, tc := range []struct {
		name      string
		run       func(ctx context.Context, svc *service.Service) error
		cmdlet    string
		records   int
		forbidden bool
	}{
		{"Set-CASMailbox by Help Desk", func(ctx context.Context, svc *service.Service) error {
			_, err := svc.SetCASMailbox(ctx, helpDesk, service.SetCASMailboxRequest{Identity: "user000000", PopEnabled: ptr(false)})
			return err
		}, "Set-CASMailbox", 1, true},
		{"bulk Set-CASMailbox by Help Desk", func(ctx context.Context, svc *service.Service) error {
			res, err := svc.SetCASMailboxes(ctx, helpDesk, []service.SetCASMailboxRequest{
				{Identity: "user000000", PopEnabled: ptr(false)}, {Identity: "user000001", ImapEnabled: ptr(false)}})
			if err != nil {
				return err
			}
			for _, r := range res {
				if !errors.Is(r.Err, service.ErrForbidden) {
					return fmt.Errorf("item %s: got %v; want forbidden", r.Identity, r.Err)
				}
			}
			return res[0].Err
		}, "Set-CASMailbox", 2, true},
		{"Set-CASMailboxPlan by Recipient Management", func(ctx context.Context, svc *service.Service) error {
			_, err := svc.SetCASMailboxPlan(ctx, recipient, service.SetCASMailboxPlanRequest{PopEnabled: ptr(false)})
			return err
		}, "Set-CASMailboxPlan", 1, true},
		{"Set-OrganizationConfig by Recipient Management", func(ctx context.Context, svc *service.Service) error {
			_, err := svc.SetOrganizationConfig(ctx, recipient, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: ptr(true)})
			return err
		}, "Set-OrganizationConfig", 1, true},
		{"Remove-Mailbox by Help Desk", func(ctx context.Context, svc *service.Service) error {
			_, err := svc.RemoveMailbox(ctx, helpDesk, "user000000", false)
			return err
		}, "Remove-Mailbox", 1, true},
		{"Set-CASMailbox of a mailbox that does not exist", func(ctx context.Context, svc *service.Service) error {
			_, err := svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: "nobody", PopEnabled: ptr(false)})
			return err
		}, "Set-CASMailbox", 1, false},
		{"bulk Set-CASMailbox with one missing mailbox", func(ctx context.Context, svc *service.Service) error {
			res, err := svc.SetCASMailboxes(ctx, orgAdmin, []service.SetCASMailboxRequest{{Identity: "nobody", PopEnabled: ptr(false)},
				{Identity: "user000001", ImapEnabled: ptr(true)}}) // the second changes nothing
			if err != nil {
				return err
			}
			if res[1].Err != nil || !res[1].NoChange {
				return fmt.Errorf("second item: got %+v; want no change", res[1])
			}
			return res[0].Err
		}, "Set-CASMailbox", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2)
			before := e.state(t)
			err := tc.run(context.Background(), e.svc)
			if err == nil {
				t.Fatalf("got no error; want the operation refused")
			}
			if got := errors.Is(err, service.ErrForbidden); got != tc.forbidden {
				t.Errorf("errors.Is(%v, ErrForbidden): got %v; want %v", err, got, tc.forbidden)
			}
			after := e.state(t)
			if got := len(after.audit) - len(before.audit); got != tc.records {
				t.Fatalf("audit records written: got %d; want %d", got, tc.records)
			}
			for _, r := range after.audit[:tc.records] { // newest first
				if r.Succeeded || r.Error == "" || r.CmdletName != tc.cmdlet {
					t.Errorf("audit record: got %s Succeeded=%v Error=%q; want %s Succeeded=false with the error", r.CmdletName, r.Succeeded, r.Error, tc.cmdlet)
				}
			}
			after.audit = before.audit
			if !reflect.DeepEqual(after, before) {
				t.Errorf("state changed:\ngot  %+v\nwant %+v", after, before)
			}
			if got := e.published(); len(got) != 0 {
				t.Errorf("events published: got %+v; want none", got)
			}
		})
	}
}

// TestNothingWritten: a set that changes nothing and a WhatIf (allowed or
// not) write nothing: no audit record, no event, no store change, and no
// session closed; a WhatIf still says what would change and which
// sessions would close.
func TestNothingWritten(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, svc *service.Service) (service.Result, error)
		// want: the result's NoChange, WhatIf, number of changes and of
		// sessions that would be closed.
		noChange, whatIf  bool
		changes, sessions int
		forbidden         bool
	}{
		{name: "Set-CASMailbox to the values it has", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: "user000000", PopEnabled: ptr(true), ImapEnabled: ptr(true)})
		}, noChange: true},
		{name: "Set-CASMailbox -WhatIf", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: "user000000", PopEnabled: ptr(false), WhatIf: true})
		}, whatIf: true, changes: 1, sessions: 1},
		{name: "bulk Set-CASMailbox -WhatIf and no change", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			res, err := svc.SetCASMailboxes(ctx, orgAdmin, []service.SetCASMailboxRequest{
				{Identity: "user000001", PopEnabled: ptr(true)}, {Identity: "user000000", PopEnabled: ptr(false), WhatIf: true}})
			if err != nil {
				return service.Result{}, err
			}
			if res[0].Err != nil || !res[0].NoChange {
				return service.Result{}, fmt.Errorf("first item: got %+v; want no change", res[0])
			}
			return res[1].Result, res[1].Err
		}, whatIf: true, changes: 1, sessions: 1},
		{name: "Set-CASMailboxPlan to the values it has", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetCASMailboxPlan(ctx, orgAdmin, service.SetCASMailboxPlanRequest{PopEnabled: ptr(true)})
		}, noChange: true},
		{name: "Set-CASMailboxPlan -WhatIf", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetCASMailboxPlan(ctx, orgAdmin, service.SetCASMailboxPlanRequest{ImapEnabled: ptr(false), WhatIf: true})
		}, whatIf: true, changes: 1},
		{name: "Set-OrganizationConfig to the value it has", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: ptr(false)})
		}, noChange: true},
		{name: "Set-OrganizationConfig -WhatIf", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: ptr(true), WhatIf: true})
		}, whatIf: true, changes: 1, sessions: 2},
		{name: "Remove-Mailbox -WhatIf", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.RemoveMailbox(ctx, orgAdmin, "user000000", true)
		}, whatIf: true, changes: 1, sessions: 2},
		{name: "Set-CASMailbox -WhatIf by Help Desk", run: func(ctx context.Context, svc *service.Service) (service.Result, error) {
			return svc.SetCASMailbox(ctx, helpDesk, service.SetCASMailboxRequest{Identity: "user000000", PopEnabled: ptr(false), WhatIf: true})
		}, forbidden: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2)
			ctx := context.Background()
			// An open session of each protocol for user000000.
			var kicked atomic.Int32
			kick := func(string) { kicked.Add(1) }
			id := e.state(t).mailbox[0].ID
			e.reg.Register(id, access.POP3, "192.0.2.1:1000", "", kick)
			e.reg.Register(id, access.IMAP4, "192.0.2.1:1001", "", kick)
			before := e.state(t)

			res, err := tc.run(ctx, e.svc)
			if tc.forbidden {
				if !errors.Is(err, service.ErrForbidden) {
					t.Errorf("got %v; want forbidden", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if res.NoChange != tc.noChange || res.WhatIf != tc.whatIf || len(res.Changes) != tc.changes || len(res.Sessions) != tc.sessions {
				t.Errorf("got NoChange=%v WhatIf=%v %d changes %d sessions; want NoChange=%v WhatIf=%v %d changes %d sessions",
					res.NoChange, res.WhatIf, len(res.Changes), len(res.Sessions), tc.noChange, tc.whatIf, tc.changes, tc.sessions)
			}
			if after := e.state(t); !reflect.DeepEqual(after, before) {
				t.Errorf("state changed:\ngot  %+v\nwant %+v", after, before)
			}
			if got := e.published(); len(got) != 0 {
				t.Errorf("events published: got %+v; want none", got)
			}
			if got := kicked.Load(); got != 0 {
				t.Errorf("sessions closed: got %d; want 0", got)
			}
		})
	}
}

// TestChangeKicksOnce: a change through the service closes each open
// session it concerns once, before it returns, writes one audit record
// and publishes one event.
func TestChangeKicksOnce(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	ids := e.state(t).mailbox
	var kicks [3]atomic.Int32
	e.reg.Register(ids[0].ID, access.POP3, "192.0.2.1:1000", "", func(string) { kicks[0].Add(1) })
	e.reg.Register(ids[0].ID, access.IMAP4, "192.0.2.1:1001", "", func(string) { kicks[1].Add(1) })
	e.reg.Register(ids[1].ID, access.POP3, "192.0.2.1:1002", "", func(string) { kicks[2].Add(1) })
	before := e.state(t)
	res, err := e.svc.SetCASMailboxes(ctx, orgAdmin, []service.SetCASMailboxRequest{
		{Identity: "user000000", PopEnabled: ptr(false)}, {Identity: "user000001", PopEnabled: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || len(r.Changes) != 1 || len(r.Sessions) != 1 {
			t.Errorf("%s: got err %v, %d changes, %d sessions; want 1 change, 1 session", r.Identity, r.Err, len(r.Changes), len(r.Sessions))
		}
	}
	e.reg.Close() // drains what the hub queued
	for i, want := range []int32{1, 0, 1} {
		if got := kicks[i].Load(); got != want {
			t.Errorf("session %d: kicked %d times; want %d", i, got, want)
		}
	}
	if got := len(e.state(t).audit) - len(before.audit); got != 2 {
		t.Errorf("audit records: got %d; want 2", got)
	}
	if got := e.published(); len(got) != 2 {
		t.Errorf("events: got %+v; want one per mailbox", got)
	}
}
