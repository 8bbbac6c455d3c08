package admincenter_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// Issue 14, item 12: closer to the classic EAC.

// menuOpen says whether the "..." menu is shown.
func menuOpen(b *tab) bool {
	return eval[bool](b, `!document.getElementById("more-menu").hidden && document.getElementById("tb-more").getAttribute("aria-expanded") === "true"`)
}

// TestBrowserMoreMenuByKeyboard: the "..." of the Mailboxes toolbar is a
// menu button (WAI-ARIA): Enter opens it on its first item, the arrows,
// Home and End move, Escape closes it and returns to the button, Up opens
// it on the last item, Enter on an item follows it; the mouse opens and
// closes it too.
func TestBrowserMoreMenuByKeyboard(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.text("#mailbox-list")

	if got := eval[string](b, `document.getElementById("tb-more").getAttribute("aria-haspopup")`); got != "menu" {
		t.Fatalf("the ... button: aria-haspopup %q; want menu", got)
	}
	if menuOpen(b) {
		t.Fatal("the menu is open before it is asked for")
	}
	// The toolbar's arrow keys reach the button.
	b.do("focus Refresh", chromedp.Focus("#tb-refresh"))
	b.key(kb.ArrowRight)
	if got := b.focused(); got != "#tb-more" {
		t.Fatalf("Right from Refresh: focus on %q; want the ... button", got)
	}
	b.key(kb.Enter)
	if !menuOpen(b) || b.focused() != "#menu-export" {
		t.Fatalf("Enter on ...: open %v, focus %q; want the menu open on Export data to CSV", menuOpen(b), b.focused())
	}
	for _, step := range []struct{ key, want string }{
		{kb.ArrowDown, "#menu-advanced"}, {kb.ArrowDown, "#menu-export"}, {kb.ArrowUp, "#menu-advanced"},
		{kb.Home, "#menu-export"}, {kb.End, "#menu-advanced"}, {"e", "#menu-export"},
	} {
		b.key(step.key)
		if got := b.focused(); got != step.want {
			t.Errorf("%q in the menu: focus on %q; want %q", step.key, got, step.want)
		}
	}
	if got := eval[[]string](b, `Array.from(document.querySelectorAll('#more-menu [role="menuitem"]')).map(e => e.textContent.trim())`); strings.Join(got, "|") != "Export data to CSV|Advanced search" {
		t.Errorf("menu items: %v", got)
	}
	b.key(kb.Escape)
	if menuOpen(b) || b.focused() != "#tb-more" {
		t.Errorf("Escape: open %v, focus %q; want closed, on the button", menuOpen(b), b.focused())
	}
	if !strings.HasSuffix(b.location(), "/admin/recipients/mailboxes") {
		t.Errorf("Escape left the page: %s", b.location())
	}
	b.key(" ")
	if !menuOpen(b) || b.focused() != "#menu-export" {
		t.Errorf("Space on ...: open %v, focus %q; want the menu open on its first item", menuOpen(b), b.focused())
	}
	b.key(kb.Escape)
	b.key(kb.ArrowUp)
	if !menuOpen(b) || b.focused() != "#menu-advanced" {
		t.Fatalf("Up on ...: open %v, focus %q; want the last item", menuOpen(b), b.focused())
	}
	b.keyLoads(kb.Enter)
	if got := b.text("#dialog-title"); got != "Advanced search" {
		t.Fatalf("Enter on Advanced search opened %q", got)
	}
	if got := b.focused(); got != "#adv-name" {
		t.Errorf("Advanced search starts on %q; want Display name", got)
	}
	b.keyLoads(kb.Escape)
	if !strings.Contains(b.location(), "/admin/recipients/mailboxes") || strings.Contains(b.location(), "advanced") {
		t.Errorf("Escape in Advanced search: at %s; want the list", b.location())
	}

	// By mouse: a click opens, a click elsewhere closes.
	b.text("#mailbox-list")
	b.click("#tb-more")
	if !menuOpen(b) {
		t.Fatal("a click on ... did not open the menu")
	}
	b.click("#list-status")
	if menuOpen(b) {
		t.Error("a click elsewhere left the menu open")
	}
}

// TestBrowserAdvancedSearchAndExport: Advanced search finds by any part of
// the display name, alias or address and by each protocol's own and
// effective state; the list says what it searched; Export data to CSV
// writes every mailbox the list matches (not only a page) with both
// states; "Select all that match" applies to the advanced search too.
func TestBrowserAdvancedSearchAndExport(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	off := false
	admin := adminCaller(t, env)
	if _, err := env.Service.SetCASMailbox(context.Background(), admin, service.SetCASMailboxRequest{Identity: "Christa Lee", PopEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.text("#mailbox-list")
	b.click("#tb-more")
	b.clickLoads("#menu-advanced")
	b.do("fill the form",
		chromedp.SendKeys("#adv-name", "christa"),
		chromedp.SetValue("#adv-pop", "enabled"))
	b.clickLoads("#find")
	if got := b.text("#advanced-summary"); got != `Advanced search: Display name contains "christa"; POP3 setting: Enabled. Clear advanced search` {
		t.Errorf("summary: %q", got)
	}
	names := eval[[]string](b, `Array.from(document.querySelectorAll("#mailbox-list td.name")).map(e => e.textContent.trim())`)
	if strings.Join(names, "|") != "Christa Knapp" {
		t.Errorf("Display name contains christa, POP3 enabled: %v; want Christa Knapp", names)
	}

	// By alias and address, any part.
	b.open(env.URL() + "/admin/recipients/mailboxes/advanced-search")
	b.do("type an alias", chromedp.SendKeys("#adv-alias", "ta.le"))
	b.clickLoads("#find")
	if names := eval[[]string](b, `Array.from(document.querySelectorAll("#mailbox-list td.name")).map(e => e.textContent.trim())`); strings.Join(names, "|") != "Christa Lee" {
		t.Errorf("alias contains ta.le: %v", names)
	}
	b.open(env.URL() + "/admin/recipients/mailboxes/advanced-search")
	b.do("type an address", chromedp.SendKeys("#adv-address", "sales@"))
	b.clickLoads("#find")
	if names := eval[[]string](b, `Array.from(document.querySelectorAll("#mailbox-list td.name")).map(e => e.textContent.trim())`); strings.Join(names, "|") != "Kim Akers" {
		t.Errorf("address contains sales@ (Kim's other address): %v", names)
	}

	// The effective state follows security defaults.
	on := true
	if _, err := env.Service.SetOrganizationConfig(context.Background(), admin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	b.open(env.URL() + "/admin/recipients/mailboxes?popnow=allowed")
	if got := b.text("#mailbox-list tbody"); !strings.Contains(got, "No mailboxes match") {
		t.Errorf("POP3 allowed now, under security defaults: %q; want none", got)
	}
	b.open(env.URL() + "/admin/recipients/mailboxes?popnow=notallowed&pop=enabled")
	total := b.text("#list-status")
	if !strings.Contains(total, "0 selected of") || strings.Contains(total, "of 0 total") {
		t.Errorf("POP3 enabled but not allowed now: %q", total)
	}

	// Export: every mailbox the list matches, both states.
	b.open(env.URL() + "/admin/recipients/mailboxes?name=christa")
	b.text("#mailbox-list")
	href := eval[string](b, `document.getElementById("menu-export").href`)
	rows, err := csv.NewReader(strings.NewReader(fetchText(b, href))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0][:6], ",") != "DisplayName,PrimarySmtpAddress,PopEnabled,ImapEnabled,PopAccess,ImapAccess" {
		t.Fatalf("CSV: %v", rows)
	}
	for _, r := range rows[1:] {
		if r[0] == "Christa Lee" && (r[2] != "False" || r[4] != "Blocked by security defaults") {
			t.Errorf("Christa Lee's row: %v; want her own POP3 setting False and the effective state", r)
		}
		if r[0] == "Christa Knapp" && (r[2] != "True" || r[4] != "Blocked by security defaults") {
			t.Errorf("Christa Knapp's row: %v", r)
		}
	}

	// Select all that match carries the advanced search.
	b.click("#check-page")
	b.waitFor("both rows selected", `document.querySelectorAll('#mailbox-list tbody tr[aria-selected="true"]').length === 2`)
	if !eval[bool](b, `document.getElementById("select-all-bar").hidden`) {
		t.Error("the select-all bar offers more although the page holds every match")
	}
}

// TestMailboxesCSVPagesThroughEverything: the export is not cut at a page
// or at 1,000.
func TestMailboxesCSVPagesThroughEverything(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	seedBulk(t, env, 2500)
	c := signedIn(t, env, "victor@contoso.com", testenv.DemoPassword)
	r := c.get("/admin/recipients/mailboxes.csv?search=bulk")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="mailboxes-`) {
		t.Fatalf("export: %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2501 || rows[1][0] != "Bulk User 0001" || rows[2500][0] != "Bulk User 2500" {
		t.Errorf("export of 2,500: %d rows, first %v, last %v", len(rows), rows[1], rows[len(rows)-1])
	}
}

// TestBrowserRecentSignIns: the details pane shows a mailbox's last POP3
// and IMAP4 sign-in and its last refused attempts, each with its time,
// reason and client address, from the login records of real logins.
func TestBrowserRecentSignIns(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("POP3 login: %q", got)
	}
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", "not the password"); !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("POP3 with a wrong password: %q", got)
	}
	off := false
	if _, err := env.Service.SetCASMailbox(context.Background(), adminCaller(t, env), service.SetCASMailboxRequest{Identity: "Christa Knapp", ImapEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	if got := imapLoginAnswer(t, env.Addr("imap"), "christa@contoso.com", testenv.DemoPassword); !strings.Contains(got, "NO [CONTACTADMIN]") {
		t.Fatalf("IMAP4 login with IMAP4 disabled: %q", got)
	}
	env.Recorder.Flush()

	b := newTab(t)
	b.signIn(env.URL(), "holly@contoso.com", testenv.DemoPassword) // Help Desk: views recipients
	b.open(env.URL() + "/admin/recipients/mailboxes")
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	if got := b.text("#signins-title"); got != "Recent sign-ins" {
		t.Fatalf("details pane: %q", got)
	}
	if got := b.text("#signin-pop"); !strings.Contains(got, "UTC from 127.0.0.1:") {
		t.Errorf("last POP3 sign-in: %q", got)
	}
	if got := b.text("#signin-imap"); got != "None recorded" {
		t.Errorf("last IMAP4 sign-in: %q", got)
	}
	refusals := eval[[]string](b, `Array.from(document.querySelectorAll("#signin-refusals li")).map(e => e.innerText.replace(/\s+/g, " ").trim())`)
	if len(refusals) != 2 {
		t.Fatalf("refusals: %q; want 2", refusals)
	}
	if r := refusals[0]; !strings.HasPrefix(r, "IMAP4, ") || !strings.Contains(r, "from 127.0.0.1:") ||
		!strings.Contains(r, "Protocol disabled (IMAP4 access is disabled for this mailbox.") {
		t.Errorf("newest refusal: %q", r)
	}
	if r := refusals[1]; !strings.HasPrefix(r, "POP3, ") || !strings.Contains(r, "Invalid credentials (invalid credentials)") {
		t.Errorf("older refusal: %q", r)
	}
	// Another mailbox: none recorded.
	b.open(env.URL() + "/admin/recipients/mailboxes?id=" + guidOf(t, env, "Pilar Pinilla"))
	b.waitPane("Pilar Pinilla")
	if got := b.text("#signin-refusals"); got != "None recorded." {
		t.Errorf("Pilar's refusals: %q", got)
	}
}

// TestAdvancedSearchQuotes: a quote in a field is text, not the end of the
// filter; nothing typed makes the filter fail.
func TestAdvancedSearchQuotes(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	admin := adminCaller(t, env)
	if _, _, err := env.Service.NewMailbox(context.Background(), admin, service.NewMailboxRequest{Name: "obrien", DisplayName: "Conan O'Brien",
		PrimarySmtpAddress: "conan@contoso.com", Password: "Quote-Name-2026!"}); err != nil {
		t.Fatal(err)
	}
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	for _, tc := range []struct{ query, want string }{
		{"name=O%27Brien", "Conan O&#39;Brien"},
		{"name=%27+-or+Name+-like+%27*", "No mailboxes match the advanced search."},
		{"alias=obr&address=conan%40", "Conan O&#39;Brien"},
		{"name=100%25_x", "No mailboxes match the advanced search."},
	} {
		r := c.get("/admin/recipients/mailboxes?" + tc.query)
		if r.status != 200 || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d; want %q in the page", tc.query, r.status, tc.want)
		}
		if strings.Contains(tc.want, "No mailboxes") && strings.Contains(r.body, "Kim Akers") {
			t.Errorf("%s matched everyone", tc.query)
		}
	}
}
