package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The write scope of an administrator. A management role says which
// cmdlets a caller may run; the write scope says on which mailboxes. Without
// it, anyone who may reset passwords (Help Desk) or edit mailboxes
// (Recipient Management) could take over an Organization Management
// member's mailbox, sign in as that member and add themselves to any role
// group. So, as Exchange's management scopes and Entra ID's "privileged
// authentication administrator" do:
//
//   - A caller may change (edit, disable POP3/IMAP4, reset the password of)
//     or remove a mailbox only when the mailbox holds no role group that the
//     caller lacks.
//   - Changing an administrator's password (a member of any role group, the
//     caller's own mailbox included) needs the Role Management role, as
//     changing role-group membership does: only Organization Management.
//
// Organization Management holds Role Management: it manages the role groups
// themselves, so every mailbox is in its scope. The last member of
// Organization Management can't be removed (keepLastOrgAdmin).

// inScope refuses, with a *ForbiddenError, an operation on mailbox m that
// is out of the caller's write scope; credentials says that the operation
// changes m's password. It runs in the operation's transaction, right after
// the identity is resolved and before anything is validated or written, so
// that a refusal says nothing about the values given and is audited like any
// other refusal.
func (s *Service) inScope(ctx context.Context, tx store.Tx, c Caller, o op, m store.Mailbox, credentials bool) error {
	if c.Can(rbac.RoleManagement) {
		return nil
	}
	groups, err := tx.MemberOf(ctx, m.ID)
	if err != nil {
		return err
	}
	refuse := func(e *ForbiddenError) error {
		e.Caller, e.Cmdlet, e.Target, e.Properties = c.Name, o.cmdlet, m.Name, scopeProperties(o)
		return e
	}
	for _, g := range groups {
		if !slices.ContainsFunc(c.Groups, func(h string) bool { return strings.EqualFold(h, g.Name) }) {
			return refuse(&ForbiddenError{Role: o.perm, Groups: rbac.GroupsWith(rbac.RoleManagement),
				Reason: fmt.Sprintf("it is a member of the role group '%s' and '%s' isn't. Only a member of every role group "+
					"of a mailbox, or of Organization Management, may change it", g.Name, c.Name)})
		}
	}
	if credentials && len(groups) > 0 {
		whose := "an administrator's"
		if m.ID == c.MailboxID {
			whose = "your own administrator"
		}
		return refuse(&ForbiddenError{Role: rbac.RoleManagement, Groups: rbac.GroupsWith(rbac.RoleManagement),
			Reason: fmt.Sprintf("it belongs to an administrator (role group '%s'). Changing %s password needs the '%s' role (role groups: %s)",
				groups[0].Name, whose, rbac.RoleManagement, strings.Join(rbac.GroupsWith(rbac.RoleManagement), ", "))})
	}
	return nil
}

// scopeProperties names the parameters an operation sets, for Exchange's
// "The action 'Set-Mailbox', 'Password', can't be performed ...".
func scopeProperties(o op) []string {
	var out []string
	for _, p := range o.params {
		if p.Name != "Identity" && p.Name != "Member" {
			out = append(out, p.Name)
		}
	}
	return out
}
