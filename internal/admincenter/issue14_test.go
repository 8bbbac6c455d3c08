package admincenter_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// Issue 14: what an administrator met in the browser, each with the
// journey that showed it.

// mailboxExists says whether the service still has the mailbox.
func mailboxExists(t *testing.T, env *testenv.Env, name string) bool {
	t.Helper()
	_, err := env.Service.GetMailbox(context.Background(), adminCaller(t, env), name)
	return err == nil
}

// TestBrowserDestructiveDialogsStartOnSafeChoice: select a mailbox, press
// Delete, then Enter: the dialog starts on No, so Enter keeps the mailbox.
// The same for "Turn on security defaults" (Cancel) and a Bulk Edit that
// disables (Cancel); one that enables starts on OK.
func TestBrowserDestructiveDialogsStartOnSafeChoice(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)

	b.clickRow("Ben Andrews")
	b.waitPane("Ben Andrews")
	b.keyLoads(kb.Delete)
	if got := b.text("#dialog-title"); got != "Delete mailbox" {
		t.Fatalf("Delete opened %q; want the Delete mailbox dialog", got)
	}
	if got := b.focused(); got != "#cancel" {
		t.Errorf("Delete mailbox: focus on %q; want No (#cancel)", got)
	}
	b.keyLoads(kb.Enter)
	if !mailboxExists(t, env, "Ben Andrews") {
		t.Fatal("Delete, then Enter, deleted the mailbox")
	}
	if !strings.Contains(b.location(), "/admin/recipients/mailboxes?") {
		t.Errorf("Enter on No: at %s; want the list", b.location())
	}

	b.open(env.URL() + "/admin/organization/security-defaults")
	b.clickRoleLoads("button", "Turn on security defaults")
	if got := b.focused(); got != "#cancel" {
		t.Errorf("Turn on security defaults: focus on %q; want Cancel", got)
	}
	b.keyLoads(kb.Enter)
	if got := b.text("#sd-state"); got != "Security defaults: Off" {
		t.Errorf("Enter in the confirmation: %q; want them still off", got)
	}

	ben, kim := guidOf(t, env, "Ben Andrews"), guidOf(t, env, "Kim Akers")
	b.open(env.URL() + "/admin/recipients/mailboxes/bulk?protocol=pop3&action=disable&id=" + ben + "&id=" + kim)
	if got := b.focused(); got != "#cancel" {
		t.Errorf("Bulk Edit: Disable POP3: focus on %q; want Cancel", got)
	}
	b.keyLoads(kb.Enter)
	if m := casOf(t, env, "Ben Andrews"); !m.PopEnabled {
		t.Error("Enter in Bulk Edit: Disable POP3 disabled it")
	}
	b.open(env.URL() + "/admin/recipients/mailboxes/bulk?protocol=pop3&action=enable&id=" + ben + "&id=" + kim)
	if got := b.focused(); got != "#ok" {
		t.Errorf("Bulk Edit: Enable POP3: focus on %q; want OK", got)
	}
}

// TestBrowserKeyboardHelpIsTrue: "?" opens the keyboard shortcuts, and
// Space activates the Enable/Disable links as the help says.
func TestBrowserKeyboardHelpIsTrue(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.keyLoads("?")
	if !strings.HasSuffix(b.location(), "/admin/help/keyboard-shortcuts") {
		t.Fatalf("?: at %s; want the keyboard shortcuts", b.location())
	}
	if got := b.text("#shortcuts"); !strings.Contains(got, "?") {
		t.Errorf("the shortcuts don't list ?: %q", got)
	}
	// "?" typed into the search box is a character, not the shortcut.
	b.open(env.URL() + "/admin/recipients/mailboxes")
	b.slash()
	b.key("?")
	if got := eval[string](b, `document.getElementById("search").value`); got != "?" {
		t.Errorf("? in the search box: value %q; want ?", got)
	}

	b.open(env.URL() + "/admin/recipients/mailboxes/edit?section=features&id=" + guidOf(t, env, "Christa Knapp"))
	b.do("focus POP3's Disable", chromedp.Focus("#pop-toggle"))
	b.key(" ")
	b.waitFor("POP3: Disabled", `document.getElementById("pop-state").textContent.trim() === "POP3: Disabled"`)
	if got := eval[float64](b, `window.scrollY`); got != 0 {
		t.Errorf("Space scrolled the dialog to %v", got)
	}
	// Space on Cancel leaves without saving.
	b.do("focus Cancel", chromedp.Focus("#cancel"))
	b.keyLoads(" ")
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Error("Space on Cancel saved the change")
	}
}

// TestBrowserErrorPagesHaveTheirOwnTitle: a missing page is titled by what
// happened, not "Keyboard shortcuts".
func TestBrowserErrorPagesHaveTheirOwnTitle(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.allowConsole("the server responded with a status of 404")
	b.allowConsole("the server responded with a status of 400")
	for _, c := range []struct{ path, title string }{
		{"/admin/no-such-page", "Page not found"},
		{"/admin/recipients/mailboxes/edit", "Select one mailbox"},
		{"/admin/recipients/mailboxes/edit?id=nobody-at-all", "Not found"},
	} {
		b.open(env.URL() + c.path)
		if got := b.text("#error-title"); got != c.title {
			t.Errorf("%s: heading %q; want %q", c.path, got, c.title)
		}
		if got := eval[string](b, `document.title`); !strings.HasPrefix(got, c.title+" - ") {
			t.Errorf("%s: title %q; want %q first", c.path, got, c.title)
		}
		if got := eval[string](b, `document.getElementById("main").innerText`); strings.Contains(got, "Keyboard shortcuts") {
			t.Errorf("%s: the page says Keyboard shortcuts: %q", c.path, got)
		}
	}
}

// TestBrowserStaleDetailsNeverShown: while the answer for the new
// selection is slow, the pane does not show the previous mailbox (nor its
// Edit link), and an answer for an earlier selection never paints over it.
func TestBrowserStaleDetailsNeverShown(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	kim := guidOf(t, env, "Kim Akers")
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.clickRow("Ben Andrews")
	b.waitPane("Ben Andrews")
	// Hold every details answer that selects Kim Akers alone until the
	// test lets it go.
	eval[bool](b, `(function(){ var real = window.fetch; window.__held = [];
		window.fetch = function(u, o){ return real(u, o).then(function(r){
			if (String(u).indexOf("id=`+kim+`") < 0 || String(u).indexOf("&id=") >= 0 && String(u).split("id=").length > 2) return r;
			return new Promise(function(res){ window.__held.push(function(){ res(r); }); }); }); };
		return true})()`)
	b.clickRow("Kim Akers")
	b.waitFor("Kim's answer held", `window.__held.length === 1`)
	if got := eval[string](b, `document.getElementById("details").innerText`); strings.Contains(got, "Ben Andrews") {
		t.Errorf("while Kim Akers loads, the pane shows Ben Andrews: %q", got)
	}
	if got := eval[int](b, `document.querySelectorAll("#details a").length`); got != 0 {
		t.Errorf("while Kim Akers loads, the pane has %d links (Edit of the previous mailbox)", got)
	}
	// Now David Longmuir; Kim's answer arrives after his.
	b.clickRow("David Longmuir")
	b.waitPane("David Longmuir")
	eval[bool](b, `(window.__held.forEach(function(f){ f(); }), true)`)
	b.do("let the late answer land", chromedp.Sleep(300*1e6))
	if got := b.text("#details-title"); got != "David Longmuir" {
		t.Errorf("after the late answer for Kim Akers: the pane shows %q; want David Longmuir", got)
	}
	if href := eval[string](b, `(document.querySelector("#details a")||{}).href||""`); !strings.Contains(href, guidOf(t, env, "David Longmuir")) {
		t.Errorf("the pane's Edit link: %q; want David Longmuir's", href)
	}
}

// clearCookies drops the browser's cookies, as it does when the session
// cookie's lifetime ends.
func (b *tab) clearCookies() {
	b.t.Helper()
	b.do("clear the cookies", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
}

// TestBrowserExpiredSessionKeepsTheChange: the session ends while the User
// Mailbox dialog has a pending Disable; Save leads to the sign-in page,
// which says the change was not saved; after signing in the dialog shows
// the pending change again, and Save applies it.
func TestBrowserExpiredSessionKeepsTheChange(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	openUserMailbox(b, "Christa Knapp")
	b.click("#pop-toggle")
	b.waitFor("POP3: Disabled", `document.getElementById("pop-state").textContent.trim() === "POP3: Disabled"`)
	b.clearCookies()
	b.clickRoleLoads("button", "Save")
	if got := b.text("#unsaved"); !strings.Contains(got, "nothing was changed") {
		t.Errorf("sign-in page: %q; want it to say the change was not saved", got)
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Fatal("the change was applied without a session")
	}
	b.do("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), testenv.AdminPassword))
	b.keyLoads(kb.Enter)
	if got := b.text("#dialog-title"); got != "Christa Knapp" {
		t.Fatalf("after sign-in: %q at %s; want Christa Knapp's dialog", got, b.location())
	}
	if got := b.text("#pop-state"); got != "POP3: Disabled" {
		t.Errorf("after sign-in: %q; want the pending POP3: Disabled", got)
	}
	if got := b.text("#flash"); !strings.Contains(got, "has not been saved") {
		t.Errorf("after sign-in, the dialog says %q; want that the change is not saved yet", got)
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Fatal("the change was applied before Save")
	}
	b.clickRoleLoads("button", "Save")
	if got := b.text("#flash"); got != "Saved Christa Knapp: POP3 disabled." {
		t.Errorf("after Save: %q", got)
	}
	if m := casOf(t, env, "Christa Knapp"); m.PopEnabled {
		t.Error("Save after sign-in didn't apply the change")
	}

	// A Delete confirmed after the session ended deletes nothing and asks again.
	b.clickRow("Ben Andrews")
	b.waitPane("Ben Andrews")
	b.clickRoleLoads("button", "Delete")
	b.clearCookies()
	b.clickRoleLoads("button", "Yes")
	b.text("#unsaved")
	b.do("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), testenv.AdminPassword))
	b.keyLoads(kb.Enter)
	if got := b.text("#dialog-title"); got != "Delete mailbox" {
		t.Fatalf("after sign-in: %q; want the Delete mailbox confirmation again", got)
	}
	if !mailboxExists(t, env, "Ben Andrews") {
		t.Fatal("the mailbox was deleted without confirmation in the new session")
	}
	if got := b.text("#flash"); !strings.Contains(got, "nothing was changed") {
		t.Errorf("the confirmation says %q", got)
	}
}

// TestBrowserSearchMatchesAnyWord: the search box finds a mailbox by any
// word of its display name, name, alias or addresses, not only the first.
func TestBrowserSearchMatchesAnyWord(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	rows := func() string {
		return eval[string](b, `Array.from(document.querySelectorAll("#mailbox-list tbody td.name")).map(e => e.textContent).join(", ")`)
	}
	for _, c := range []struct{ search, want string }{
		{"Knapp", "Christa Knapp"},
		{"knapp", "Christa Knapp"},
		{"Christa Knapp", "Christa Knapp"},
		{"Lee", "Christa Lee"},
		{"contoso.com", "Ben Andrews, Christa Knapp, Christa Lee, David Longmuir, Kim Akers, Pilar Pinilla"},
	} {
		b.open(env.URL() + "/admin/recipients/mailboxes")
		b.slash()
		b.do("type "+c.search, chromedp.KeyEvent(c.search))
		b.keyLoads(kb.Enter)
		got := rows()
		if c.search == "contoso.com" {
			// Every demo address is @contoso.com.
			if n := eval[int](b, `document.querySelectorAll("#mailbox-list tbody tr[data-id]").length`); n != 10 {
				t.Errorf("search %q: %d rows (%s); want all 10", c.search, n, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("search %q: got %q; want %q", c.search, got, c.want)
		}
	}
}

// TestBrowserAuditFindsRefusals: a refused change sent with a GUID (as the
// admin center sends it) is found by the mailbox's display name, address
// and GUID, and shown with them.
func TestBrowserAuditFindsRefusals(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	holly := signedIn(t, env, "holly@contoso.com", testenv.DemoPassword)
	if r := holly.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "orig_pop": {"true"}, "pop": {"false"},
		"orig_imap": {"true"}, "imap": {"true"}}); r.status != 403 {
		t.Fatalf("Help Desk's forced change: status %d; want 403", r.status)
	}
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	for _, object := range []string{"Christa Knapp", "christa@contoso.com", christa} {
		b.open(env.URL() + "/admin/auditing/admin-audit-log?result=failure&object=" + url.QueryEscape(object))
		got := b.text("#audit tbody")
		if !strings.Contains(got, "Failed") || !strings.Contains(got, "Set-CASMailbox") {
			t.Errorf("object %q: the refusal is missing: %q", object, got)
			continue
		}
		for _, want := range []string{"Christa Knapp", "christa@contoso.com", christa} {
			if !strings.Contains(got, want) {
				t.Errorf("object %q: the refusal's row lacks %q: %q", object, want, got)
			}
		}
	}
}

// TestBrowserOwnSettingUnderSecurityDefaults: with security defaults on,
// the list, the details pane and the CSV export show each mailbox's own
// POP3/IMAP4 setting and that security defaults block it.
func TestBrowserOwnSettingUnderSecurityDefaults(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	admin := adminCaller(t, env)
	off := false
	if _, err := env.Service.SetCASMailbox(context.Background(), admin, service.SetCASMailboxRequest{Identity: "Christa Knapp", PopEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := env.Service.SetOrganizationConfig(context.Background(), admin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	// Some use, for the report's rows.
	pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword)
	env.Recorder.Flush()

	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	cells := func(name string) string {
		return eval[string](b, `Array.from(document.querySelectorAll("#mailbox-list tbody tr")).filter(r => r.querySelector("td.name").textContent === `+jsString(name)+`)
			.map(r => r.children[3].innerText + " | " + r.children[4].innerText)[0] || ""`)
	}
	for name, want := range map[string][]string{
		"Christa Knapp": {"Disabled", "Blocked by security defaults", "Enabled"},
		"Ben Andrews":   {"Enabled", "Blocked by security defaults"},
	} {
		got := cells(name)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s's POP3 | IMAP4 cells: %q lack %q", name, got, w)
			}
		}
	}
	if got := cells("Christa Knapp"); !strings.HasPrefix(got, "Disabled") {
		t.Errorf("Christa Knapp's POP3 cell: %q; want her own setting, Disabled, first", got)
	}
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	if got := b.text("[data-details-pop]"); !strings.Contains(got, "Disabled") || !strings.Contains(got, "Blocked by security defaults") {
		t.Errorf("details pane, POP3: %q; want Disabled and Blocked by security defaults", got)
	}
	if got := b.text("[data-details-imap]"); !strings.Contains(got, "Enabled") || !strings.Contains(got, "Blocked by security defaults") {
		t.Errorf("details pane, IMAP4: %q; want Enabled and Blocked by security defaults", got)
	}

	c := signedIn(t, env, "admin", testenv.AdminPassword)
	r := c.get("/admin/reports/email-apps.csv?period=7")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("CSV: %v, %v", rows, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	found := false
	for _, row := range rows[1:] {
		if row[col["DisplayName"]] != "Christa Knapp" {
			continue
		}
		found = true
		if got := row[col["PopEnabled"]] + "," + row[col["ImapEnabled"]] + "," + row[col["PopAccess"]] + "," + row[col["ImapAccess"]]; got != "False,True,Blocked by security defaults,Blocked by security defaults" {
			t.Errorf("CSV row of Christa Knapp: %q", got)
		}
	}
	if !found {
		t.Errorf("CSV: no row for Christa Knapp: %v", rows)
	}
}

// brokenWordsJS lists the words of the page that the layout broke over two
// lines (a word is what lies between spaces; a break right after a hyphen
// is a word's own break). Hidden text (visually-hidden labels, option
// lists) has no lines and is left out.
const brokenWordsJS = `(function(){
	var out = [], w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (var n = w.nextNode(); n; n = w.nextNode()) {
		var el = n.parentElement;
		if (!el || el.closest(".visually-hidden, .pane-title, .skip, select, script, style, [hidden]")) continue;
		var re = /[^\s-]+-*/g, m;
		while ((m = re.exec(n.data))) {
			var r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
			var rects = Array.from(r.getClientRects()).filter(function(x){ return x.width > 0.5 && x.height > 0.5 });
			for (var i = 1; i < rects.length; i++) {
				if (Math.abs(rects[i].top - rects[0].top) > 2) { out.push(m[0] + " (in " + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + ")"); break }
			}
		}
	}
	return out })()`

// layoutWidths are the window widths the admin center is laid out for.
var layoutWidths = []int64{1024, 1366, 1920, 2560}

// TestBrowserLayoutWidths lays out the list pages at each width: the page
// is never wider than the window (wide tables scroll inside themselves),
// the list never runs under the details pane, and names are never broken
// mid-word (a long one is cut with an ellipsis and has the full text as
// its title). GATEHOUSE_SCREENSHOTS=DIR keeps the screenshots to look at.
func TestBrowserLayoutWidths(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	admin := adminCaller(t, env)
	long := "Maximiliane Alexandra Wolkenstein-Rodenegg von Trostburg"
	if _, _, err := env.Service.NewMailbox(context.Background(), admin, service.NewMailboxRequest{Name: "mawr", DisplayName: long,
		PrimarySmtpAddress: "maximiliane.alexandra.wolkenstein-rodenegg@contoso.com", Password: "Long-Name-2026!"}); err != nil {
		t.Fatal(err)
	}
	// Audit records with long parameters, as the audit log page had.
	for range 3 {
		env.Service.SetCASMailbox(context.Background(), admin, service.SetCASMailboxRequest{Identity: long, PopEnabled: new(bool)})
		on := true
		env.Service.SetCASMailbox(context.Background(), admin, service.SetCASMailboxRequest{Identity: long, PopEnabled: &on})
	}
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	// The sign-in page, before signing in.
	b := newTab(t)
	for _, w := range layoutWidths {
		b.do(fmt.Sprintf("window %d px", w), chromedp.EmulateViewport(w, 900))
		b.open(env.URL() + "/admin/")
		b.text("#username")
		b.screenshot(filepath.Join(dir, fmt.Sprintf("signin-%d.png", w)))
		if got := eval[float64](b, `document.documentElement.scrollWidth`); got > float64(w) {
			t.Errorf("sign-in at %d px: the page is %v px wide", w, got)
		}
		if broken := eval[[]string](b, brokenWordsJS); len(broken) > 0 {
			t.Errorf("sign-in at %d px: words broken over two lines: %q", w, broken)
		}
	}
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	mawr := guidOf(t, env, long)
	// The pages added after TestAxe was written (Queue, Migration, the
	// quota dialog) are scanned with axe-core here, at 1024, 1366 and 1920 px.
	src := axeSource(t)
	pages := []struct {
		name, path, ready string
		axe               bool
	}{
		{"mailboxes", "/admin/recipients/mailboxes?id=" + mawr, "#details-title", false},
		{"bulk-edit", "/admin/recipients/mailboxes?id=" + mawr + "&id=" + guidOf(t, env, "Christa Knapp"), "#details-title", false},
		{"audit-log", "/admin/auditing/admin-audit-log", "#audit-status", false},
		{"email-apps-usage", "/admin/reports/email-apps", "#report-summary", false},
		{"admin-roles", "/admin/permissions/admin-roles?group=Organization+Management", ".details-title", false},
		{"queue", "/admin/mail-flow/queue", "#queue-state", true},
		{"migration", "/admin/recipients/migration", "#new-batch", true},
		{"migration-new", "/admin/recipients/migration/new", "#mig-server", true},
		// The dialogs.
		{"edit-features", "/admin/recipients/mailboxes/edit?section=features&id=" + mawr, "#pop-state", false},
		{"email-apps", "/admin/recipients/mailboxes/email-apps?id=" + mawr, "#dialog-title", false},
		{"quota", "/admin/recipients/mailboxes/quota?id=" + mawr, "#dialog-title", true},
		{"delete", "/admin/recipients/mailboxes/remove?id=" + mawr, "#dialog-title", false},
		{"security-defaults-on", "/admin/organization/security-defaults/confirm?enable=true", "#dialog-title", false},
	}
	for _, w := range layoutWidths {
		b.do(fmt.Sprintf("window %d px", w), chromedp.EmulateViewport(w, 900))
		for _, p := range pages {
			b.open(env.URL() + p.path)
			b.text(p.ready)
			b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-%d.png", p.name, w)))
			if got := eval[float64](b, `document.documentElement.scrollWidth`); got > float64(w) {
				t.Errorf("%s at %d px: the page is %v px wide", p.name, w, got)
			}
			if broken := eval[[]string](b, brokenWordsJS); len(broken) > 0 {
				t.Errorf("%s at %d px: words broken over two lines: %q", p.name, w, broken)
			}
			if overlap := eval[float64](b, `(function(){var l=document.querySelector(".listpane"), d=document.querySelector(".details");
				if(!l||!d) return 0; var s=l.querySelector(".table-scroll")||l; return s.getBoundingClientRect().right - d.getBoundingClientRect().left})()`); overlap > 0 {
				t.Errorf("%s at %d px: the list runs %v px under the details pane", p.name, w, overlap)
			}
			// A button with an icon is one line high.
			if tall := eval[[]string](b, `Array.from(document.querySelectorAll("a.button, button")).filter(function(e){
				return e.getClientRects().length && e.querySelector(".icon") && e.getBoundingClientRect().height > 2 * (parseFloat(getComputedStyle(e).lineHeight) || 20)
				}).map(function(e){ return e.textContent.trim() })`); len(tall) > 0 {
				t.Errorf("%s at %d px: buttons over two lines: %q", p.name, w, tall)
			}
			if p.axe && w <= 1920 {
				b.axe(src, fmt.Sprintf("%s at %d px", p.name, w))
			}
		}
		// In the list, each name and address is on one line; a cut one
		// keeps its full text in its title.
		b.open(env.URL() + "/admin/recipients/mailboxes?id=" + mawr)
		b.text("#details-title")
		bad := eval[[]string](b, `Array.from(document.querySelectorAll("#mailbox-list tbody td")).filter(function(td){
			var lh = parseFloat(getComputedStyle(td).lineHeight) || 20; var c = td.querySelector(".clip");
			var broken = td.getClientRects().length && (td.clientHeight - parseFloat(getComputedStyle(td).paddingTop) - parseFloat(getComputedStyle(td).paddingBottom)) > 1.5*lh && !td.querySelector(".effective");
			var cut = c && c.scrollWidth > c.clientWidth && c.title !== c.textContent;
			return broken || cut }).map(function(td){ return td.innerText })`)
		if len(bad) > 0 {
			t.Errorf("at %d px, cells broken over lines or cut without their full text: %q", w, bad)
		}
		if got := eval[string](b, `document.getElementById("details-title").title`); got != long {
			t.Errorf("at %d px: the details title's full text: %q", w, got)
		}
	}
}
