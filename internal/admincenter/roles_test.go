package admincenter_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// The four built-in role groups, as the demo organization has them.
var roles = []struct {
	group, user, password string
}{
	{"Organization Management", "admin", testenv.AdminPassword},
	{"Recipient Management", "rita@contoso.com", testenv.DemoPassword},
	{"Help Desk", "holly@contoso.com", testenv.DemoPassword},
	{"View-Only Organization Management", "victor@contoso.com", testenv.DemoPassword},
}

// Columns of the matrix: O = Organization Management, R = Recipient
// Management, H = Help Desk, V = View-Only Organization Management.
type perRole [4]int

const ok, no = http.StatusOK, http.StatusForbidden

// TestRolePageMatrix signs in as each role group and asks for every page:
// 200 where the role may look, 403 (with the missing role named) where it
// may not, as Gitea's permission tests do.
func TestRolePageMatrix(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	kim := guidOf(t, env, "Kim Akers")
	matrix := []struct {
		path string
		want perRole
	}{
		{"/admin/recipients/mailboxes", perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/details?id=" + christa, perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/edit?section=features&id=" + christa, perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/email-apps?id=" + christa, perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/new", perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/reset-password?id=" + christa, perRole{ok, ok, ok, ok}},
		{"/admin/recipients/mailboxes/remove?id=" + christa, perRole{ok, ok, no, no}},
		{"/admin/recipients/mailboxes/bulk?protocol=pop3&action=disable&id=" + christa + "&id=" + kim, perRole{ok, ok, no, no}},
		{"/admin/organization/security-defaults", perRole{ok, ok, no, ok}},
		{"/admin/organization/security-defaults/confirm?enable=true", perRole{ok, no, no, no}},
		{"/admin/organization/mailbox-plan", perRole{ok, ok, no, ok}},
		{"/admin/permissions/admin-roles?group=Help+Desk", perRole{ok, ok, no, ok}},
		{"/admin/auditing/admin-audit-log", perRole{ok, no, no, ok}},
		{"/admin/reports/email-apps", perRole{ok, ok, ok, ok}},
		{"/admin/reports/email-apps.csv", perRole{ok, ok, ok, ok}},
		{"/admin/reports/email-apps.svg", perRole{ok, ok, ok, ok}},
		{"/admin/help/keyboard-shortcuts", perRole{ok, ok, ok, ok}},
	}
	for i, role := range roles {
		c := signedIn(t, env, role.user, role.password)
		for _, m := range matrix {
			t.Run(role.group+m.path, func(t *testing.T) {
				r := c.get(m.path)
				if r.status != m.want[i] {
					t.Fatalf("got %d; want %d\n%s", r.status, m.want[i], r.body)
				}
				if r.status == no && !regexp.MustCompile(`it needs the &#39;[^&]+&#39; role`).MatchString(r.body) {
					t.Errorf("the refusal doesn't name the missing role:\n%s", r.body)
				}
			})
		}
	}
}

// disabled reports whether the element with the id is rendered disabled.
func disabled(t *testing.T, body, id string) bool {
	t.Helper()
	m := regexp.MustCompile(`<[a-z]+[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	if m == "" {
		t.Fatalf("no element with id %q", id)
	}
	return strings.Contains(m, " disabled") || strings.Contains(m, `aria-disabled="true"`)
}

// TestRoleControls checks that each role sees the controls it may not use
// disabled, with the reason, and the others enabled.
func TestRoleControls(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	kim := guidOf(t, env, "Kim Akers")
	// true: the control is disabled for that role (O, R, H, V).
	controls := []struct {
		path, id, reason string
		off              [4]bool
	}{
		{"/admin/recipients/mailboxes", "tb-new", "deny-create", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes", "tb-delete", "deny-create", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes", "tb-password", "deny-password", [4]bool{false, false, false, true}},
		{"/admin/recipients/mailboxes", "tb-edit", "", [4]bool{false, false, false, false}},
		{"/admin/recipients/mailboxes/edit?section=features&id=" + christa, "pop-toggle", "edit-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/edit?section=features&id=" + christa, "imap-toggle", "edit-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/edit?section=features&id=" + christa, "save", "edit-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/email-apps?id=" + christa, "pop", "apps-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/email-apps?id=" + christa, "save", "apps-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/new", "save", "new-reason", [4]bool{false, false, true, true}},
		{"/admin/recipients/mailboxes/reset-password?id=" + christa, "save", "password-reason", [4]bool{false, false, false, true}},
		{"/admin/recipients/mailboxes/details?id=" + christa + "&id=" + kim, "bulk-reason", "", [4]bool{}},
	}
	orgControls := []struct {
		path, id, reason string
		off              [4]bool
	}{
		{"/admin/organization/security-defaults", "sd-switch", "sd-reason", [4]bool{false, true, false, true}},
		{"/admin/organization/mailbox-plan", "save", "plan-reason", [4]bool{false, true, false, true}},
		{"/admin/permissions/admin-roles?group=Help+Desk", "add-member", "rg-reason", [4]bool{false, true, false, true}},
	}
	// The feature pane shows the features each role may open.
	features := [4]string{
		"Recipients Permissions Organization Auditing Reports",
		"Recipients Permissions Organization Reports",
		"Recipients Reports",
		"Recipients Permissions Organization Auditing Reports",
	}
	for i, role := range roles {
		c := signedIn(t, env, role.user, role.password)
		pane := regexp.MustCompile(`(?s)<nav class="features".*?</nav>`).FindString(c.get("/admin/recipients/mailboxes").body)
		var got []string
		for _, m := range regexp.MustCompile(`>([A-Za-z]+)</a>`).FindAllStringSubmatch(pane, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != features[i] {
			t.Errorf("%s: feature pane got %v; want %s", role.group, got, features[i])
		}
		for _, ctl := range controls {
			t.Run(role.group+"/"+ctl.path+"#"+ctl.id, func(t *testing.T) {
				r := c.get(ctl.path)
				if ctl.id == "bulk-reason" {
					// The Bulk Edit pane: links, or the reason without them.
					denied := i >= 2
					if got := strings.Contains(r.body, `id="bulk-reason"`); got != denied {
						t.Errorf("Bulk Edit reason shown: got %v; want %v", got, denied)
					}
					if got := strings.Contains(r.body, `aria-label="Disable POP3"`); got == denied {
						t.Errorf("Bulk Edit links shown: got %v; want %v", got, !denied)
					}
					return
				}
				if got := disabled(t, r.body, ctl.id); got != ctl.off[i] {
					t.Errorf("disabled: got %v; want %v", got, ctl.off[i])
				}
				if ctl.reason != "" {
					reason := regexp.MustCompile(`id="` + ctl.reason + `">([^<]*)<`).FindStringSubmatch(r.body)
					if ctl.off[i] && (reason == nil || !strings.Contains(reason[1], "You can&#39;t change this: your role groups ("+role.group+")")) {
						t.Errorf("no reason given for the disabled control")
					}
					if !ctl.off[i] && reason != nil && ctl.id != "tb-edit" {
						t.Errorf("a reason is shown for a control that works: %s", reason[1])
					}
				}
			})
		}
		if i == 2 {
			continue // Help Desk may not open the organization pages at all.
		}
		for _, ctl := range orgControls {
			t.Run(role.group+"/"+ctl.path+"#"+ctl.id, func(t *testing.T) {
				r := c.get(ctl.path)
				if got := disabled(t, r.body, ctl.id); got != ctl.off[i] {
					t.Errorf("disabled: got %v; want %v", got, ctl.off[i])
				}
				if ctl.off[i] && !strings.Contains(r.body, `id="`+ctl.reason+`">You can&#39;t change this`) {
					t.Errorf("no reason given for the disabled control")
				}
			})
		}
	}
}

// TestForcedChangesRefused posts every change as each role that may not
// make it, as a user who removed the disabled attribute would: the server
// refuses with 403, changes nothing, and audits the refusal.
func TestForcedChangesRefused(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	kim := guidOf(t, env, "Kim Akers")
	changes := []struct {
		name, path string
		form       url.Values
		// allowed lists the roles (indexes into roles) that may.
		allowed []int
	}{
		{"Set-CASMailbox", "/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"false"}, "orig_pop": {"true"}, "imap": {"true"}, "orig_imap": {"true"}}, []int{0, 1}},
		{"email apps", "/admin/recipients/mailboxes/email-apps", url.Values{"id": {christa}}, []int{0, 1}},
		{"Bulk Edit", "/admin/recipients/mailboxes/bulk", url.Values{"id": {christa, kim}, "protocol": {"imap4"}, "action": {"disable"}}, []int{0, 1}},
		{"New-Mailbox", "/admin/recipients/mailboxes/new", url.Values{"displayname": {"Forced"}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}, []int{0, 1}},
		{"Remove-Mailbox", "/admin/recipients/mailboxes/remove", url.Values{"id": {christa}}, []int{0, 1}},
		{"reset password", "/admin/recipients/mailboxes/reset-password", url.Values{"id": {kim}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}, []int{0, 1, 2}},
		{"security defaults", "/admin/organization/security-defaults", url.Values{"enable": {"true"}}, []int{0}},
		{"CAS mailbox plan", "/admin/organization/mailbox-plan", url.Values{}, []int{0}},
		{"Add-RoleGroupMember", "/admin/permissions/admin-roles/add-member", url.Values{"group": {"Organization Management"}, "member": {"christa"}}, []int{0}},
		{"Remove-RoleGroupMember", "/admin/permissions/admin-roles/remove-member", url.Values{"group": {"Help Desk"}, "member": {"holly@contoso.com"}}, []int{0}},
	}
	for i, role := range roles[1:] {
		i++
		c := signedIn(t, env, role.user, role.password)
		for _, ch := range changes {
			allowed := false
			for _, a := range ch.allowed {
				allowed = allowed || a == i
			}
			if allowed {
				continue
			}
			t.Run(role.group+"/"+ch.name, func(t *testing.T) {
				r := c.post(ch.path, ch.form)
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "Access denied") {
					t.Errorf("got %d; want 403 Access denied\n%s", r.status, r.body)
				}
			})
		}
	}
	// Nothing changed.
	admin := adminCaller(t, env)
	m := casOf(t, env, "Christa Knapp")
	if !m.PopEnabled || !m.ImapEnabled {
		t.Errorf("Christa Knapp changed: PopEnabled=%v ImapEnabled=%v", m.PopEnabled, m.ImapEnabled)
	}
	if m := casOf(t, env, "Kim Akers"); !m.ImapEnabled {
		t.Errorf("Kim Akers changed by a refused Bulk Edit")
	}
	if _, err := env.Service.GetMailbox(context.Background(), admin, "Forced"); err == nil {
		t.Errorf("a refused New-Mailbox created the mailbox")
	}
	org, _ := env.Service.GetOrganizationConfig(context.Background(), admin)
	if org.SecurityDefaultsEnabled {
		t.Errorf("a refused change turned security defaults on")
	}
	plan, _ := env.Service.GetCASMailboxPlan(context.Background(), admin)
	if !plan.PopEnabled || !plan.ImapEnabled {
		t.Errorf("a refused change changed the plan")
	}
	members, _ := env.Service.GetRoleGroupMembers(context.Background(), admin, "Help Desk")
	if len(members) != 1 {
		t.Errorf("a refused change changed Help Desk: %v", members)
	}
	// The refusals are audited, as the admin center's.
	failed := false
	recs, err := env.Service.SearchAdminAuditLog(context.Background(), admin, service.AuditSearch{IsSuccess: &failed})
	if err != nil {
		t.Fatal(err)
	}
	surfaces := map[string]int{}
	for _, r := range recs {
		surfaces[r.Surface]++
	}
	if surfaces[service.SurfaceAdminCenter] < 10 {
		t.Errorf("audited refusals from the admin center: got %d; want at least 10 (%v)", surfaces[service.SurfaceAdminCenter], surfaces)
	}
}
