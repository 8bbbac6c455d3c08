package admincenter_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

var hrefAttr = regexp.MustCompile(`<a [^>]*href="(/admin[^"#]*)"`)

// TestNoDeadLinks: in each role group, every link of the admin center's
// pages (feature pane, tabs, toolbar, menus, details pane, dialogs) leads
// to a page that role may open: no 404, no 403, no error. Issue 14, item
// 12: the navigation shows only what Gatehouse has and the role may use.
func TestNoDeadLinks(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	kim := guidOf(t, env, "Kim Akers")
	for _, who := range []struct{ user, password string }{
		{"admin", testenv.AdminPassword},
		{"rita@contoso.com", testenv.DemoPassword},
		{"holly@contoso.com", testenv.DemoPassword},
		{"victor@contoso.com", testenv.DemoPassword},
	} {
		t.Run(who.user, func(t *testing.T) {
			c := signedIn(t, env, who.user, who.password)
			start := []string{"/admin/recipients/mailboxes", "/admin/recipients/mailboxes?id=" + christa,
				"/admin/recipients/mailboxes?id=" + christa + "&id=" + kim}
			seen := map[string]bool{}
			queue := append([]string(nil), start...)
			for len(queue) > 0 && len(seen) < 200 {
				path := queue[0]
				queue = queue[1:]
				if seen[path] {
					continue
				}
				seen[path] = true
				r := c.get(path)
				if r.status == 303 && strings.HasPrefix(r.location, "/admin/") {
					queue = append(queue, r.location)
					continue
				}
				if r.status != 200 {
					t.Errorf("%s: status %d", path, r.status)
					continue
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					continue
				}
				// Follow links one level below the pages of the feature
				// pane, not every page of every mailbox.
				for _, m := range hrefAttr.FindAllStringSubmatch(r.body, -1) {
					next := html.UnescapeString(m[1])
					if strings.Contains(next, "/static/") || strings.Contains(next, "page=") || strings.Contains(next, "sort=") ||
						strings.Contains(next, "/auditing/") && strings.Contains(next, "?") {
						continue
					}
					queue = append(queue, next)
				}
			}
			if len(seen) < 10 {
				t.Errorf("only %d pages reached: %v", len(seen), seen)
			}
		})
	}
}
