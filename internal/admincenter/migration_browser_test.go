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
// Dovecot source: a new endpoint, the CSV file chosen in the file picker,
// start; then the page shows Christa synced at 100 % and Kim's wrong
// source password in words.
func TestBrowserMigration(t *testing.T) {
	dovecot.Need(t)
	src := dovecot.StartSource(t, []string{"christa", "kim"}, "Source-Pass-1")
	src.Seed(t, "christa", 40, 0, false)
	env := startEnv(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.Migration.PollInterval = config.Duration(100 * time.Millisecond)
	}})
	csv := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nchrista@contoso.com,christa,Source-Pass-1\nkim@contoso.com,kim,wrong-password\n"), 0o600)

	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.open(env.URL() + "/admin/recipients/migration")
	if got := b.text("#no-batches"); !strings.Contains(got, "no migration batches") {
		t.Errorf("empty page: got %q", got)
	}
	b.clickLoads("#new-batch")
	b.typeInto("mig-name", "Wizard")
	b.typeInto("mig-server", "127.0.0.1")
	b.typeInto("mig-port", fmt.Sprint(src.Port))
	eval[bool](b, `(document.getElementById("mig-security").value = "None", true)`)
	b.do("choose the CSV file", chromedp.SetUploadFiles(chromedp.ID("mig-file"), []string{csv}))
	b.waitFor("the CSV file read into the form", `document.getElementById("mig-csv").value.includes("christa@contoso.com")`)
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
}
