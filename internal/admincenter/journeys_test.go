package admincenter_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// The browser journeys. Each follows its procedure in headless Chromium,
// finding controls by role and accessible name where the procedure names
// them, and fails on any JavaScript error.

// disabledText is what Exchange's procedure says a client meets.
const popDisabled = "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator."

// toMailboxes is step 1 of the procedure: "In the EAC, navigate to
// Recipients > Mailboxes."
func toMailboxes(b *tab) {
	b.t.Helper()
	b.clickRoleLoads("link", "Recipients")
	b.clickRoleLoads("link", "Mailboxes")
	if got := b.text(".tabs a[aria-current=page]"); got != "Mailboxes" {
		b.t.Fatalf("current tab: got %q; want Mailboxes", got)
	}
}

// openUserMailbox is steps 2 and 3: select the user, click Edit, and in
// the User Mailbox dialog's console tree click Mailbox Features.
func openUserMailbox(b *tab, name string) {
	b.t.Helper()
	b.clickRow(name)
	b.waitPane(name)
	b.clickRoleLoads("button", "Edit")
	if got := b.text("#dialog-kind"); got != "User Mailbox" {
		b.t.Fatalf("dialog: got %q; want the User Mailbox dialog", got)
	}
	if got := b.text("#dialog-title"); got != name {
		b.t.Fatalf("dialog title: got %q; want %q", got, name)
	}
	b.clickRole("link", "Mailbox Features")
	b.waitFor("the Mailbox Features page", `!document.querySelector('[data-panel="features"]').hidden`)
	if got := b.text("#email-connectivity"); got != "Email Connectivity" {
		b.t.Fatalf("result pane: got %q; want Email Connectivity", got)
	}
}

// waitPane waits until the details pane has the answer for the latest
// selection (aria-busy gone) and checks its title.
func (b *tab) waitPane(title string) {
	b.t.Helper()
	b.waitFor("the details pane", `!document.getElementById("details").hasAttribute("aria-busy")`)
	if got := b.text("#details-title"); got != title {
		b.t.Fatalf("details pane: got %q; want %q", got, title)
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestBrowserProcedure follows "Use the EAC to enable or disable POP3 or
// IMAP4 for a user" word for word, then logs in over POP3 as the user, and
// then does "How do you know this worked?".
func TestBrowserProcedure(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("POP3 before the procedure: got %q; want +OK", got)
	}
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)

	// 1. In the EAC, navigate to Recipients > Mailboxes.
	toMailboxes(b)
	// 2. In the result pane, select the user for which you want to enable
	// or disable POP3, and then click Edit.
	// 3. In the User Mailbox dialog box, in the console tree, click
	// Mailbox Features.
	openUserMailbox(b, "Christa Knapp")
	// 4. In the result pane, under Email Connectivity, ... To disable POP3
	// for the user, under POP3: Enabled, click Disable.
	pop := b.findRole(0, "group", "POP3: Enabled")
	b.do("click Disable under POP3: Enabled", clickNode(b.findRole(pop, "link", "Disable")))
	b.waitFor("POP3: Disabled", `document.getElementById("pop-state").textContent.trim() === "POP3: Disabled"`)
	if got := b.text("#pop-toggle"); got != "Enable" {
		t.Errorf("after Disable, the link: got %q; want Enable", got)
	}
	if got := b.text("#imap-state"); got != "IMAP4: Enabled" {
		t.Errorf("IMAP4: got %q; want IMAP4: Enabled", got)
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Fatal("Disable changed the mailbox before Save")
	}
	// 5. Click Save.
	b.clickRoleLoads("button", "Save")
	if got := b.text("#flash"); got != "Saved Christa Knapp: POP3 disabled." {
		t.Errorf("after Save: got %q", got)
	}

	// The user's POP3 client is refused, with the reason.
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); got != popDisabled {
		t.Errorf("POP3 login after the procedure: got %q; want %q", got, popDisabled)
	}

	// How do you know this worked?
	// 1. In the EAC, navigate to Recipients > Mailboxes.
	toMailboxes(b)
	// 2.-3. Select the user, click Edit; in the console tree click Mailbox
	// Features.
	openUserMailbox(b, "Christa Knapp")
	// 4. Look under Email Connectivity: POP3: Disabled.
	if got := b.text("#pop-state"); got != "POP3: Disabled" {
		t.Errorf("reopened: got %q; want POP3: Disabled", got)
	}
	if got := b.text("#imap-state"); got != "IMAP4: Enabled" {
		t.Errorf("reopened: got %q; want IMAP4: Enabled", got)
	}
	// 5. Click Save.
	b.clickRoleLoads("button", "Save")
	if got := b.location(); !strings.Contains(got, "/admin/recipients/mailboxes?") {
		t.Errorf("after the second Save: at %s; want the list", got)
	}
	if got := eval[int](b, `document.querySelectorAll("#flash").length`); got != 0 {
		t.Errorf("a Save without change shows a message")
	}

	// And back: enable POP3 the same way.
	openUserMailbox(b, "Christa Knapp")
	pop = b.findRole(0, "group", "POP3: Disabled")
	b.do("click Enable under POP3: Disabled", clickNode(b.findRole(pop, "link", "Enable")))
	b.clickRoleLoads("button", "Save")
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Errorf("POP3 after enabling again: got %q; want +OK", got)
	}
}

// TestBrowserCancelDiscards checks that Cancel (and Esc) leave the mailbox
// as it was.
func TestBrowserCancelDiscards(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	toMailboxes(b)
	openUserMailbox(b, "Ben Andrews")
	b.click("#imap-toggle")
	b.waitFor("IMAP4: Disabled", `document.getElementById("imap-state").textContent.trim() === "IMAP4: Disabled"`)
	b.clickRoleLoads("link", "Cancel")
	if m := casOf(t, env, "Ben Andrews"); !m.ImapEnabled {
		t.Error("Cancel saved the change")
	}
	openUserMailbox(b, "Ben Andrews")
	if got := b.text("#imap-state"); got != "IMAP4: Enabled" {
		t.Errorf("reopened after Cancel: got %q", got)
	}
	b.click("#pop-toggle")
	b.keyLoads(kb.Escape)
	if m := casOf(t, env, "Ben Andrews"); !m.PopEnabled {
		t.Error("Esc saved the change")
	}
}

// TestBrowserEmailAppsPanel uses Manage email apps settings from the
// General page of the dialog.
func TestBrowserEmailAppsPanel(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	toMailboxes(b)
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	b.clickRoleLoads("button", "Edit")
	b.clickRoleLoads("link", "Manage email apps settings")
	if got := b.text("#dialog-title"); got != "Manage settings for email apps" {
		t.Fatalf("panel: got %q", got)
	}
	b.clickRole("switch", "POP3")
	if eval[bool](b, `document.getElementById("pop").checked`) {
		t.Fatal("the POP3 switch didn't turn off")
	}
	b.clickRoleLoads("button", "Save")
	if got := b.text("#flash"); got != "Email app settings updated successfully" {
		t.Errorf("after Save: got %q; want Email app settings updated successfully", got)
	}
	if m := casOf(t, env, "Christa Knapp"); m.PopEnabled || !m.ImapEnabled {
		t.Errorf("after Save: PopEnabled=%v ImapEnabled=%v; want false, true", m.PopEnabled, m.ImapEnabled)
	}
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); got != popDisabled {
		t.Errorf("POP3 login: got %q; want %q", got, popDisabled)
	}
}

// TestBrowserBulkEdit selects three mailboxes with the mouse (click, then
// Ctrl+click), disables POP3 for all in the Bulk Edit pane, confirms with
// OK and reads the summary.
func TestBrowserBulkEdit(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	toMailboxes(b)
	b.clickRow("Kim Akers")
	b.clickRow("Ben Andrews", chromedp.ModifierCtrl)
	b.clickRow("David Longmuir", chromedp.ModifierCtrl)
	// The pane follows the selection (the last answer wins).
	b.waitPane("Bulk Edit")
	if got := b.text("#details .details-sub"); got != "3 mailboxes selected" {
		t.Errorf("Bulk Edit: got %q; want 3 mailboxes selected", got)
	}
	if got := b.text("#list-status"); !strings.HasPrefix(got, "3 selected of 10 total") {
		t.Errorf("status: got %q; want 3 selected of 10 total", got)
	}
	if eval[bool](b, `document.getElementById("tb-edit").disabled`) != true {
		t.Errorf("Edit stays enabled with three mailboxes selected")
	}
	// Shift+click extends from the anchor; Ctrl+click again removes.
	b.clickRow("Christa Knapp", chromedp.ModifierCtrl)
	b.waitFor("4 selected", `document.querySelector("[data-selected-count]").textContent === "4"`)
	b.clickRow("Christa Knapp", chromedp.ModifierCtrl)
	b.waitFor("3 selected", `document.querySelector("[data-selected-count]").textContent === "3"`)
	b.waitPane("Bulk Edit")
	if got := b.text("#details .details-sub"); got != "3 mailboxes selected" {
		t.Errorf("Bulk Edit after Ctrl+click twice: got %q; want 3 mailboxes selected", got)
	}

	b.clickRoleLoads("link", "Disable POP3")
	if got := b.text("#dialog-title"); got != "Bulk Edit: Disable POP3" {
		t.Fatalf("confirmation: got %q", got)
	}
	if got := b.text("#confirm-text"); !strings.Contains(got, "POP3 will be disabled for 3 mailboxes: Ben Andrews David Longmuir Kim Akers") {
		t.Errorf("confirmation text: %q", got)
	}
	b.clickRoleLoads("button", "OK")
	// The job's page reloads itself when the job ends; wait for that.
	b.waitFor("the Bulk Edit job to end", `(document.getElementById("job")||{dataset:{}}).dataset.jobState === "done"`)
	got := b.text("#flash")
	for _, want := range []string{"Bulk Edit: POP3 disabled for 3 mailboxes.", "Changed: Ben Andrews, David Longmuir, Kim Akers."} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	for _, name := range []string{"Kim Akers", "Ben Andrews", "David Longmuir"} {
		if m := casOf(t, env, name); m.PopEnabled || !m.ImapEnabled {
			t.Errorf("%s: PopEnabled=%v ImapEnabled=%v; want false, true", name, m.PopEnabled, m.ImapEnabled)
		}
	}
	if m := casOf(t, env, "Christa Knapp"); !m.PopEnabled {
		t.Errorf("Christa Knapp, deselected, was changed")
	}
	// Back from the Bulk Edit's page, the three stay selected in the
	// list, which shows the new state.
	b.clickLoads("#job-back")
	if got := eval[int](b, `document.querySelectorAll('tr[aria-selected="true"] td:nth-child(4) .state-off').length`); got != 3 {
		t.Errorf("selected rows showing POP3 Disabled: got %d; want 3", got)
	}
	if got := pop3Login(t, env.Addr("pop3"), "ben@contoso.com", testenv.DemoPassword); got != popDisabled {
		t.Errorf("Ben's POP3 login: got %q", got)
	}
}

// TestBrowserSecurityDefaults turns security defaults on with its
// confirmation, which counts the open sessions it closes, and off again.
func TestBrowserSecurityDefaults(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	session := imapLogin(t, env.Addr("imap"), "pilar@contoso.com", testenv.DemoPassword)
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.clickRoleLoads("link", "Organization")
	if got := b.text("#sd-state"); got != "Security defaults: Off" {
		t.Fatalf("state: got %q", got)
	}
	b.clickRoleLoads("button", "Turn on security defaults")
	if got := b.text("#sessions-note"); got != "This closes 1 open session now (1 IMAP4)." {
		t.Errorf("confirmation: got %q", got)
	}
	if got := eval[string](b, `document.querySelector("[data-dialog]").getAttribute("role")`); got != "alertdialog" {
		t.Errorf("confirmation role: got %q; want alertdialog", got)
	}
	b.clickRoleLoads("button", "OK")
	if got := b.text("#flash"); got != "Security defaults are on. POP3 and IMAP4 are blocked for every mailbox. 1 open session (1 IMAP4) was closed." {
		t.Errorf("after OK: got %q", got)
	}
	if bye := session.waitBye(t); !strings.HasPrefix(bye, "* BYE") {
		t.Errorf("Pilar's IMAP4 session: got %q; want BYE", bye)
	}
	if got := b.text("#sd-state"); got != "Security defaults: On" {
		t.Errorf("state: got %q", got)
	}
	b.clickRoleLoads("link", "Recipients")
	if got := eval[int](b, `Array.from(document.querySelectorAll("#mailbox-list tbody .state-blocked")).filter(e => e.textContent === "Blocked by security defaults").length`); got != 20 {
		t.Errorf("cells saying Blocked by security defaults: got %d; want 20 (10 mailboxes, 2 protocols)", got)
	}
	b.clickRoleLoads("link", "Organization")
	b.clickRoleLoads("button", "Turn off security defaults")
	b.clickRoleLoads("button", "OK")
	if got := b.text("#sd-state"); got != "Security defaults: Off" {
		t.Errorf("state after turning off: got %q", got)
	}
	if got := pop3Login(t, env.Addr("pop3"), "pilar@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Errorf("POP3 after security defaults off: got %q; want +OK", got)
	}
}

// TestBrowserKeyboardOnly does the procedure without a mouse: Ctrl+F6
// between regions, "/" to search, arrow keys in the list, Enter for Edit,
// the console tree with arrows, Enter on Disable and Save, Esc to cancel.
func TestBrowserKeyboardOnly(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	christa := guidOf(t, env, "Christa Knapp")
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	if !strings.HasSuffix(b.location(), "/admin/recipients/mailboxes") {
		t.Fatalf("after sign-in: at %s", b.location())
	}
	// The regions in order, forward and back.
	steps := []struct {
		key   string
		shift bool
		want  string
	}{
		{kb.F6, false, "a:Recipients"},
		{kb.F6, false, "a:Mailboxes"},
		{kb.F6, false, "#tb-new"},
		{kb.F6, false, "tr:"},
		{kb.F6, false, "#details"},
		{kb.F6, false, "a:Recipients"},
		{kb.F6, true, "#details"},
		{kb.F6, true, "tr:"},
	}
	for _, s := range steps {
		mods := []chromedp.Modifier{chromedp.ModifierCtrl}
		if s.shift {
			mods = append(mods, chromedp.ModifierShift)
		}
		b.key(s.key, mods...)
		if got := b.focused(); !strings.HasPrefix(got, s.want) {
			t.Fatalf("Ctrl+%sF6: focus on %q; want %q", map[bool]string{true: "Shift+"}[s.shift], got, s.want)
		}
	}
	// "/" jumps to the search box; type and press Enter.
	b.slash()
	if got := b.focused(); got != "#search" {
		t.Fatalf("/: focus on %q; want #search", got)
	}
	b.do("type a search", chromedp.KeyEvent("Christa"))
	b.keyLoads(kb.Enter)
	if got := eval[int](b, `document.querySelectorAll("#mailbox-list tbody tr[data-id]").length`); got != 2 {
		t.Fatalf("search Christa: got %d rows; want 2 (at %s)", got, b.location())
	}
	// To the list (feature pane, tabs, toolbar, list); the arrows select,
	// Shift+arrow extends to Bulk Edit.
	for range 4 {
		b.key(kb.F6, chromedp.ModifierCtrl)
	}
	if got := eval[string](b, `document.activeElement.getAttribute("data-id")||""`); got != christa {
		t.Fatalf("list focus: got row %q; want Christa Knapp's", got)
	}
	b.key(kb.ArrowDown)
	b.waitPane("Christa Lee")
	b.key(kb.ArrowUp, chromedp.ModifierShift)
	b.waitPane("Bulk Edit")
	b.key(kb.ArrowUp)
	b.waitPane("Christa Knapp")
	if got := eval[string](b, `document.querySelector("[data-selected-count]").textContent`); got != "1" {
		t.Errorf("selected: got %s; want 1", got)
	}
	// Enter opens Edit; the focus is in the console tree.
	b.keyLoads(kb.Enter)
	if got := b.text("#dialog-title"); got != "Christa Knapp" {
		t.Fatalf("Enter opened %q; want Christa Knapp's dialog", got)
	}
	if got := b.focused(); got != "a:General" {
		t.Fatalf("dialog focus: got %q; want the console tree's General", got)
	}
	b.key(kb.ArrowDown)
	if got := b.focused(); got != "a:Mailbox Features" {
		t.Fatalf("ArrowDown in the console tree: focus on %q", got)
	}
	b.key(kb.Enter)
	b.waitFor("Mailbox Features shown", `!document.querySelector('[data-panel="features"]').hidden`)
	if got := b.focused(); got != "#h-features" {
		t.Errorf("after Enter on Mailbox Features: focus on %q; want its heading", got)
	}
	b.key(kb.Tab)
	if got := b.focused(); got != "#pop-toggle" {
		t.Fatalf("Tab: focus on %q; want POP3's Disable", got)
	}
	b.key(kb.Enter)
	b.waitFor("POP3: Disabled", `document.getElementById("pop-state").textContent.trim() === "POP3: Disabled"`)
	if got := b.text("#pending-note"); !strings.HasPrefix(got, "Not saved yet") {
		t.Errorf("pending note: got %q", got)
	}
	// Tab on to Save, past IMAP4's link.
	for range 5 {
		if b.focused() == "#save" {
			break
		}
		b.key(kb.Tab)
	}
	if got := b.focused(); got != "#save" {
		t.Fatalf("Tab to Save: focus on %q", got)
	}
	b.keyLoads(kb.Enter)
	if got := b.text("#flash"); got != "Saved Christa Knapp: POP3 disabled." {
		t.Errorf("after Save: got %q", got)
	}
	if got := pop3Login(t, env.Addr("pop3"), "christa@contoso.com", testenv.DemoPassword); got != popDisabled {
		t.Errorf("POP3 login: got %q; want %q", got, popDisabled)
	}
	// Back in the list, the focus is on the mailbox again.
	if got := eval[string](b, `document.activeElement.getAttribute("data-id")||""`); got != christa {
		t.Errorf("after Save: focus on %q; want Christa Knapp's row", b.focused())
	}
	// Enter opens the dialog again, which shows the change; Esc closes it.
	b.keyLoads(kb.Enter)
	b.key(kb.ArrowDown)
	b.key(kb.Enter)
	if got := b.text("#pop-state"); got != "POP3: Disabled" {
		t.Errorf("reopened: got %q", got)
	}
	b.key(kb.Tab)
	b.key(kb.Enter) // Enable, pending
	b.keyLoads(kb.Escape)
	if !strings.Contains(b.location(), "/admin/recipients/mailboxes?") {
		t.Errorf("Esc: at %s; want the list", b.location())
	}
	if m := casOf(t, env, "Christa Knapp"); m.PopEnabled {
		t.Errorf("Esc saved the pending Enable")
	}
	// Tab stays inside a dialog.
	b.keyLoads(kb.Enter)
	for range 30 {
		b.key(kb.Tab)
		if !eval[bool](b, `document.querySelector("[data-dialog]").contains(document.activeElement)`) {
			t.Fatalf("Tab left the dialog: focus on %q", b.focused())
		}
	}
	// The shortcuts are written down.
	b.keyLoads(kb.Escape)
	b.open(env.URL() + "/admin/help/keyboard-shortcuts")
	if got := b.text("#shortcuts"); !strings.Contains(got, "Ctrl+F6") || !strings.Contains(got, "Esc") {
		t.Errorf("keyboard shortcuts page: %q", got)
	}
}

// TestBrowserSelection selects with Shift+click (a range), the check
// boxes, and Ctrl+A, as the list view of the Exchange admin center does.
func TestBrowserSelection(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	selected := func() string {
		return eval[string](b, `Array.from(document.querySelectorAll('#mailbox-list tr[aria-selected="true"] td.name')).map(e => e.textContent).join(", ")`)
	}
	b.clickRow("Ben Andrews")
	b.clickRow("David Longmuir", chromedp.ModifierShift)
	if got, want := selected(), "Ben Andrews, Christa Knapp, Christa Lee, David Longmuir"; got != want {
		t.Errorf("Shift+click: got %q; want %q", got, want)
	}
	b.waitPane("Bulk Edit")
	b.click(`input[aria-label="Select Pilar Pinilla"]`)
	if got, want := selected(), "Ben Andrews, Christa Knapp, Christa Lee, David Longmuir, Pilar Pinilla"; got != want {
		t.Errorf("check box: got %q; want %q", got, want)
	}
	if got := eval[int](b, `document.querySelectorAll('#mailbox-list input[type=checkbox]:checked').length`); got != 5 {
		t.Errorf("checked boxes: got %d; want 5", got)
	}
	b.waitPane("Bulk Edit")
	if got := b.text("#details .details-sub"); got != "5 mailboxes selected" {
		t.Errorf("Bulk Edit: got %q", got)
	}
	b.clickRow("Kim Akers")
	b.waitPane("Kim Akers")
	if got := selected(); got != "Kim Akers" {
		t.Errorf("a plain click: got %q; want only Kim Akers", got)
	}
	b.key("a", chromedp.ModifierCtrl)
	b.waitPane("Bulk Edit")
	if got := b.text("#details .details-sub"); got != "10 mailboxes selected" {
		t.Errorf("Ctrl+A: got %q; want 10 mailboxes selected", got)
	}
	// The selection is in the address, so Refresh keeps it.
	b.clickRoleLoads("link", "Refresh")
	if got := eval[int](b, `document.querySelectorAll('#mailbox-list tr[aria-selected="true"]').length`); got != 10 {
		t.Errorf("after Refresh: got %d selected; want 10", got)
	}
}
