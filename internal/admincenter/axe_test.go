package admincenter_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/browser"
)

// The accessibility check runs axe-core (the npm package axe-core@4, which
// scripts/test.sh and .ci/run install) on every page an Organization
// Management admin reaches, with axe's default rules (WCAG 2 A and AA and
// best practices), and fails on any serious or critical violation.

// axeSource returns the text of axe.min.js (see browser.AxeSource).
func axeSource(t *testing.T) string { return browser.AxeSource(t) }

// axeIfInstalled is axeSource for a test whose subject is not
// accessibility (the migration journey): without axe-core it runs with
// no axe checks, saying so, rather than skipping; under
// GATEHOUSE_TEST_STRICT it fails as axeSource does.
func axeIfInstalled(t *testing.T) string {
	t.Helper()
	src, missing := browser.FindAxe()
	if missing != "" {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatal(missing)
		}
		t.Log(missing + "; the pages are not checked with axe")
	}
	return src
}

// axe runs axe-core on the page as it is now and reports its serious or
// critical violations as one error: rule, impact, element and why.
func (b *tab) axe(src, page string) {
	b.t.Helper()
	var lines []string
	for _, v := range b.AxeViolations(src) {
		for _, n := range v.Nodes {
			why := strings.ReplaceAll(strings.TrimSpace(n.FailureSummary), "\n", " ")
			lines = append(lines, fmt.Sprintf("%s (%s) at %v: %s — %s", v.ID, v.Impact, n.Target, v.Help, why))
		}
	}
	if len(lines) > 0 {
		b.t.Errorf("%s (%s): %d serious or critical accessibility violations:\n  %s",
			page, b.location(), len(lines), strings.Join(lines, "\n  "))
	}
}

// TestAxe runs axe-core on every page of the admin center an Organization
// Management admin reaches, in the states a user sees them.
func TestAxe(t *testing.T) {
	src := axeSource(t)
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	base := env.URL() + "/admin"
	shots := os.Getenv("GATEHOUSE_AXE_SHOTS") // a directory for screenshots, when looking at the pages
	check := func(name string) {
		t.Helper()
		if shots != "" {
			b.screenshot(filepath.Join(shots, name+".png"))
		}
		b.axe(src, name)
	}

	b.open(base + "/")
	b.text("#username")
	check("signin")
	b.do("type a wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "not the password"))
	b.allowConsole("status of 401")
	b.allowConsole("status of 403")
	b.clickLoads("button[type=submit]")
	check("signin-failed")

	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	kim, ben, christa := guidOf(t, env, "Kim Akers"), guidOf(t, env, "Ben Andrews"), guidOf(t, env, "Christa Knapp")
	mailboxes := base + "/recipients/mailboxes"

	// The list's three views: nothing selected, one mailbox with its
	// details pane, several with Bulk Edit; and a search with a sort.
	b.open(mailboxes)
	b.text("#mailbox-list")
	check("mailboxes")
	b.open(mailboxes + "?id=" + christa)
	b.waitPane("Christa Knapp")
	check("mailboxes-details")
	b.open(mailboxes + "?id=" + kim + "&id=" + ben + "&id=" + christa)
	b.text("#details-title")
	check("mailboxes-bulk")
	b.open(mailboxes + "?search=k&sort=PopEnabled&desc=1")
	b.text("#mailbox-list")
	check("mailboxes-search")
	b.open(mailboxes + "?search=nobody-has-this-name")
	b.text("body")
	check("mailboxes-empty")

	for _, section := range []string{"general", "features"} {
		b.open(mailboxes + "/edit?section=" + section + "&id=" + christa)
		b.text("#dialog-title")
		check("edit-" + section)
	}
	b.open(mailboxes + "/email-apps?id=" + christa)
	b.text("#dialog-title")
	check("email-apps")
	b.open(mailboxes + "/new")
	b.text("body")
	check("new-mailbox")
	b.open(mailboxes + "/reset-password?id=" + christa)
	b.text("body")
	check("reset-password")
	if _, err := env.Service.NewAppPassword(context.Background(), adminCaller(t, env), "christa", "Phone", false); err != nil {
		t.Fatal(err)
	}
	b.open(mailboxes + "/app-passwords?id=" + christa)
	b.text("#dialog-title")
	check("app-passwords")
	b.open(mailboxes + "/quota?id=" + christa)
	b.text("#dialog-title")
	check("mailbox-quota")
	b.open(mailboxes + "/remove?id=" + kim)
	b.text("body")
	check("remove-confirm")
	b.open(mailboxes + "/bulk?protocol=pop3&action=disable&id=" + kim + "&id=" + ben)
	b.text("body")
	check("bulk-confirm")
	b.clickRoleLoads("button", "OK")
	b.text("#flash")
	check("bulk-done")

	b.open(base + "/organization/security-defaults")
	b.text("#sd-state")
	check("security-defaults")
	b.open(base + "/organization/security-defaults/confirm?enable=0")
	b.text("body")
	check("security-defaults-confirm")
	b.open(base + "/organization/mailbox-plan")
	b.text("body")
	check("cas-plan")
	if _, err := env.Service.NewAuthenticationPolicy(context.Background(), adminCaller(t, env), service.NewAuthenticationPolicyRequest{Name: "Block basic", AllowBasicAuthPop: true}); err != nil {
		t.Fatal(err)
	}
	b.open(base + "/organization/authentication-policies")
	b.text("#policies-title")
	check("authentication-policies")

	b.open(base + "/permissions/admin-roles")
	b.text("body")
	check("admin-roles")
	b.open(base + "/permissions/admin-roles?group=Help+Desk")
	b.text(".details-title")
	check("admin-roles-group")
	b.do("type a member", chromedp.SendKeys(chromedp.ID("member"), "Kim Akers"))
	b.clickLoads("#add-member")
	b.text("#flash")
	check("member-added")
	b.clickRoleLoads("button", "Remove Kim Akers from Help Desk")
	b.text("#flash")
	check("member-removed")

	b.open(base + "/auditing/admin-audit-log")
	b.text("#audit-status")
	check("audit-log")
	b.open(base + "/reports/email-apps")
	b.text("#report-summary")
	check("report")
	b.open(base + "/help/keyboard-shortcuts")
	b.text("body")
	check("keyboard-help")

	b.allowConsole("status of 404")
	b.open(base + "/no-such-page")
	b.text("body")
	check("not-found")
}

// TestAxeViewOnly runs axe-core on the pages as View-Only Organization
// Management sees them: every change control is disabled, with its reason.
func TestAxeViewOnly(t *testing.T) {
	src := axeSource(t)
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "victor@contoso.com", testenv.DemoPassword)
	base := env.URL() + "/admin"
	kim, christa := guidOf(t, env, "Kim Akers"), guidOf(t, env, "Christa Knapp")
	pages := []struct{ name, path, wait string }{
		{"mailboxes-details", "/recipients/mailboxes?id=" + christa, "#details-title"},
		{"mailboxes-bulk", "/recipients/mailboxes?id=" + kim + "&id=" + christa, "#details-title"},
		{"edit-features", "/recipients/mailboxes/edit?section=features&id=" + christa, "#dialog-title"},
		{"email-apps", "/recipients/mailboxes/email-apps?id=" + christa, "#dialog-title"},
		{"mailbox-quota", "/recipients/mailboxes/quota?id=" + christa, "#dialog-title"},
		{"security-defaults", "/organization/security-defaults", "#sd-state"},
		{"cas-plan", "/organization/mailbox-plan", "body"},
		{"admin-roles-group", "/permissions/admin-roles?group=Help+Desk", ".details-title"},
		{"audit-log", "/auditing/admin-audit-log", "#audit-status"},
	}
	for _, p := range pages {
		b.open(base + p.path)
		b.text(p.wait)
		b.axe(src, "view-only "+p.name)
	}
	b.allowConsole("status of 403")
	b.open(base + "/recipients/mailboxes/new")
	b.text("body")
	b.axe(src, "view-only new-mailbox (403)")
}
