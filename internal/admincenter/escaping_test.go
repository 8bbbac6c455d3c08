package admincenter_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestHostileNamesAreEscaped creates mailboxes whose names are markup and
// visits every page that shows a name: lists, panes, dialogs, messages,
// role groups and the audit log. No name may come out as markup.
func TestHostileNamesAreEscaped(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	admin := adminCaller(t, env)
	hostile := []service.NewMailboxRequest{
		{Name: "<script>alert(1)</script>", Alias: "xss1", Password: "Secret-Pass-1"},
		{Name: `"><img src=x onerror=alert(2)>`, Alias: "xss2", Password: "Secret-Pass-1"},
		{Name: "Mallory", DisplayName: `' onmouseover='alert(3)' x='`, Alias: "xss3", Password: "Secret-Pass-1"},
		{Name: "{{.CSRF}} javascript:alert(4)", Alias: "xss4", Password: "Secret-Pass-1"},
	}
	var ids []string
	for _, r := range hostile {
		m, _, err := env.Service.NewMailbox(context.Background(), admin, r)
		if err != nil {
			t.Fatalf("create %q: %v", r.Name, err)
		}
		ids = append(ids, m.Guid)
	}
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	// A change, a refused change, and a membership, so that the names reach
	// the audit log, the messages and the role groups.
	c.post("/admin/recipients/mailboxes/edit", url.Values{"id": {ids[0]}, "pop": {"false"}, "orig_pop": {"true"}, "imap": {"true"}, "orig_imap": {"true"}})
	c.get("/admin/recipients/mailboxes")
	if r := c.post("/admin/permissions/admin-roles/add-member", url.Values{"group": {"Help Desk"}, "member": {"xss2"}}); r.status != 303 {
		t.Fatalf("add member: %d", r.status)
	}

	all := "&id=" + strings.Join(ids, "&id=")
	pages := []string{
		"/admin/recipients/mailboxes",
		"/admin/recipients/mailboxes?search=%3Cscript%3Ealert(5)%3C/script%3E",
		"/admin/recipients/mailboxes?search=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(6)%3E",
		"/admin/recipients/mailboxes?id=" + ids[1],
		"/admin/recipients/mailboxes?x=1" + all,
		"/admin/recipients/mailboxes/details?x=1" + all,
		"/admin/recipients/mailboxes/bulk?protocol=pop3&action=disable" + all,
		"/admin/permissions/admin-roles?group=Help+Desk",
		"/admin/auditing/admin-audit-log",
		"/admin/auditing/admin-audit-log?object=%3Cscript%3Ealert(7)%3C/script%3E&caller=%22%3E%3Csvg%20onload%3Dalert(8)%3E",
		"/admin/recipients/mailboxes/edit?id=%3Cscript%3Ealert(9)%3C/script%3E",
		"/admin/nothing/%3Cscript%3Ealert(10)%3C/script%3E",
	}
	for _, id := range ids {
		for _, p := range []string{"edit", "edit?section=features", "edit?section=addresses", "email-apps", "remove", "reset-password"} {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			pages = append(pages, "/admin/recipients/mailboxes/"+p+sep+"id="+id)
		}
	}
	for _, p := range pages {
		r := c.get(p)
		if r.status >= 500 {
			t.Errorf("%s: got %d", p, r.status)
		}
		checkMarkup(t, p, r.body)
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload", "onmouseover='alert"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("%s: the page holds %q unescaped", p, raw)
			}
		}
	}
	// The messages after a POST carry names too.
	r := c.post("/admin/recipients/mailboxes/email-apps", url.Values{"id": {ids[2]}})
	page := c.follow(r.location)
	checkMarkup(t, "email apps message", page.body)
	r = c.post("/admin/recipients/mailboxes/bulk", url.Values{"protocol": {"imap4"}, "action": {"disable"}, "id": ids})
	page = waitJob(t, c, r.location)
	checkMarkup(t, "bulk summary", page.body)
	if !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the bulk summary doesn't show the name, escaped")
	}
	// Values typed in a refused form come back escaped.
	r = c.post("/admin/recipients/mailboxes/new", url.Values{"displayname": {`"><script>alert(11)</script>`}, "password": {"x"}, "confirm": {"y"}})
	checkMarkup(t, "new mailbox form", r.body)
	if strings.Contains(r.body, "<script>alert(11)") {
		t.Errorf("the refused form shows the display name unescaped")
	}
}
