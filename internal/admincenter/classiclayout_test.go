package admincenter_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestBrowserIssue14NewViews lays out and scans with axe-core the views of
// issue 14's items 9 and 12 at 1024, 1366 and 1920 px: the list with
// "Select all N that match" offered and taken, the "..." menu open, the
// Advanced search dialog, the details pane with Recent sign-ins, a Bulk
// Edit job while it runs (its status requests held back, so that it stays
// on the page) and when it has ended. The page is never wider than the
// window, the menu stays inside it, the list never runs under the details
// pane, and axe finds nothing serious or critical. GATEHOUSE_SCREENSHOTS=DIR
// keeps the screenshots to look at.
func TestBrowserIssue14NewViews(t *testing.T) {
	src := axeSource(t)
	env := startEnv(t, testenv.Options{Demo: true})
	seedBulk(t, env, 1500)
	christa := guidOf(t, env, "Christa Knapp")
	var christaID int64
	if err := env.Store.View(context.Background(), func(tx store.Tx) error {
		ms, err := tx.FindMailboxes(context.Background(), christa, 1)
		if len(ms) == 1 {
			christaID = ms[0].ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	long := "plaintext authentication without TLS refused from a client that sends a very long identification string"
	if err := env.Store.InsertLoginRecords(context.Background(), []store.LoginRecord{
		{Time: now.Add(-3 * time.Hour), Protocol: "pop3", MailboxID: christaID, Username: "christa", Result: store.LoginSuccess, RemoteAddr: "[2001:db8:85a3::8a2e:370:7334]:51234"},
		{Time: now.Add(-2 * time.Hour), Protocol: "imap4", MailboxID: christaID, Username: "christa", Result: store.LoginSuccess, RemoteAddr: "192.0.2.10:50000", ClientName: "Thunderbird"},
		{Time: now.Add(-1 * time.Hour), Protocol: "imap4", MailboxID: christaID, Username: "christa", Result: store.LoginNoTLS, Reason: long, RemoteAddr: "198.51.100.7:40000"},
		{Time: now.Add(-30 * time.Minute), Protocol: "pop3", MailboxID: christaID, Username: "christa", Result: store.LoginFailed, Reason: "invalid credentials", RemoteAddr: "203.0.113.99:1234"},
	}); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	base := env.URL() + "/admin/recipients/mailboxes"

	// A finished job to look at.
	c := signedIn(t, env, "rita@contoso.com", testenv.DemoPassword)
	r := c.post("/admin/recipients/mailboxes/bulk", url.Values{"all": {"1"}, "search": {"Bulk"}, "protocol": {"pop3"}, "action": {"disable"}})
	waitJob(t, c, r.location)
	// Rita's job is hers: the admin starts one of their own.
	b.open(base + "/bulk?all=1&search=Bulk+User+00&protocol=imap4&action=disable")
	b.clickRoleLoads("button", "OK")
	doneJob := b.location()
	b.waitFor("the job to end", `document.getElementById("job") && document.getElementById("job").dataset.jobState !== "running"`)

	layout := func(name string, w int64) {
		t.Helper()
		b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)))
		if got := eval[float64](b, `document.documentElement.scrollWidth`); got > float64(w) {
			t.Errorf("%s at %d px: the page is %v px wide", name, w, got)
		}
		if overlap := eval[float64](b, `(function(){var l=document.querySelector(".listpane"), d=document.querySelector(".details");
			if(!l||!d) return 0; var s=l.querySelector(".table-scroll")||l; return s.getBoundingClientRect().right - d.getBoundingClientRect().left})()`); overlap > 0 {
			t.Errorf("%s at %d px: the list runs %v px under the details pane", name, w, overlap)
		}
		if broken := eval[[]string](b, brokenWordsJS); len(broken) > 0 {
			t.Errorf("%s at %d px: words broken over two lines: %q", name, w, broken)
		}
	}
	for _, w := range []int64{1024, 1366, 1920} {
		b.do(fmt.Sprintf("window %d px", w), chromedp.EmulateViewport(w, 900))
		scan := func(name string) {
			t.Helper()
			layout(name, w)
			if w == 1366 {
				b.axe(src, name)
			}
		}
		b.open(base + "?search=Bulk")
		b.click("#check-page")
		b.text("#select-all")
		scan("select-all-offered")

		b.click("#tb-more")
		b.text("#menu-advanced")
		if right := eval[float64](b, `document.getElementById("more-menu").getBoundingClientRect().right`); right > float64(w) {
			t.Errorf("the menu at %d px ends at %v px, outside the window", w, right)
		}
		scan("more-menu")

		b.open(base + "?search=Bulk&all=1")
		b.text("#select-none")
		scan("select-all-taken")

		b.open(base + "/advanced-search?name=bulk&pop=enabled")
		b.text("#dialog-title")
		scan("advanced-search")

		b.open(base + "?name=bulk&popnow=notallowed")
		b.text("#advanced-summary")
		scan("advanced-search-result")

		b.open(base + "?id=" + christa)
		b.text("#signins-title")
		if got := b.text("#signin-refusals"); !strings.Contains(got, "No TLS") || !strings.Contains(got, "Invalid credentials") {
			t.Errorf("refusals: %q", got)
		}
		if cut := eval[[]string](b, `Array.from(document.querySelectorAll("#recent-signins .addr")).filter(function(e){
			return e.title !== e.textContent }).map(function(e){ return e.textContent })`); len(cut) > 0 {
			t.Errorf("client addresses without their full text as title at %d px: %q", w, cut)
		}
		scan("recent-signins")

		b.open(doneJob)
		b.text("#job-results")
		scan("job-done")
	}

	// A job while it runs: its status requests are held back, so that the
	// page stays as it is while axe looks at it.
	b.do("window 1366 px", chromedp.EmulateViewport(1366, 900))
	b.allowConsole("ERR_BLOCKED_BY_CLIENT")
	b.do("hold back status requests", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/admin/recipients/mailboxes/bulk/jobs/*/status", Block: true}}})
		return err
	}))
	b.open(base + "/bulk?all=1&search=Bulk&protocol=imap4&action=enable")
	b.clickRoleLoads("button", "OK")
	if eval[string](b, `document.getElementById("job").dataset.jobState`) == "running" {
		b.text("#job-progress-text")
		if got := b.text("#job-restart-note"); !strings.Contains(got, "If the server restarts before the job ends") {
			t.Errorf("the running job does not say what a restart does to it: %q", got)
		}
		layout("job-running", 1366)
		b.axe(src, "job-running")
	} else {
		t.Log("the job had ended before its page loaded; the running page was not scanned")
	}
}
