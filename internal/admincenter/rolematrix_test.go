package admincenter_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/rolematrix"
)

// formOf is the admin center form of a matrix cell ("" for an operation
// the admin center has no form for: Set-Mailbox -DisplayName).
func formOf(t *testing.T, env *testenv.Env, c rolematrix.Cell) (string, url.Values) {
	t.Helper()
	switch c.Op {
	case rolematrix.SetPassword:
		return passwordPath, url.Values{"id": {c.TargetGUID}, "password": {"Matrix-Reset-2026"}, "confirm": {"Matrix-Reset-2026"}}
	case rolematrix.SetCAS:
		return "/admin/recipients/mailboxes/edit", url.Values{"id": {c.TargetGUID}, "pop": {"false"}, "orig_pop": {"true"},
			"imap": {"true"}, "orig_imap": {"true"}}
	case rolematrix.SetQuota:
		return "/admin/recipients/mailboxes/quota", url.Values{"id": {c.TargetGUID}, "sendreceive": {"2GB"}, "orig_sendreceive": {"Unlimited"},
			"warn": {"1.8GB"}, "orig_warn": {"Unlimited"}, "send": {"Unlimited"}, "orig_send": {"Unlimited"}}
	case rolematrix.SetSmtpAuth:
		return "/admin/recipients/mailboxes/edit", url.Values{"id": {c.TargetGUID}, "pop": {"true"}, "orig_pop": {"true"},
			"imap": {"true"}, "orig_imap": {"true"}, "smtp": {"false"}, "orig_smtp": {"true"}}
	case rolematrix.RetryQueue:
		rolematrix.QueuedMessage(t, env)
		return "/admin/mail-flow/queue/retry", url.Values{}
	case rolematrix.RemoveMessage:
		return "/admin/mail-flow/queue/remove", url.Values{"id": {rolematrix.QueuedMessage(t, env)}}
	case rolematrix.NewAuthPolicy:
		return "/admin/organization/authentication-policies/new", url.Values{"name": {c.Name}, "pop": {"on"}}
	case rolematrix.NewAppPassword:
		return "/admin/recipients/mailboxes/app-passwords", url.Values{"id": {c.TargetGUID}, "name": {"Phone"}}
	case rolematrix.RemoveAppPassword:
		const path = "/admin/recipients/mailboxes/app-passwords/revoke"
		if c.TargetID == "" {
			// TestRoleMatrix asks, before a cell is prepared, whether
			// there is a form at all.
			return path, nil
		}
		return path, url.Values{"id": {c.TargetGUID}, "name": {c.AppPassword(t, env)}}
	case rolematrix.SetCASBulk:
		return "/admin/recipients/mailboxes/bulk", url.Values{"id": {c.TargetGUID}, "protocol": {"pop3"}, "action": {"disable"}}
	case rolematrix.RemoveMailbox:
		return "/admin/recipients/mailboxes/remove", url.Values{"id": {c.TargetGUID}}
	case rolematrix.AddMember:
		return "/admin/permissions/admin-roles/add-member", url.Values{"group": {"Organization Management"}, "member": {c.TargetID}}
	case rolematrix.RemoveMember:
		group := c.TargetGroup
		if group == "" {
			group = "Help Desk"
		}
		return "/admin/permissions/admin-roles/remove-member", url.Values{"group": {group}, "member": {c.TargetID}}
	case rolematrix.NewMigrationBatch:
		return "/admin/recipients/migration/new", url.Values{"endpoint": {rolematrix.MigrationEndpoint(t, env)}, "name": {c.Name}, "csv": {c.MigrationCSV()}}
	case rolematrix.NewMailbox:
		return "/admin/recipients/mailboxes/new", url.Values{"displayname": {c.Name}, "password": {rolematrix.StrongPassword},
			"confirm": {rolematrix.StrongPassword}}
	case rolematrix.SetPlan:
		p, err := env.Service.GetCASMailboxPlan(context.Background(), rolematrix.Admin(t, env))
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"imap": {"on"}}
		if !p.PopEnabled {
			form.Set("pop", "on")
		}
		if !p.ImapEnabled {
			form.Set("imap", "on")
		}
		return "/admin/organization/mailbox-plan", form
	case rolematrix.SetOrg:
		o, err := env.Service.GetOrganizationConfig(context.Background(), rolematrix.Admin(t, env))
		if err != nil {
			t.Fatal(err)
		}
		return "/admin/organization/security-defaults", url.Values{"enable": {boolWord(!o.SecurityDefaultsEnabled)}}
	}
	return "", nil
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

const passwordPath = "/admin/recipients/mailboxes/reset-password"

// TestRoleMatrix posts every admin center form that changes something as
// a member of each role group, on each kind of target mailbox
// (internal/testenv/rolematrix), and checks the answer (a redirect with a
// success, 403 Access denied, or the form or flash refusing the values) and
// the audit record it left. Finding 1 of issue 11.
func TestRoleMatrix(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	for _, cell := range rolematrix.Cells(rolematrix.Ops) {
		if path, _ := formOf(t, env, cell); path == "" {
			continue
		}
		t.Run(cell.String(), func(t *testing.T) {
			cell.Prepare(t, env)
			path, form := formOf(t, env, cell)
			c := signedIn(t, env, cell.User, cell.Password)
			r := c.post(path, form)
			var got rolematrix.Outcome
			switch {
			case r.status == http.StatusForbidden:
				got = rolematrix.Denied
				if !strings.Contains(r.body, "Access denied") {
					t.Errorf("a 403 page without its title:\n%s", r.body)
				}
			case r.status == http.StatusOK && strings.Contains(r.body, `id="apppassword-created"`):
				// Create app password answers with the secret itself,
				// not a redirect.
				got = rolematrix.Allowed
			case r.status == http.StatusSeeOther:
				got = rolematrix.Allowed
				// A refused value or a refused item of a Bulk Edit comes
				// back as an error flash.
				if f := flashOf(t, c, r); strings.Contains(f, "write scope") {
					got = rolematrix.Denied
				} else if strings.Contains(f, "Failed") || strings.Contains(f, "member") && !strings.HasPrefix(f, "Added") && !strings.HasPrefix(f, "Removed") {
					got = rolematrix.Refused
				}
			default:
				got = rolematrix.Refused
			}
			if want := cell.Want(); got != want {
				t.Fatalf("POST %s %v: got %s (%d); want %s\n%s", path, form, got, r.status, want, r.body)
			}
			cell.CheckAudit(t, env, "admincenter", got)
		})
	}
}
