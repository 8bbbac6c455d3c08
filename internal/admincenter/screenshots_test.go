package admincenter_test

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// updateScreenshots writes the README's screenshots into docs/screenshots:
//
//	go test ./internal/admincenter -run TestScreenshots -update-screenshots
var updateScreenshots = flag.Bool("update-screenshots", false, "write the screenshots of the main pages to docs/screenshots")

// TestScreenshots takes a screenshot of each main page in a real browser
// and checks that each is a real image of the page size; with
// -update-screenshots they are the README's pictures.
func TestScreenshots(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Demo: true})
	b := newTab(t)
	dir := t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shoot := func(name string) {
		t.Helper()
		path := filepath.Join(dir, name+".png")
		b.screenshot(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", name, err)
		}
		if w := img.Bounds().Dx(); w < 1000 {
			t.Errorf("%s: width got %d; want the window's 1366", name, w)
		}
	}
	b.open(env.URL() + "/admin/")
	b.text("#username")
	shoot("signin")
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	b.open(env.URL() + "/admin/recipients/mailboxes?id=" + christa)
	b.text("#details-title")
	shoot("mailboxes")
	b.open(env.URL() + "/admin/recipients/mailboxes/edit?section=features&id=" + christa)
	b.text("#pop-state")
	shoot("user-mailbox-features")
	b.open(env.URL() + "/admin/recipients/mailboxes/email-apps?id=" + christa)
	b.text("#dialog-title")
	shoot("email-apps")
	b.open(env.URL() + "/admin/recipients/mailboxes?id=" + guidOf(t, env, "Kim Akers") + "&id=" + guidOf(t, env, "Ben Andrews") +
		"&id=" + guidOf(t, env, "David Longmuir"))
	b.text("#details-title")
	shoot("bulk-edit")
	b.open(env.URL() + "/admin/organization/security-defaults")
	b.text("#sd-state")
	shoot("security-defaults")
	b.open(env.URL() + "/admin/permissions/admin-roles?group=Organization+Management")
	b.text(".details-title")
	shoot("admin-roles")
	b.open(env.URL() + "/admin/auditing/admin-audit-log")
	b.text("#audit-status")
	shoot("audit-log")
	b.open(env.URL() + "/admin/reports/email-apps")
	b.text("#report-summary")
	shoot("email-apps-usage")
}
