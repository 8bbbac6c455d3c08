package admincenter_test

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	env := startEnv(t, testenv.Options{Demo: true})
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
	// Some POP3 and IMAP4 use, for the lists and the report.
	for _, u := range []string{"christa", "kim", "ben"} {
		if got := pop3Login(t, env.Addr("pop3"), u+"@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "+OK") {
			t.Fatalf("POP3 login of %s: %q", u, got)
		}
	}
	for _, u := range []string{"christa", "pilar", "david", "christa.lee"} {
		imapLogin(t, env.Addr("imap"), u+"@contoso.com", testenv.DemoPassword).conn.Close()
	}
	pop3Login(t, env.Addr("pop3"), "pilar@contoso.com", "a wrong password")
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err := env.Service.EmailAppUsage(context.Background(), adminCaller(t, env), 30)
		if err != nil {
			t.Fatal(err)
		}
		if rep.ActivePopUsers == 3 && rep.ActiveImapUsers == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the login records didn't reach the report: %d POP3 and %d IMAP4 users", rep.ActivePopUsers, rep.ActiveImapUsers)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.open(env.URL() + "/admin/")
	b.text("#username")
	shoot("signin")
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	// A change through the dialog, for the list and the audit log.
	b.open(env.URL() + "/admin/recipients/mailboxes/edit?section=features&id=" + guidOf(t, env, "Kim Akers"))
	b.click("#pop-toggle")
	b.clickLoads("#save")
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
