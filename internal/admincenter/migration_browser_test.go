package admincenter_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// TestBrowserMigration runs the Recipients > Migration wizard against a
// Dovecot source over Ssl, whose certificate a private CA signed: the
// wizard opens with focus in step 1; a file that is not a certificate is
// refused in words; then a new endpoint with the CA file chosen in the
// file picker, the CSV file of five users with the migration fixture
// (1,050 messages with flags, keywords and dates, non-ASCII folder names,
// Ann's 20 MB message and a malformed one) and Kim with a wrong password,
// start; the page shows Ann synced at 100 % with the 20 MB message over
// the size limit skipped, listed on her detail page (folder, UID,
// subject, size, reason), and Kim's wrong source password in words; every
// folder and message of the five is then compared over IMAP with the
// source (content hash, flags and keywords, internal date). axe-core
// checks the three pages.
func TestBrowserMigration(t *testing.T) {
	dovecot.Need(t)
	axeSrc := axeIfInstalled(t)

	users := []string{"ann", "bob", "cara", "dave", "emma"}
	src := dovecot.StartSource(t, append(users, "kim"), "Source-Pass-1")
	for i, u := range users {
		src.Seed(t, u, 210, i, u == "ann")
	}
	env := startEnv(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.Migration.PollInterval = config.Duration(100 * time.Millisecond)
		c.MaxMessageSize = 10e6 // the 20 MB message is skipped
	}})
	admin := adminCaller(t, env)
	const mailboxPassword = "Target-Pass-1"
	csvText := "EmailAddress,UserName,Password\n"
	for _, u := range users {
		if _, _, err := env.Service.NewMailbox(context.Background(), admin, service.NewMailboxRequest{Name: u, Password: mailboxPassword}); err != nil {
			t.Fatal(err)
		}
		csvText += u + "@contoso.com," + u + ",Source-Pass-1\n"
	}
	csvText += "kim@contoso.com,kim,wrong-password\n"
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte(csvText), 0o600)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, src.CAPEM, 0o600)
	notCert := filepath.Join(dir, "notes.pem")
	os.WriteFile(notCert, []byte("the CA is on the old server\n"), 0o600)

	b := newTab(t)
	checkAxe := func(page string) {
		if axeSrc != "" {
			b.axe(axeSrc, page)
		}
	}
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.open(env.URL() + "/admin/recipients/migration")
	if got := b.text("#no-batches"); !strings.Contains(got, "no migration batches") {
		t.Errorf("empty page: got %q", got)
	}
	b.clickLoads("#new-batch")
	// Focus starts in step 1 (the server), not in step 2. The browser
	// applies autofocus after the page's scripts: wait for it.
	b.waitFor("focus on the server field, in step 1", `document.activeElement.id === "mig-server" && document.activeElement.closest("fieldset").querySelector("legend").textContent === "1. The server to migrate from"`)
	checkAxe("migration-new")
	b.typeInto("mig-name", "Wizard")
	b.typeInto("mig-server", "127.0.0.1")
	b.typeInto("mig-port", fmt.Sprint(src.TLSPort))
	eval[bool](b, `(document.getElementById("mig-security").value = "Ssl", true)`)
	b.do("choose the CSV file", chromedp.SetUploadFiles(chromedp.ID("mig-file"), []string{csv}))
	b.waitFor("the CSV file read into the form", `document.getElementById("mig-csv").value.includes("emma@contoso.com")`)
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
	if got := b.text("#flash"); !strings.Contains(got, "Created the migration batch Wizard with 6 users") {
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
	for _, u := range users {
		if got := b.text(`[data-user="` + u + `@contoso.com"] [data-user-percent]`); got != "100%" {
			t.Errorf("%s's progress: got %q; want 100%%", u, got)
		}
	}
	// Every folder and message of the five, over IMAP, as at the source.
	n := 0
	for _, u := range users {
		c := src.Dial(t, u)
		want := dovecot.Take(t, c)
		c.Logout().Wait()
		gc, err := imapclient.DialInsecure(env.Addr("imap"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := gc.Login(u+"@contoso.com", mailboxPassword).Wait(); err != nil {
			t.Fatalf("IMAP login %s: %v", u, err)
		}
		got := dovecot.Take(t, gc)
		gc.Logout().Wait()
		gc.Close()
		skipped := 0
		if u == "ann" {
			skipped = 1 // the 20 MB message
		}
		n += dovecot.Compare(t, u, want, got, dovecot.FolderMap(), skipped)
	}
	t.Logf("%d messages compared over IMAP with the source", n)
	if n < 1000 {
		t.Errorf("%d messages compared with the source; want the 1,000+ of the fixture", n)
	}

	if got := b.text(`[data-user="kim@contoso.com"] [data-user-error]`); !strings.Contains(got, "refused the login") || !strings.Contains(got, "AUTHENTICATIONFAILED") {
		t.Errorf("Kim's error: got %q; want the source's refusal in words", got)
	}
	if got := b.text(`[data-user="kim@contoso.com"] [data-user-status]`); got != "Failed" {
		t.Errorf("Kim's status: got %q; want Failed", got)
	}
	checkAxe("migration")
	// The wizard again: an endpoint exists now, and step 1 starts with it.
	b.open(env.URL() + "/admin/recipients/migration/new")
	b.waitFor("focus on the endpoint list, in step 1", `document.activeElement.id === "mig-endpoint"`)
	// Ann's detail lists the skipped message.
	b.open(env.URL() + "/admin/recipients/migration")
	b.clickLoads(`[data-user="ann@contoso.com"] [data-user-skipped] a`)
	row := b.text("#skipped-items tbody tr")
	for _, want := range []string{"INBOX", "big", "MB", "larger than the maximum message size"} {
		if !strings.Contains(row, want) {
			t.Errorf("Ann's skipped item %q lacks %q (folder, subject, size, reason)", row, want)
		}
	}
	if got := b.text("[data-user-synced]"); !strings.HasPrefix(got, "211 items") {
		t.Errorf("Ann's copied items: got %q; want 211 (210 and the malformed one)", got)
	}
	checkAxe("migration-user")
}
