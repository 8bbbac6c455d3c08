package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// member makes the mailbox alias a member of a role group and returns the
// caller it is, signed in.
func (e *env) member(t *testing.T, alias string, groups ...string) service.Caller {
	t.Helper()
	ctx := context.Background()
	var c service.Caller
	err := e.st.Update(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMailboxes(ctx, alias, 1)
		if err != nil {
			return err
		}
		c = service.Caller{MailboxID: ms[0].ID, Name: ms[0].UserPrincipalName, Surface: service.SurfaceShell, Groups: groups,
			Permissions: rbac.For(groups)}
		for _, name := range groups {
			g, err := tx.RoleGroupByName(ctx, name)
			if err != nil {
				return err
			}
			if err := tx.AddRoleGroupMember(ctx, g.ID, ms[0].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLastOrganizationManagementMember: nobody, the member itself
// included, removes the last member of Organization Management, by
// Remove-RoleGroupMember or Remove-Mailbox; the refusal is audited; with a
// second member, either may go.
func TestLastOrganizationManagementMember(t *testing.T) {
	e := newEnv(t, 3)
	ctx := context.Background()
	first := e.member(t, "user000000", rbac.OrganizationManagement)
	tests := []struct {
		name string
		do   func() error
	}{
		{"Remove-RoleGroupMember of oneself", func() error {
			_, err := e.svc.RemoveRoleGroupMember(ctx, first, rbac.OrganizationManagement, "user000000", false)
			return err
		}},
		{"Remove-Mailbox of oneself", func() error { _, err := e.svc.RemoveMailbox(ctx, first, "user000000", false); return err }},
		{"Remove-RoleGroupMember by another", func() error {
			_, err := e.svc.RemoveRoleGroupMember(ctx, orgAdmin, rbac.OrganizationManagement, "user000000", false)
			return err
		}},
		{"Remove-Mailbox by another", func() error { _, err := e.svc.RemoveMailbox(ctx, orgAdmin, "user000000", false); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.state(t).audit)
			err := tt.do()
			var ve *service.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), "is the last member of Organization Management") {
				t.Fatalf("got %v; want the last-member refusal", err)
			}
			audit := e.state(t).audit
			if len(audit) != before+1 || audit[0].Succeeded {
				t.Errorf("audit: got %d new records, newest %+v; want one refusal", len(audit)-before, audit[0])
			}
		})
	}
	e.member(t, "user000001", rbac.OrganizationManagement)
	if _, err := e.svc.RemoveRoleGroupMember(ctx, first, rbac.OrganizationManagement, "user000000", false); err != nil {
		t.Fatalf("removing oneself with another member left: %v", err)
	}
	if _, err := e.svc.RemoveMailbox(ctx, orgAdmin, "user000001", false); err == nil {
		t.Fatalf("removed the mailbox of the last member, now user000001")
	}
}

// TestWriteScope pins the write scope in the service: who may change a
// mailbox that holds role groups, and what a refusal says. The matrix over
// every surface is TestRoleMatrix in api, admincenter and cmdlet.
func TestWriteScope(t *testing.T) {
	e := newEnv(t, 6)
	ctx := context.Background()
	org := e.member(t, "user000000", rbac.OrganizationManagement)
	rm := e.member(t, "user000001", rbac.RecipientManagement)
	hd := e.member(t, "user000002", rbac.HelpDesk)
	e.member(t, "user000003", rbac.HelpDesk)
	both := e.member(t, "user000004", rbac.RecipientManagement, rbac.HelpDesk)
	pw := ptr("Scope-Test-Pass-1")
	tests := []struct {
		name   string
		caller service.Caller
		target string
		req    service.SetMailboxRequest
		// want is "" for allowed, else a part of the refusal.
		want string
	}{
		{"help desk resets a plain mailbox", hd, "user000005", service.SetMailboxRequest{Password: pw}, ""},
		{"help desk resets Organization Management", hd, "user000000", service.SetMailboxRequest{Password: pw},
			`The operation on mailbox "User user000000" failed because it's out of the current user's write scope. The action 'Set-Mailbox', 'Password', can't be performed on the object 'User user000000' because it is a member of the role group 'Organization Management'`},
		{"help desk resets a help desk peer", hd, "user000003", service.SetMailboxRequest{Password: pw}, "Changing an administrator's password needs the 'Role Management' role"},
		{"help desk resets itself", hd, "user000002", service.SetMailboxRequest{Password: pw}, "Changing your own administrator password needs the 'Role Management' role"},
		{"recipient management resets help desk", rm, "user000003", service.SetMailboxRequest{Password: pw}, "role group 'Help Desk'"},
		{"recipient management renames help desk", rm, "user000003", service.SetMailboxRequest{DisplayName: ptr("HD")}, "role group 'Help Desk'"},
		{"recipient and help desk member renames help desk", both, "user000003", service.SetMailboxRequest{DisplayName: ptr("HD")}, ""},
		{"recipient and help desk member resets help desk", both, "user000003", service.SetMailboxRequest{Password: pw}, "needs the 'Role Management' role"},
		{"recipient management renames itself", rm, "user000001", service.SetMailboxRequest{DisplayName: ptr("RM")}, ""},
		{"organization management resets help desk", org, "user000003", service.SetMailboxRequest{Password: pw}, ""},
		{"organization management resets itself", org, "user000000", service.SetMailboxRequest{Password: pw}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.SetMailbox(ctx, tt.caller, tt.target, tt.req)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v; want allowed", err)
				}
				return
			}
			var fe *service.ForbiddenError
			if !errors.As(err, &fe) || !errors.Is(err, service.ErrForbidden) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want a ForbiddenError containing %q", err, tt.want)
			}
			if a := e.state(t).audit[0]; a.Succeeded || a.Error != err.Error() || a.Caller != tt.caller.Name {
				t.Errorf("audit: got %+v; want the refusal by %s", a, tt.caller.Name)
			}
		})
	}
	// Disabling an administrator's POP3, in bulk: the one item out of
	// scope fails, the others change.
	res, err := e.svc.SetCASMailboxes(ctx, rm, []service.SetCASMailboxRequest{
		{Identity: "user000005", PopEnabled: ptr(false)}, {Identity: "user000000", PopEnabled: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || !errors.Is(res[1].Err, service.ErrForbidden) {
		t.Errorf("bulk: got %v, %v; want the plain mailbox changed and the administrator refused", res[0].Err, res[1].Err)
	}
}
