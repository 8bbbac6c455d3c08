package admincenter_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// Issue 14, item 9: selection beyond a page, and Bulk Edit of any size.

// seedBulk adds n mailboxes "Bulk User 0001"... through the store (the
// service would hash a password per mailbox), with POP3 and IMAP4 on, and
// makes "Bulk User 0007" a member of Organization Management: out of the
// write scope of Recipient Management, so that its edit fails with a reason.
func seedBulk(t testing.TB, env *testenv.Env, n int) {
	t.Helper()
	ctx := context.Background()
	// A hundred per transaction: one transaction of thousands would hold
	// PostgreSQL's (serializable) predicate locks long enough to exhaust
	// the shared lock table for every other database on the server.
	for start := 1; start <= n; start += 100 {
		err := env.Store.Update(ctx, func(tx store.Tx) error {
			for i := start; i < start+100 && i <= n; i++ {
				alias := fmt.Sprintf("bulk.user.%04d", i)
				m := store.Mailbox{Name: fmt.Sprintf("Bulk User %04d", i), DisplayName: fmt.Sprintf("Bulk User %04d", i), Alias: alias,
					PrimarySmtpAddress: alias + "@contoso.com", UserPrincipalName: alias + "@contoso.com", PasswordHash: "x",
					PopEnabled: true, ImapEnabled: true}
				if err := tx.InsertMailbox(ctx, &m); err != nil {
					return err
				}
				if i == 7 {
					g, err := tx.RoleGroupByName(ctx, "Organization Management")
					if err != nil {
						return err
					}
					if err := tx.AddRoleGroupMember(ctx, g.ID, m.ID); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d mailboxes: %v", n, err)
		}
	}
}

// fetchText fetches a URL from the page, with its cookies, and returns the
// body: what a download would save.
func fetchText(b *tab, href string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`, {credentials: "same-origin"}).then(r => r.text())`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch %s: %v", href, err)
	}
	return v
}

// auditCount counts the audit records of Set-CASMailbox that succeeded.
func auditCount(t testing.TB, env *testenv.Env) int {
	t.Helper()
	yes := true
	var n int
	err := env.Store.View(context.Background(), func(tx store.Tx) error {
		recs, err := tx.SearchAudit(context.Background(), store.AuditQuery{Cmdlets: []string{"Set-CASMailbox"}, IsSuccess: &yes})
		n = len(recs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserSelectAllMatchingBulkEdit: with 2,600 mailboxes that match a
// search, checking the page's header box offers "Select all 2,600
// mailboxes that match"; Bulk Edit then disables POP3 for every one of
// them (and for one that starts to match after the confirmation: the
// search is evaluated when the edit runs), through the service (one audit
// record per mailbox, the write scope checked per mailbox), with progress
// on a job page, a result per mailbox and a CSV of them.
func TestBrowserSelectAllMatchingBulkEdit(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	const n = 2600
	seedBulk(t, env, n)
	before := auditCount(t, env)

	b := newTab(t)
	b.signIn(env.URL(), "rita@contoso.com", testenv.DemoPassword)
	b.open(env.URL() + "/admin/recipients/mailboxes?search=Bulk")
	b.text("#mailbox-list")
	if got := b.text("#list-status"); !strings.Contains(got, "0 selected of 2,600 total") {
		t.Fatalf("list status: %q", got)
	}
	if eval[bool](b, `!document.getElementById("select-all-bar").hidden`) {
		t.Error("the select-all bar shows before anything is selected")
	}

	// The header check box selects the page, and the bar offers the rest.
	b.click("#check-page")
	b.waitFor("every row selected", `document.querySelectorAll('#mailbox-list tbody tr[aria-selected="true"]').length === 100`)
	if got := b.text("#select-all-bar"); got != "All 100 mailboxes on this page are selected. Select all 2,600 mailboxes that match" {
		t.Errorf("select-all bar: %q", got)
	}
	b.clickLoads("#select-all")
	if got := b.text("#select-all-bar"); got != "All 2,600 mailboxes that match are selected. Clear selection" {
		t.Errorf("after Select all: bar %q", got)
	}
	if got := b.text("#bulk-count"); got != "All 2,600 mailboxes that match selected" {
		t.Errorf("details pane: %q", got)
	}
	if got := b.text("[data-selected-count]"); got != "2,600" {
		t.Errorf("selected count: %q", got)
	}
	b.clickLoads(`a[data-bulk="pop3-disable"]`)
	if got := b.text("#all-count"); !strings.Contains(got, "2,600 mailboxes match now") {
		t.Errorf("confirmation: %q", got)
	}
	if got := b.text("#confirm-text"); !strings.Contains(got, `Search: "Bulk"`) {
		t.Errorf("the confirmation does not say which search: %q", got)
	}
	// The job lives in the server's memory: the admin is told what a restart does.
	if got := b.text("#job-restart-note"); !strings.Contains(got, "If the server restarts before the job ends") || !strings.Contains(got, "result list are lost") {
		t.Errorf("the confirmation does not say what a restart does to the job: %q", got)
	}

	// A mailbox that starts to match after the confirmation is included.
	ctx := context.Background()
	if err := env.Store.Update(ctx, func(tx store.Tx) error {
		m := store.Mailbox{Name: "Bulk Latecomer", DisplayName: "Bulk Latecomer", Alias: "bulk.late", PrimarySmtpAddress: "bulk.late@contoso.com",
			UserPrincipalName: "bulk.late@contoso.com", PasswordHash: "x", PopEnabled: true, ImapEnabled: true}
		return tx.InsertMailbox(ctx, &m)
	}); err != nil {
		t.Fatal(err)
	}

	b.clickRoleLoads("button", "OK")
	if !strings.Contains(b.location(), "/admin/recipients/mailboxes/bulk/jobs/") {
		t.Fatalf("OK led to %s; want the job's page", b.location())
	}
	// The job answers at once; the page shows its progress while it runs.
	if eval[string](b, `document.getElementById("job").dataset.jobState`) == "running" {
		if got := b.text("#job-progress-text"); !strings.Contains(got, "of") {
			t.Errorf("progress text: %q", got)
		}
		if !eval[bool](b, `document.getElementById("job-progress") instanceof HTMLProgressElement`) {
			t.Error("no progress bar while the job runs")
		}
	} else {
		t.Log("the job had finished before its page loaded; progress not seen")
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		state, ok := pollEval[string](b, `(document.getElementById("job")||{dataset:{}}).dataset.jobState||""`)
		if ok && state != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job did not finish in 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	summary := b.text("#flash") + " " + b.text("#job-counts")
	for _, want := range []string{"Bulk Edit: POP3 disabled for 2,600 mailboxes. 1 mailbox failed.",
		"Changed: 2,600 mailboxes (listed below and in the CSV).", "Failed: Bulk User 0007: ", "Changed: 2,600 · Already disabled: 0 · Failed: 1"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	first := b.text("#job-results tbody tr")
	if !strings.Contains(first, "Failed") || !strings.Contains(first, "Organization Management") {
		t.Errorf("first result row: %q; want Bulk User 0007's failure with its reason", first)
	}
	if got := eval[int](b, `document.querySelectorAll("#job-results tbody tr").length`); got != 500 {
		t.Errorf("result rows shown: %d; want the first 500", got)
	}
	if got := b.text("#job-results-note"); !strings.Contains(got, "The first 500 of 2,601 results are shown") {
		t.Errorf("note on the rows not shown: %q", got)
	}

	// The CSV has every mailbox.
	href := eval[string](b, `document.getElementById("job-csv").href`)
	body := fetchText(b, href)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("results CSV: %v", err)
	}
	if len(rows) != n+2 { // header, 2,600 and the latecomer
		t.Errorf("CSV rows: %d; want %d", len(rows), n+2)
	}
	outcomes := map[string]int{}
	seen0007 := false
	for _, r := range rows[1:] {
		outcomes[r[2]]++
		if r[0] == "Bulk User 0007" {
			seen0007 = true
			if r[2] != "Failed" || !strings.Contains(r[3], "Organization Management") {
				t.Errorf("CSV row of Bulk User 0007: %v", r)
			}
		}
	}
	if !seen0007 {
		t.Error("the CSV has no row named Bulk User 0007")
	}
	if outcomes["Changed"] != n || outcomes["Failed"] != 1 {
		t.Errorf("CSV outcomes: %v", outcomes)
	}

	// What the service has: every matching mailbox but the one out of
	// scope changed, each audited on its own; nothing else touched.
	for _, name := range []string{"Bulk User 0001", "Bulk User 2600", "Bulk Latecomer"} {
		if casOf(t, env, name).PopEnabled {
			t.Errorf("%s: POP3 still enabled", name)
		}
	}
	if !casOf(t, env, "Bulk User 0007").PopEnabled {
		t.Error("Bulk User 0007, out of Recipient Management's scope, was changed")
	}
	if !casOf(t, env, "Christa Knapp").PopEnabled {
		t.Error("a mailbox outside the search was changed")
	}
	if got := auditCount(t, env) - before; got != n {
		t.Errorf("audit records of Set-CASMailbox: %d new; want %d", got, n)
	}

	// Back to the list: the selection is gone, the list as it was.
	b.clickLoads("#job-back")
	if got := b.location(); !strings.Contains(got, "search=Bulk") || strings.Contains(got, "all=1") {
		t.Errorf("back to the list: %s", got)
	}
}

// TestBulkEditJobPostgres runs the same Bulk Edit of every matching
// mailbox without a browser, on PostgreSQL: the confirmation, the job,
// its status as JSON until it ends, and the result in the store.
func TestBulkEditJobPostgres(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true, Postgres: true})
	const n = 2500
	seedBulk(t, env, n)
	before := auditCount(t, env)
	c := signedIn(t, env, "rita@contoso.com", testenv.DemoPassword)

	r := c.get("/admin/recipients/mailboxes/bulk?all=1&search=Bulk&protocol=imap4&action=disable")
	if r.status != 200 || !strings.Contains(r.body, "2,500 mailboxes match now") {
		t.Fatalf("confirmation: %d\n%s", r.status, r.body)
	}
	r = c.post("/admin/recipients/mailboxes/bulk", url.Values{"all": {"1"}, "search": {"Bulk"}, "protocol": {"imap4"}, "action": {"disable"}})
	if r.status != 303 || !strings.HasPrefix(r.location, "/admin/recipients/mailboxes/bulk/jobs/") {
		t.Fatalf("apply: %d %s\n%s", r.status, r.location, r.body)
	}
	job := r.location
	var st struct {
		State                                  string
		Total, Done, Changed, Failed, NoChange int
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r = c.get(job + "/status")
		if r.status != 200 {
			t.Fatalf("status: %d %s", r.status, r.body)
		}
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatal(err)
		}
		if st.State != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not finish: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.State != "done" || st.Total != n || st.Done != n || st.Changed != n-1 || st.Failed != 1 {
		t.Errorf("job status: %+v; want done, %d changed, 1 failed", st, n-1)
	}
	if casOf(t, env, "Bulk User 1999").ImapEnabled || !casOf(t, env, "Bulk User 0007").ImapEnabled {
		t.Error("the store does not hold what the job reported")
	}
	if got := auditCount(t, env) - before; got != n-1 {
		t.Errorf("audit records: %d new; want %d", got, n-1)
	}
	// Another administrator cannot read the job.
	other := signedIn(t, env, "admin", testenv.AdminPassword)
	if r := other.get(job); r.status != 404 {
		t.Errorf("another administrator reading the job: %d; want 404", r.status)
	}
}

// waitJob polls a Bulk Edit job's status until it has ended and returns
// its page then.
func waitJob(t testing.TB, c *client, job string) response {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := c.get(job + "/status")
		var st struct{ State string }
		if r.status != 200 || json.Unmarshal([]byte(r.body), &st) != nil {
			t.Fatalf("status of %s: %d %s", job, r.status, r.body)
		}
		if st.State != "running" {
			return c.get(job)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job %s did not end", job)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBulkEditJobStop: Stop ends a job after the slice under way; every
// mailbox is then either changed (and audited) or listed as not tried,
// none half done. Stop comes right after the start, so the job is stopped
// unless it already ended (then it says done, and nothing is "not tried").
func TestBulkEditJobStop(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	const n = 2500
	seedBulk(t, env, n)
	before := auditCount(t, env)
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	r := c.post("/admin/recipients/mailboxes/bulk", url.Values{"all": {"1"}, "search": {"Bulk"}, "protocol": {"pop3"}, "action": {"disable"}})
	if r.status != 303 {
		t.Fatalf("apply: %d\n%s", r.status, r.body)
	}
	job := r.location
	page := c.get(job)
	if stop := c.post(job+"/stop", url.Values{}); stop.status != 303 || stop.location != job {
		t.Fatalf("stop: %d %s", stop.status, stop.location)
	}
	page = waitJob(t, c, job)
	var st struct {
		State                                    string
		Total, Done, Changed, NoChange, NotTried int
	}
	if err := json.Unmarshal([]byte(c.get(job+"/status").body), &st); err != nil {
		t.Fatal(err)
	}
	changed := auditCount(t, env) - before
	switch st.State {
	case "stopped":
		if st.NotTried == 0 || st.Changed+st.NotTried != n || changed != st.Changed {
			t.Errorf("stopped job: %+v, %d audit records; want changed + not tried = %d, one record per change", st, changed, n)
		}
		if !strings.Contains(page.body, "Stopped by the administrator.") || !strings.Contains(page.body, "Bulk Edit stopped.") {
			t.Errorf("the page does not say it was stopped:\n%s", page.body)
		}
		if !strings.Contains(page.body, "Not tried") {
			t.Error("the result list does not show the mailboxes not tried")
		}
	case "done":
		t.Logf("the job ended before Stop arrived: %+v", st)
		if st.Changed != n || changed != n {
			t.Errorf("done job: %+v, %d audit records", st, changed)
		}
	default:
		t.Errorf("state %q", st.State)
	}
	// A stop for another administrator's job is refused.
	other := signedIn(t, env, "rita@contoso.com", testenv.DemoPassword)
	if r := other.post(job+"/stop", url.Values{}); r.status != 404 {
		t.Errorf("another administrator's stop: %d; want 404", r.status)
	}
}
