package admincenter_test

import (
	"context"
	"encoding/csv"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// The HTTP-level tests play a browser without JavaScript: every page and
// form, sign-in and session, CSRF refusals, headers and escaping.

func TestSignInAndOut(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := newClient(t, env)

	r := c.get("/admin/recipients/mailboxes?search=Chr")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/signin?") {
		t.Fatalf("signed out, mailboxes: got %d to %q; want 303 to the sign-in page", r.status, r.location)
	}
	u, _ := url.Parse(r.location)
	if got, want := u.Query().Get("next"), "/admin/recipients/mailboxes?search=Chr"; got != want {
		t.Errorf("next: got %q; want %q", got, want)
	}

	r = c.get(r.location)
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="username"`) {
		t.Fatalf("sign-in page: got %d; want 200 with the form", r.status)
	}
	for _, tc := range []struct {
		name, user, password string
		status               int
		want                 string
	}{
		{"wrong password", "admin", "nope", http.StatusUnauthorized, "The user name or password is incorrect."},
		{"no such user", "nobody", "nope", http.StatusUnauthorized, "The user name or password is incorrect."},
		{"not an admin", "christa@contoso.com", testenv.DemoPassword, http.StatusUnauthorized, "The user name or password is incorrect."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/admin/signin", url.Values{"username": {tc.user}, "password": {tc.password}, "next": {u.Query().Get("next")}})
			if r.status != tc.status || !strings.Contains(html.UnescapeString(r.body), tc.want) {
				t.Errorf("got %d; want %d with %q\n%s", r.status, tc.status, tc.want, r.body)
			}
			if strings.Contains(r.body, tc.password) && tc.password != "nope" {
				t.Errorf("the page shows the password typed")
			}
		})
	}

	r = c.post("/admin/signin", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {u.Query().Get("next")}})
	if r.status != http.StatusSeeOther || r.location != "/admin/recipients/mailboxes?search=Chr" {
		t.Fatalf("sign in: got %d to %q; want 303 to where the browser wanted to go", r.status, r.location)
	}
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "gatehouse_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/admin" || session.Secure || session.MaxAge != 12*3600 {
		t.Errorf("session cookie: got HttpOnly=%v SameSite=%v Path=%q Secure=%v MaxAge=%d; want HttpOnly, Strict, /admin, not Secure over plain HTTP, 12 h",
			session.HttpOnly, session.SameSite, session.Path, session.Secure, session.MaxAge)
	}
	r = c.get("/admin/recipients/mailboxes")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Christa Knapp") {
		t.Fatalf("signed in, mailboxes: got %d; want 200 with the list", r.status)
	}
	if !strings.Contains(r.body, "Signed in as <strong>Administrator</strong>") {
		t.Errorf("the page doesn't say who is signed in")
	}
	// Signed in, the sign-in page goes on.
	if r := c.get("/admin/signin"); r.status != http.StatusSeeOther {
		t.Errorf("signed in, sign-in page: got %d; want 303", r.status)
	}

	r = c.post("/admin/signout", nil)
	if r.status != http.StatusSeeOther || r.location != "/admin/signin" {
		t.Fatalf("sign out: got %d to %q; want 303 to /admin/signin", r.status, r.location)
	}
	// The old token no longer works, even if a copy of the cookie was kept.
	old := newClient(t, env)
	old.http.Jar.SetCookies(mustURL(t, env.URL()+"/admin/"), []*http.Cookie{{Name: "gatehouse_session", Value: session.Value, Path: "/admin"}})
	r = old.get("/admin/recipients/mailboxes")
	if r.status != http.StatusSeeOther || !strings.Contains(r.location, "expired=1") {
		t.Errorf("after sign-out, the old cookie: got %d to %q; want 303 to the sign-in page saying the session ended", r.status, r.location)
	}
}

// TestSignInThrottled locks out repeated wrong passwords, with
// Retry-After, and the details pane's script is told to sign in again
// rather than handed a page.
func TestSignInThrottled(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true, Throttle: true, Configure: func(c *config.Config) {
		c.Auth.ThrottleFree = 1
		c.Auth.ThrottleLockAfter = 2
	}})
	c := newClient(t, env)
	c.get("/admin/signin")
	var r response
	for range 4 {
		r = c.post("/admin/signin", url.Values{"username": {"admin"}, "password": {"wrong"}})
		if r.status == http.StatusTooManyRequests {
			break
		}
	}
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed sign-ins.") {
		t.Fatalf("after wrong passwords: got %d, Retry-After %q; want 429 with Retry-After\n%s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// Locked, even the right password is refused for now.
	if r := c.post("/admin/signin", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}); r.status != http.StatusTooManyRequests {
		t.Errorf("the right password while locked: got %d; want 429", r.status)
	}

	req, _ := http.NewRequest(http.MethodGet, env.URL()+"/admin/recipients/mailboxes/details?id=x", nil)
	req.Header.Set("X-Requested-With", "fetch")
	r = c.do(req)
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("X-Sign-In"), "/admin/signin") {
		t.Errorf("the pane without a session: got %d, X-Sign-In %q; want 401 naming the sign-in page", r.status, r.header.Get("X-Sign-In"))
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignInNextIsKeptInside(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	for _, next := range []string{"//evil.example/", "https://evil.example/admin/", "/\\evil.example", "/admin/../../x\r\nSet-Cookie: a=b",
		"javascript:alert(1)", "/elsewhere", "/admin/signin?next=//evil.example"} {
		c := newClient(t, env)
		c.get("/admin/signin")
		r := c.post("/admin/signin", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location != "/admin/recipients/mailboxes" {
			t.Errorf("next %q: got %d to %q; want 303 to /admin/recipients/mailboxes", next, r.status, r.location)
		}
	}
}

// pagesAsAdmin are the admin center's pages with a text each must show.
func pagesAsAdmin(t *testing.T, env *testenv.Env) []struct{ path, want string } {
	christa := guidOf(t, env, "Christa Knapp")
	kim, ben := guidOf(t, env, "Kim Akers"), guidOf(t, env, "Ben Andrews")
	return []struct{ path, want string }{
		{"/admin/recipients/mailboxes", "Christa Knapp"},
		{"/admin/recipients/mailboxes?id=" + christa, `id="details-title" class="details-title" title="Christa Knapp">Christa Knapp`},
		{"/admin/recipients/mailboxes/details?id=" + christa, "Email Connectivity"},
		{"/admin/recipients/mailboxes/details?id=" + kim + "&id=" + ben, "Bulk Edit"},
		{"/admin/recipients/mailboxes/edit?id=" + christa, "User Mailbox"},
		{"/admin/recipients/mailboxes/edit?section=features&id=" + christa, "POP3: <span data-state=\"pop\">Enabled</span>"},
		{"/admin/recipients/mailboxes/email-apps?id=" + christa, "Manage settings for email apps"},
		{"/admin/recipients/mailboxes/bulk?protocol=pop3&action=disable&id=" + kim + "&id=" + ben, "Bulk Edit: Disable POP3"},
		{"/admin/recipients/mailboxes/new", "New user mailbox"},
		{"/admin/recipients/mailboxes/remove?id=" + christa, "Are you sure you want to delete"},
		{"/admin/recipients/mailboxes/reset-password?id=" + christa, "Reset password"},
		{"/admin/recipients/mailboxes/app-passwords?id=" + christa, "App passwords"},
		{"/admin/organization/security-defaults", "Security defaults: <strong class=\"state-on\">Off</strong>"},
		{"/admin/organization/security-defaults/confirm?enable=true", "Turn on security defaults"},
		{"/admin/organization/mailbox-plan", "New mailboxes start with"},
		{"/admin/organization/authentication-policies", "Authenticated SMTP for the organization"},
		{"/admin/permissions/admin-roles", "Organization Management"},
		{"/admin/permissions/admin-roles?group=Help+Desk", "Holly Holt"},
		{"/admin/auditing/admin-audit-log", "Admin audit log"},
		{"/admin/reports/email-apps", "Email apps usage"},
		{"/admin/reports/email-apps?period=180", "In the last 180 days"},
		{"/admin/help/keyboard-shortcuts", "Ctrl+F6"},
		{"/admin/mail-flow/queue", "The queue is empty."},
	}
}

// checkPage checks what every HTML page must be: the security headers, no
// inline script, handler or style, and a CSRF token in every POST form.
func checkPage(t *testing.T, path string, r response) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy allows unsafe code: %q", path, csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %s got %q; want %q", path, h, got, want)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		return
	}
	checkMarkup(t, path, r.body)
	for _, form := range regexp.MustCompile(`(?is)<form[^>]*method="post".*?</form>`).FindAllString(r.body, -1) {
		if !strings.Contains(form, `name="csrf" value="`) {
			t.Errorf("%s: a POST form without a CSRF token:\n%s", path, form)
		}
	}
}

func TestEveryPage(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	for _, p := range pagesAsAdmin(t, env) {
		t.Run(p.path, func(t *testing.T) {
			r := c.get(p.path)
			if r.status != http.StatusOK {
				t.Fatalf("got status %d; want 200\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, p.want) {
				t.Errorf("the page lacks %q", p.want)
			}
			checkPage(t, p.path, r)
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control: got %q; want no-store", r.header.Get("Cache-Control"))
			}
		})
	}
	for _, path := range []string{"/admin/signin", "/admin/nowhere"} {
		checkPage(t, path, newClient(t, env).get(path))
	}
	if r := c.get("/admin/nowhere"); r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") {
		t.Errorf("unknown page: got %d; want 404 Page not found", r.status)
	}
	for path, want := range map[string]string{"/admin/": "/admin/recipients/mailboxes", "/admin/organization/": "/admin/organization/security-defaults",
		"/admin/permissions/": "/admin/permissions/admin-roles", "/admin/auditing/": "/admin/auditing/admin-audit-log",
		"/admin/reports/": "/admin/reports/email-apps", "/admin/recipients/": "/admin/recipients/mailboxes"} {
		if r := c.get(path); r.status != http.StatusSeeOther || r.location != want {
			t.Errorf("%s: got %d to %q; want 303 to %s", path, r.status, r.location, want)
		}
	}
	// The static files: versioned URLs, long cache, right types.
	for _, f := range []struct{ re, ct string }{{`/admin/static/admin\.js\?v=[0-9a-f]+`, "text/javascript"},
		{`/admin/static/admin\.css\?v=[0-9a-f]+`, "text/css"}, {`/admin/static/icon\.svg\?v=[0-9a-f]+`, "image/svg+xml"}} {
		u := regexp.MustCompile(f.re).FindString(c.get("/admin/recipients/mailboxes").body)
		if u == "" {
			t.Errorf("no link to %s", f.re)
			continue
		}
		r := c.get(u)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), f.ct) || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: got %d %q %q; want 200 %s, immutable", u, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), f.ct)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	forms := []struct {
		path string
		form url.Values
	}{
		{"/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"false"}, "orig_pop": {"true"}}},
		{"/admin/recipients/mailboxes/email-apps", url.Values{"id": {christa}, "imap": {"on"}}},
		{"/admin/recipients/mailboxes/bulk", url.Values{"id": {christa}, "protocol": {"pop3"}, "action": {"disable"}}},
		{"/admin/recipients/mailboxes/new", url.Values{"displayname": {"Eve"}, "password": {"Password-123"}, "confirm": {"Password-123"}}},
		{"/admin/recipients/mailboxes/remove", url.Values{"id": {christa}}},
		{"/admin/recipients/mailboxes/reset-password", url.Values{"id": {christa}, "password": {"Password-123"}, "confirm": {"Password-123"}}},
		{"/admin/recipients/mailboxes/app-passwords", url.Values{"id": {christa}, "name": {"Phone"}}},
		{"/admin/recipients/mailboxes/app-passwords/revoke", url.Values{"id": {christa}, "name": {"Phone"}}},
		{"/admin/organization/security-defaults", url.Values{"enable": {"true"}}},
		{"/admin/organization/mailbox-plan", url.Values{}},
		{"/admin/organization/authentication-policies/new", url.Values{"name": {"P"}}},
		{"/admin/organization/authentication-policies/edit", url.Values{"name": {"P"}}},
		{"/admin/organization/authentication-policies/remove", url.Values{"name": {"P"}}},
		{"/admin/organization/authentication-policies/default", url.Values{"policy": {""}}},
		{"/admin/organization/authentication-policies/transport", url.Values{}},
		{"/admin/permissions/admin-roles/add-member", url.Values{"group": {"Help Desk"}, "member": {"christa"}}},
		{"/admin/permissions/admin-roles/remove-member", url.Values{"group": {"Help Desk"}, "member": {"holly"}}},
		{"/admin/signout", url.Values{}},
	}
	for _, f := range forms {
		for _, tc := range []struct {
			name  string
			token string
			site  string
		}{{"no token", "", ""}, {"wrong token", "AAAA" + c.csrf[4:], ""}, {"cross-site", c.csrf, "cross-site"}} {
			t.Run(f.path+"/"+tc.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range f.form {
					form[k] = v
				}
				form.Set("csrf", tc.token)
				req, _ := http.NewRequest(http.MethodPost, env.URL()+f.path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.site != "" {
					req.Header.Set("Sec-Fetch-Site", tc.site)
				}
				r := c.do(req)
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "The form has expired") {
					t.Errorf("got %d; want 403 The form has expired", r.status)
				}
			})
		}
	}
	// Nothing changed, and the session still works.
	m := casOf(t, env, "Christa Knapp")
	if !m.PopEnabled || !m.ImapEnabled {
		t.Errorf("Christa Knapp after refused forms: PopEnabled=%v ImapEnabled=%v; want both true", m.PopEnabled, m.ImapEnabled)
	}
	org, err := env.Service.GetOrganizationConfig(context.Background(), adminCaller(t, env))
	if err != nil || org.SecurityDefaultsEnabled {
		t.Errorf("security defaults after refused forms: got %v, %v; want off", org.SecurityDefaultsEnabled, err)
	}
	if r := c.get("/admin/recipients/mailboxes"); r.status != http.StatusOK {
		t.Errorf("the session after refused forms: got %d; want 200", r.status)
	}
	// The sign-in form has its token too.
	anon := newClient(t, env)
	anon.get("/admin/signin")
	if r := anon.post("/admin/signin", url.Values{"csrf": {""}, "username": {"admin"}, "password": {testenv.AdminPassword}}); r.status != http.StatusForbidden {
		t.Errorf("sign-in without its token: got %d; want 403", r.status)
	}
	// A token of one session is worthless in another.
	other := signedIn(t, env, "admin", testenv.AdminPassword)
	if r := other.post("/admin/organization/mailbox-plan", url.Values{"csrf": {c.csrf}}); r.status != http.StatusForbidden {
		t.Errorf("another session's token: got %d; want 403", r.status)
	}
}

// flashOf follows a POST's redirect and returns the page with its message.
func flashOf(t *testing.T, c *client, r response) string {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("got status %d; want 303\n%s", r.status, r.body)
	}
	page := c.follow(r.location)
	if strings.Contains(r.location, "/bulk/jobs/") {
		page = waitJob(t, c, r.location)
	}
	m := regexp.MustCompile(`(?s)<div class="flash[^"]*"[^>]*id="flash">(.*?)</div>`).FindStringSubmatch(page.body)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " "))), " ")
}

func TestEditDialogSave(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")

	// Without script, Disable is a link to the dialog with the pending state.
	r := c.get("/admin/recipients/mailboxes/edit?section=features&id=" + christa)
	link := regexp.MustCompile(`<a href="([^"]+)" class="toggle" id="pop-toggle"`).FindStringSubmatch(r.body)
	if link == nil {
		t.Fatalf("no Disable link for POP3:\n%s", r.body)
	}
	r = c.get(html.UnescapeString(link[1]))
	for _, want := range []string{`POP3: <span data-state="pop">Disabled</span>`, `id="pop-toggle" data-toggle="pop" aria-describedby="pop-state">Enable</a>`,
		`name="pop" value="false"`, "Not saved yet"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("pending dialog lacks %q", want)
		}
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Fatal("the Disable link changed the mailbox; only Save may")
	}

	got := flashOf(t, c, c.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"false"}, "imap": {"true"},
		"orig_pop": {"true"}, "orig_imap": {"true"}, "search": {"Chr"}}))
	if want := "Saved Christa Knapp: POP3 disabled."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if m := casOf(t, env, "Christa Knapp"); m.PopEnabled || !m.ImapEnabled {
		t.Errorf("after Save: PopEnabled=%v ImapEnabled=%v; want false, true", m.PopEnabled, m.ImapEnabled)
	}
	recs, err := env.Service.SearchAdminAuditLog(context.Background(), adminCaller(t, env), service.AuditSearch{Cmdlets: []string{"Set-CASMailbox"}})
	if err != nil || len(recs) != 1 || recs[0].Surface != service.SurfaceAdminCenter || recs[0].ObjectModified != "Christa Knapp" {
		t.Fatalf("audit: got %+v, %v; want one Set-CASMailbox by the admin center", recs, err)
	}
	// Save without a change changes nothing and writes no audit record.
	r = c.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"false"}, "imap": {"true"},
		"orig_pop": {"false"}, "orig_imap": {"true"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.location, "id="+christa) {
		t.Errorf("Save without change: got %d to %q; want 303 back to the list", r.status, r.location)
	}
	recs, _ = env.Service.SearchAdminAuditLog(context.Background(), adminCaller(t, env), service.AuditSearch{Cmdlets: []string{"Set-CASMailbox"}})
	if len(recs) != 1 {
		t.Errorf("audit records after a Save without change: got %d; want 1", len(recs))
	}
	// Reopened, the dialog says POP3: Disabled.
	r = c.get("/admin/recipients/mailboxes/edit?section=features&id=" + christa)
	if !strings.Contains(r.body, `POP3: <span data-state="pop">Disabled</span>`) {
		t.Errorf("reopened dialog lacks POP3: Disabled")
	}
	// The list says so too.
	r = c.get("/admin/recipients/mailboxes?search=Christa+K")
	if !strings.Contains(r.body, `<td class="access"><span class="state-off">Disabled</span></td>`) {
		t.Errorf("the list doesn't show POP3 Disabled for Christa Knapp")
	}
	// Errors: no mailbox, a mailbox that doesn't exist, an ambiguous one.
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/admin/recipients/mailboxes/edit", 400, "Select one mailbox"},
		{"/admin/recipients/mailboxes/edit?id=nobody-at-all", 404, "couldn&#39;t be found on"},
		{"/admin/recipients/mailboxes/edit?id=Christa*", 409, "matches multiple entries"},
		{"/admin/recipients/mailboxes/email-apps?id=a&id=b", 400, "Select one mailbox"},
	} {
		if r := c.get(tc.path); r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: got %d; want %d with %q", tc.path, r.status, tc.status, tc.want)
		}
	}
}

func TestEmailAppsPanel(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	c.get("/admin/recipients/mailboxes/email-apps?id=" + christa)
	// POP3 switched off, IMAP left on.
	got := flashOf(t, c, c.post("/admin/recipients/mailboxes/email-apps", url.Values{"id": {christa}, "imap": {"on"}}))
	if got != "Email app settings updated successfully" {
		t.Errorf("flash: got %q; want %q", got, "Email app settings updated successfully")
	}
	if m := casOf(t, env, "Christa Knapp"); m.PopEnabled || !m.ImapEnabled {
		t.Errorf("after Save: PopEnabled=%v ImapEnabled=%v; want false, true", m.PopEnabled, m.ImapEnabled)
	}
	r := c.get("/admin/recipients/mailboxes/email-apps?id=" + christa)
	if !strings.Contains(r.body, `id="pop" name="pop" aria-describedby`) || !strings.Contains(r.body, `id="imap" name="imap" checked`) {
		t.Errorf("the panel doesn't show POP3 off and IMAP on")
	}
	// The same again: Exchange's warning, not a false success.
	got = flashOf(t, c, c.post("/admin/recipients/mailboxes/email-apps", url.Values{"id": {christa}, "imap": {"on"}}))
	if want := "The command completed successfully but no settings of 'Christa Knapp' have been modified."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if answer := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); answer != "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator." {
		t.Errorf("POP3 login after the panel's Save: got %q", answer)
	}
}

func TestBulkEdit(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	kim, ben, david := guidOf(t, env, "Kim Akers"), guidOf(t, env, "Ben Andrews"), guidOf(t, env, "David Longmuir")
	// David already has IMAP4 off; Kim has an open IMAP4 session.
	off := false
	if _, err := env.Service.SetCASMailbox(context.Background(), adminCaller(t, env), service.SetCASMailboxRequest{Identity: "David Longmuir", ImapEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	session := imapLogin(t, env.Addr("imap"), "kim@contoso.com", testenv.DemoPassword)

	r := c.get("/admin/recipients/mailboxes/details?id=" + kim + "&id=" + ben + "&id=" + david)
	for _, want := range []string{"Bulk Edit", "3 mailboxes selected", "Kim Akers", "Ben Andrews", "David Longmuir", `aria-label="Disable IMAP4"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Bulk Edit pane lacks %q", want)
		}
	}
	confirm := regexp.MustCompile(`href="([^"]+)" aria-label="Disable IMAP4"`).FindStringSubmatch(r.body)
	if confirm == nil {
		t.Fatal("no Disable IMAP4 link")
	}
	r = c.get(html.UnescapeString(confirm[1]))
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(html.UnescapeString(r.body), " ")), " ")
	for _, want := range []string{"IMAP4 will be disabled for 2 mailboxes: Kim Akers Ben Andrews", "Already disabled, left as they are: David Longmuir.",
		"This closes 1 open session now (1 IMAP4)."} {
		if !strings.Contains(text, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, text)
		}
	}
	if m := casOf(t, env, "Kim Akers"); !m.ImapEnabled {
		t.Fatal("the confirmation changed something; only OK may")
	}
	got := flashOf(t, c, c.post("/admin/recipients/mailboxes/bulk", url.Values{"protocol": {"imap4"}, "action": {"disable"},
		"id": {kim, ben, david}}))
	for _, want := range []string{"Bulk Edit: IMAP4 disabled for 2 mailboxes.", "Changed: Kim Akers, Ben Andrews.",
		"Already disabled, not changed: David Longmuir.", "1 open session (1 IMAP4) was closed."} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q: %q", want, got)
		}
	}
	for _, name := range []string{"Kim Akers", "Ben Andrews", "David Longmuir"} {
		if m := casOf(t, env, name); m.ImapEnabled || !m.PopEnabled {
			t.Errorf("%s after Bulk Edit: ImapEnabled=%v PopEnabled=%v; want false, true", name, m.ImapEnabled, m.PopEnabled)
		}
	}
	if bye := session.waitBye(t); bye != "* BYE IMAP4 access was disabled by your administrator." {
		t.Errorf("Kim's IMAP4 session: got %q", bye)
	}
	// A mailbox deleted in between fails alone.
	got = flashOf(t, c, c.post("/admin/recipients/mailboxes/bulk", url.Values{"protocol": {"pop3"}, "action": {"disable"},
		"id": {kim, "00000000-0000-0000-0000-000000000000"}}))
	if !strings.Contains(got, "POP3 disabled for 1 mailbox.") || !strings.Contains(got, "1 mailbox failed.") ||
		!strings.Contains(got, "Failed: 00000000-0000-0000-0000-000000000000: The operation couldn't be performed because object") {
		t.Errorf("summary with a missing mailbox: %q", got)
	}
	for _, tc := range []struct{ path, want string }{
		{"/admin/recipients/mailboxes/bulk?protocol=smtp&action=disable&id=" + kim, "Unknown action"},
		{"/admin/recipients/mailboxes/bulk?protocol=pop3&action=disable", "Select mailboxes"},
	} {
		if r := c.get(tc.path); r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: got %d; want 400 %q", tc.path, r.status, tc.want)
		}
	}
}

func TestNewRemoveAndResetPassword(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	c.get("/admin/recipients/mailboxes/new")

	// Refusals show the form again with the values typed, never the password.
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"passwords differ", url.Values{"displayname": {"Eve Adams"}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-2"}}, 400, "The passwords don&#39;t match."},
		{"short password", url.Values{"displayname": {"Eve Adams"}, "password": {"short"}, "confirm": {"short"}}, 400, "The password does not comply with the password policy requirements"},
		{"weak password", url.Values{"displayname": {"Eve Adams"}, "password": {"abcdefgh"}, "confirm": {"abcdefgh"}}, 400, "at least 3 of these 4 kinds"},
		{"name taken", url.Values{"displayname": {"Christa Knapp"}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}, 409, "is already being used"},
		{"bad address", url.Values{"displayname": {"Eve Adams"}, "address": {"eve@"}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}, 400, "is not a valid SMTP address"},
		{"empty", url.Values{"password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}, 400, "can&#39;t be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/admin/recipients/mailboxes/new", tc.form)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Errorf("got %d; want %d with %q\n%s", r.status, tc.status, tc.want, r.body)
			}
			if strings.Contains(r.body, "Secret-Pass") || strings.Contains(r.body, `value="short"`) {
				t.Errorf("the form shows the password again")
			}
			if dn := tc.form.Get("displayname"); dn != "" && !strings.Contains(r.body, `value="`+dn+`"`) {
				t.Errorf("the form lost the display name typed")
			}
		})
	}
	got := flashOf(t, c, c.post("/admin/recipients/mailboxes/new", url.Values{"displayname": {"Eve Adams"}, "alias": {"eve"},
		"password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}))
	if want := "Created the mailbox Eve Adams (eve@contoso.com)."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if answer := pop3Login(t, env.Addr("pop3"), "eve@contoso.com", "Secret-Pass-1"); !strings.HasPrefix(answer, "+OK") {
		t.Errorf("POP3 login of the new mailbox: got %q; want +OK", answer)
	}
	eve := guidOf(t, env, "Eve Adams")

	// Reset password.
	c.get("/admin/recipients/mailboxes/reset-password?id=" + eve)
	if r := c.post("/admin/recipients/mailboxes/reset-password", url.Values{"id": {eve}, "password": {"New-Secret-2"}, "confirm": {"Other-3"}}); r.status != 400 {
		t.Errorf("reset with different passwords: got %d; want 400", r.status)
	}
	got = flashOf(t, c, c.post("/admin/recipients/mailboxes/reset-password", url.Values{"id": {eve}, "password": {"New-Secret-2"}, "confirm": {"New-Secret-2"}}))
	if want := "The password of Eve Adams was reset."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if answer := pop3Login(t, env.Addr("pop3"), "eve@contoso.com", "Secret-Pass-1"); answer != "-ERR [AUTH] Invalid credentials" {
		t.Errorf("POP3 login with the old password: got %q; want -ERR [AUTH] Invalid credentials", answer)
	}
	if answer := pop3Login(t, env.Addr("pop3"), "eve@contoso.com", "New-Secret-2"); !strings.HasPrefix(answer, "+OK") {
		t.Errorf("POP3 login with the new password: got %q; want +OK", answer)
	}

	// Remove, with its confirmation.
	r := c.get("/admin/recipients/mailboxes/remove?id=" + eve)
	if !strings.Contains(r.body, "Are you sure you want to delete <strong>Eve Adams</strong>") {
		t.Errorf("remove confirmation lacks the question")
	}
	got = flashOf(t, c, c.post("/admin/recipients/mailboxes/remove", url.Values{"id": {eve}}))
	if want := "Deleted the mailbox Eve Adams."; !strings.HasPrefix(got, want) {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if _, err := env.Service.GetMailbox(context.Background(), adminCaller(t, env), eve); err == nil {
		t.Error("the mailbox is still there")
	}
	// The last member of Organization Management stays.
	admin := guidOf(t, env, "admin")
	c.get("/admin/recipients/mailboxes")
	if r := c.post("/admin/recipients/mailboxes/remove", url.Values{"id": {admin}}); r.status != 400 || !strings.Contains(r.body, "last member of Organization Management") {
		t.Errorf("removing the last admin: got %d; want 400 naming the reason", r.status)
	}
}

func TestOrganizationPages(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	session := imapLogin(t, env.Addr("imap"), "pilar@contoso.com", testenv.DemoPassword)

	r := c.get("/admin/organization/security-defaults/confirm?enable=true")
	if !strings.Contains(r.body, "This closes 1 open session now (1 IMAP4).") {
		t.Errorf("the confirmation doesn't count Pilar's open session:\n%s", r.body)
	}
	got := flashOf(t, c, c.post("/admin/organization/security-defaults", url.Values{"enable": {"true"}}))
	if want := "Security defaults are on. POP3 and IMAP4 are blocked for every mailbox. 1 open session (1 IMAP4) was closed."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if bye := session.waitBye(t); !strings.HasPrefix(bye, "* BYE") {
		t.Errorf("Pilar's session: got %q; want BYE", bye)
	}
	r = c.get("/admin/recipients/mailboxes?search=Pilar")
	if !strings.Contains(r.body, `<span class="state-blocked">Blocked by security defaults</span>`) {
		t.Errorf("the list doesn't say Blocked by security defaults")
	}
	r = c.get("/admin/recipients/mailboxes/edit?section=features&id=" + guidOf(t, env, "Pilar Pinilla"))
	if !strings.Contains(r.body, "Security defaults are on") || !strings.Contains(r.body, `POP3: <span data-state="pop">Enabled</span>`) {
		t.Errorf("the dialog under security defaults must show the kept setting and say why it doesn't apply")
	}
	if answer := pop3Login(t, env.Addr("pop3"), "pilar@contoso.com", testenv.DemoPassword); answer != "-ERR [SYS/PERM] POP3 is blocked by your organization's security defaults. Contact your administrator." {
		t.Errorf("POP3 login under security defaults: got %q", answer)
	}
	// Turning them on again is a no-op with Exchange's warning.
	if r := c.get("/admin/organization/security-defaults/confirm?enable=true"); r.status != http.StatusSeeOther {
		t.Errorf("confirm a no-op: got %d; want 303 back with a warning", r.status)
	}
	r = c.get("/admin/organization/security-defaults/confirm?enable=false")
	if !strings.Contains(r.body, "follow each mailbox") {
		t.Errorf("the off confirmation doesn't say what it does")
	}
	got = flashOf(t, c, c.post("/admin/organization/security-defaults", url.Values{"enable": {"false"}}))
	if !strings.HasPrefix(got, "Security defaults are off.") {
		t.Errorf("flash: got %q", got)
	}

	// The CAS mailbox plan.
	c.get("/admin/organization/mailbox-plan")
	got = flashOf(t, c, c.post("/admin/organization/mailbox-plan", url.Values{"imap": {"on"}}))
	if want := "Saved the CAS mailbox plan: new mailboxes start with POP3 disabled. Existing mailboxes keep their settings."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	got = flashOf(t, c, c.post("/admin/organization/mailbox-plan", url.Values{"imap": {"on"}}))
	if want := "The command completed successfully but no settings of 'Default' have been modified."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	flashOf(t, c, c.post("/admin/recipients/mailboxes/new", url.Values{"displayname": {"Fay Lin"}, "password": {"Secret-Pass-1"}, "confirm": {"Secret-Pass-1"}}))
	if m := casOf(t, env, "Fay Lin"); m.PopEnabled || !m.ImapEnabled {
		t.Errorf("a new mailbox after the plan change: PopEnabled=%v ImapEnabled=%v; want false, true", m.PopEnabled, m.ImapEnabled)
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Errorf("an existing mailbox changed with the plan")
	}
}

func TestPermissionsPage(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	c.get("/admin/permissions/admin-roles?group=Help+Desk")
	got := flashOf(t, c, c.post("/admin/permissions/admin-roles/add-member", url.Values{"group": {"Help Desk"}, "member": {"christa@contoso.com"}}))
	if want := "Added Christa Knapp to Help Desk."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	r := c.get("/admin/permissions/admin-roles?group=Help+Desk")
	if !strings.Contains(r.body, "Christa Knapp") || !strings.Contains(r.body, "Reset Password") {
		t.Errorf("Help Desk doesn't list its new member and its roles")
	}
	// Christa may now sign in to the admin center.
	signedIn(t, env, "christa@contoso.com", testenv.DemoPassword)
	got = flashOf(t, c, c.post("/admin/permissions/admin-roles/add-member", url.Values{"group": {"Help Desk"}, "member": {"christa@contoso.com"}}))
	if !strings.Contains(got, "is already a member of the group") {
		t.Errorf("adding twice: got %q", got)
	}
	got = flashOf(t, c, c.post("/admin/permissions/admin-roles/add-member", url.Values{"group": {"Help Desk"}, "member": {"Christa*"}}))
	if !strings.Contains(got, "matches multiple entries") {
		t.Errorf("adding an ambiguous name: got %q", got)
	}
	got = flashOf(t, c, c.post("/admin/permissions/admin-roles/remove-member", url.Values{"group": {"Help Desk"}, "member": {"christa@contoso.com"}}))
	if want := "Removed Christa Knapp from Help Desk."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	got = flashOf(t, c, c.post("/admin/permissions/admin-roles/remove-member", url.Values{"group": {"Organization Management"}, "member": {"admin@contoso.com"}}))
	if !strings.Contains(got, "last member of Organization Management") {
		t.Errorf("removing the last admin: got %q", got)
	}
	if r := c.get("/admin/permissions/admin-roles?group=Nobody"); r.status != http.StatusNotFound {
		t.Errorf("an unknown role group: got %d; want 404", r.status)
	}
}

func TestAuditLogPage(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	c.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"false"}, "orig_pop": {"true"}, "imap": {"true"}, "orig_imap": {"true"}})
	// A refused change is audited too.
	holly := signedIn(t, env, "holly@contoso.com", testenv.DemoPassword)
	holly.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "imap": {"false"}, "orig_imap": {"true"}, "pop": {"false"}, "orig_pop": {"false"}})

	r := c.get("/admin/auditing/admin-audit-log?cmdlet=Set-CASMailbox&result=success")
	text := html.UnescapeString(r.body)
	for _, want := range []string{"PopEnabled: True → False", "admin@contoso.com", "admincenter", "-Identity " + christa, "Succeeded"} {
		if !strings.Contains(text, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(text, "holly@contoso.com") {
		t.Errorf("result=success shows a failure")
	}
	r = c.get("/admin/auditing/admin-audit-log?result=failure&caller=holly@contoso.com")
	if !strings.Contains(html.UnescapeString(r.body), "needs the 'Mail Recipients' role") {
		t.Errorf("the refused change isn't in the log with its reason")
	}
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{"start=2026-13-01", "Enter the start date as a date like 2026-05-01.", 400},
		{"start=2026-05-02&end=2026-05-01", "The EndDate must be later than the StartDate.", 400},
		{"start=2000-01-01&end=2000-01-02", "0 records.", 200},
		// Admin's change and Holly's refusal, which the admin center sent with the GUID.
		{"object=Christa+Knapp&cmdlet=Set-CASMailbox", "2 records.", 200},
		{"object=christa@contoso.com&cmdlet=Set-CASMailbox&result=failure", "1 record.", 200},
		{"cmdlet=Format-Disk", "Christa Knapp", 200}, // an unknown cmdlet filters nothing
	} {
		r := c.get("/admin/auditing/admin-audit-log?" + tc.query)
		if r.status != tc.status || !strings.Contains(html.UnescapeString(r.body), tc.want) {
			t.Errorf("%s: got %d; want %d with %q", tc.query, r.status, tc.status, tc.want)
		}
	}
}

func TestReports(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	if r := c.get("/admin/reports/email-apps?period=5"); r.status != 400 || !strings.Contains(r.body, "The period must be 7, 30, 90 or 180 days") {
		t.Errorf("period 5: got %d; want 400 with the allowed periods", r.status)
	}
	r := c.get("/admin/reports/email-apps.csv?period=7")
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!regexp.MustCompile(`^attachment; filename="email-apps-usage-7d-\d{4}-\d\d-\d\d\.csv"$`).MatchString(r.header.Get("Content-Disposition")) {
		t.Errorf("CSV: got %d %q %q", r.status, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) < 1 || strings.Join(rows[0], ",") != "UserPrincipalName,DisplayName,PopEnabled,ImapEnabled,PopAccess,ImapAccess,LastPopDate,LastImapDate,PopLogins,ImapLogins,PopRefused,ImapRefused,FailedLogins,LastSmtpDate,SmtpLogins,SmtpRefused" {
		t.Errorf("CSV header: got %v, %v", rows, err)
	}
	r = c.get("/admin/reports/email-apps.svg?period=30")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "image/svg+xml") {
		t.Fatalf("chart: got %d %q", r.status, r.header.Get("Content-Type"))
	}
	dec := xml.NewDecoder(strings.NewReader(r.body))
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("chart: got %d lines; want 2 (POP3 and IMAP4)", lines)
	}
}

func TestMailboxListSearchSortAndPaging(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	admin := adminCaller(t, env)
	for i := range 120 {
		name := "Zed " + string(rune('A'+i/26)) + string(rune('a'+i%26))
		if _, _, err := env.Service.NewMailbox(context.Background(), admin, service.NewMailboxRequest{Name: name, Password: "Secret-Pass-1"}); err != nil {
			t.Fatal(err)
		}
	}
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	rowNames := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<td class="name"><span class="clip" title="[^"]*">([^<]*)</span></td>`).FindAllStringSubmatch(body, -1) {
			out = append(out, html.UnescapeString(m[1]))
		}
		return out
	}
	r := c.get("/admin/recipients/mailboxes")
	if names := rowNames(r.body); len(names) != 100 || names[0] != "Administrator" {
		t.Errorf("first page: got %d rows starting %q; want 100 starting Administrator", len(names), names[0])
	}
	if !strings.Contains(r.body, "0</span> selected of 130 total; showing 1&ndash;100") || !strings.Contains(r.body, `href="/admin/recipients/mailboxes?page=2" rel="next"`) {
		t.Errorf("first page: no status or no Next link")
	}
	r = c.get("/admin/recipients/mailboxes?page=2")
	if names := rowNames(r.body); len(names) != 30 || !strings.Contains(r.body, "showing 101&ndash;130") {
		t.Errorf("second page: got %d rows; want 30", len(names))
	}
	r = c.get("/admin/recipients/mailboxes?page=99")
	if !strings.Contains(r.body, "Page 2 of 2") {
		t.Errorf("a page past the end: want the last page")
	}
	r = c.get("/admin/recipients/mailboxes?search=chr")
	if names := rowNames(r.body); strings.Join(names, ",") != "Christa Knapp,Christa Lee" {
		t.Errorf("search chr: got %v; want Christa Knapp, Christa Lee", names)
	}
	r = c.get("/admin/recipients/mailboxes?search=nothing-like-this")
	if !strings.Contains(r.body, "No mailboxes match \"nothing-like-this\".") {
		t.Errorf("a search without matches doesn't say so")
	}
	r = c.get("/admin/recipients/mailboxes?sort=PrimarySmtpAddress&desc=1")
	if names := rowNames(r.body); names[0] != "Zed Ep" {
		t.Errorf("sorted by address, descending: got %q first; want Zed Ep", names[0])
	}
	if !strings.Contains(r.body, `<th scope="col" aria-sort="descending"><a href="/admin/recipients/mailboxes?sort=PrimarySmtpAddress">Email address`) {
		t.Errorf("the sorted column isn't marked aria-sort=descending with a link to ascending")
	}
	// Hostile list parameters are ignored or refused, never an error page.
	for _, q := range []string{"sort=Password", "sort=1;DROP+TABLE+mailboxes", "page=-4", "page=abc", "desc=yes",
		"search=%27%3B+DROP+TABLE+mailboxes%3B--", "search=" + strings.Repeat("x", 5000), "id=%00"} {
		if r := c.get("/admin/recipients/mailboxes?" + q); r.status != 200 && r.status != 404 {
			t.Errorf("%s: got %d; want 200 (or 404 for a selection that matches nothing)", q, r.status)
		}
	}
}
