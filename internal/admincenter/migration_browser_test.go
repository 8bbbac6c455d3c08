package admincenter_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// TestBrowserMigration runs the Recipients > Migration wizard against a
// Dovecot source over Ssl, whose certificate a private CA signed: the
// wizard opens with focus in step 1; a file that is not a certificate is
// refused in words; then a new endpoint with the CA file chosen in the
// file picker, the CSV file, start; the page shows Christa synced at
// 100 % with the 20 MB message over the size limit skipped, listed on her
// detail page (folder, UID, subject, size, reason), and Kim's wrong source
// password in words. axe-core checks the three pages.
func TestBrowserMigration(t *testing.T) {
	dovecot.Need(t)
	axeSrc := axeSource(t)
	src := dovecot.StartSource(t, []string{"christa", "kim"}, "Source-Pass-1")
	src.Seed(t, "christa", 40, 0, true)
	env := startEnv(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.Migration.PollInterval = config.Duration(100 * time.Millisecond)
		c.MaxMessageSize = 10e6 // the 20 MB message is skipped
	}})
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nchrista@contoso.com,christa,Source-Pass-1\nkim@contoso.com,kim,wrong-password\n"), 0o600)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, src.CAPEM, 0o600)
	notCert := filepath.Join(dir, "notes.pem")
	os.WriteFile(notCert, []byte("the CA is on the old server\n"), 0o600)

	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.open(env.URL() + "/admin/recipients/migration")
	if got := b.text("#no-batches"); !strings.Contains(got, "no migration batches") {
		t.Errorf("empty page: got %q", got)
	}
	b.clickLoads("#new-batch")
	// Focus starts in step 1 (the server), not in step 2. The browser
	// applies autofocus after the page's scripts: wait for it.
	b.waitFor("focus on the server field, in step 1", `document.activeElement.id === "mig-server" && document.activeElement.closest("fieldset").querySelector("legend").textContent === "1. The server to migrate from"`)
	b.axe(axeSrc, "migration-new")
	b.typeInto("mig-name", "Wizard")
	b.typeInto("mig-server", "127.0.0.1")
	b.typeInto("mig-port", fmt.Sprint(src.TLSPort))
	eval[bool](b, `(document.getElementById("mig-security").value = "Ssl", true)`)
	b.do("choose the CSV file", chromedp.SetUploadFiles(chromedp.ID("mig-file"), []string{csv}))
	b.waitFor("the CSV file read into the form", `document.getElementById("mig-csv").value.includes("christa@contoso.com")`)
	b.do("choose a file that is not a certificate", chromedp.SetUploadFiles(chromedp.ID("mig-ca-file"), []string{notCert}))
	b.waitFor("the file read into the form", `document.getElementById("mig-ca").value.includes("old server")`)
	b.allowConsole("status of 400")
	b.clickLoads("#create")
	if got := b.text("main"); !strings.Contains(got, "The trusted certificate data is not PEM") {
		t.Fatalf("with a file that is not a certificate: got %q; want the refusal in words", got)
	}
	b.do("choose the CA file", chromedp.SetUploadFiles(chromedp.ID("mig-ca-file"), []string{ca}))
	b.waitFor("the CA file read into the form", `document.getElementById("mig-ca").value.includes("BEGIN CERTIFICATE")`)
	b.clickLoads("#create")
	if got := b.text("#flash"); !strings.Contains(got, "Created the migration batch Wizard with 2 users") {
		t.Fatalf("after Create: got %q", got)
	}
	for {
		status := b.text(`[data-batch="Wizard"] [data-batch-status]`)
		if status == "Synced" {
			break
		}
		if status == "Failed" {
			t.Fatalf("batch failed: %s", b.text(`[data-batch="Wizard"]`))
		}
		time.Sleep(200 * time.Millisecond)
		b.open(env.URL() + "/admin/recipients/migration")
	}
	if got := b.text(`[data-user="christa@contoso.com"] [data-user-percent]`); got != "100%" {
		t.Errorf("Christa's progress: got %q; want 100%%", got)
	}

	if got := b.text(`[data-user="kim@contoso.com"] [data-user-error]`); !strings.Contains(got, "refused the login") || !strings.Contains(got, "AUTHENTICATIONFAILED") {
		t.Errorf("Kim's error: got %q; want the source's refusal in words", got)
	}
	if got := b.text(`[data-user="kim@contoso.com"] [data-user-status]`); got != "Failed" {
		t.Errorf("Kim's status: got %q; want Failed", got)
	}
	b.axe(axeSrc, "migration")
	// The wizard again: an endpoint exists now, and step 1 starts with it.
	b.open(env.URL() + "/admin/recipients/migration/new")
	b.waitFor("focus on the endpoint list, in step 1", `document.activeElement.id === "mig-endpoint"`)
	// Christa's detail lists the skipped message.
	b.open(env.URL() + "/admin/recipients/migration")
	b.clickLoads(`[data-user="christa@contoso.com"] [data-user-skipped] a`)
	row := b.text("#skipped-items tbody tr")
	for _, want := range []string{"INBOX", "big", "MB", "larger than the maximum message size"} {
		if !strings.Contains(row, want) {
			t.Errorf("Christa's skipped item %q lacks %q (folder, subject, size, reason)", row, want)
		}
	}
	if got := b.text("[data-user-synced]"); !strings.HasPrefix(got, "41 items") {
		t.Errorf("Christa's copied items: got %q; want 41 (40 and the malformed one)", got)
	}
	b.axe(axeSrc, "migration-user")
}
