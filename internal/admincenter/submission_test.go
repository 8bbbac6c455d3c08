package admincenter_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestAuthenticatedSMTPToggle: Mailbox Features > Email Connectivity shows
// "Authenticated SMTP: Enabled" (the organization's setting), and Disable +
// Save sets the mailbox's own SmtpClientAuthenticationDisabled to $true.
func TestAuthenticatedSMTPToggle(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	christa := guidOf(t, env, "Christa Knapp")
	r := c.get("/admin/recipients/mailboxes/edit?section=features&id=" + christa)
	if !strings.Contains(r.body, `Authenticated SMTP: <span data-state="smtp">Enabled</span> <span class="hint">(organization setting)</span>`) {
		t.Fatalf("dialog lacks Authenticated SMTP: Enabled (organization setting):\n%s", r.body)
	}
	link := regexp.MustCompile(`<a href="([^"]+)" class="toggle" id="smtp-toggle"`).FindStringSubmatch(r.body)
	if link == nil {
		t.Fatal("no Disable link for Authenticated SMTP")
	}
	r = c.get(html.UnescapeString(link[1]))
	if !strings.Contains(r.body, `Authenticated SMTP: <span data-state="smtp">Disabled</span>`) || !strings.Contains(r.body, `name="smtp" value="false"`) {
		t.Errorf("pending dialog lacks Authenticated SMTP: Disabled")
	}
	got := flashOf(t, c, c.post("/admin/recipients/mailboxes/edit", url.Values{"id": {christa}, "pop": {"true"}, "imap": {"true"},
		"orig_pop": {"true"}, "orig_imap": {"true"}, "smtp": {"false"}, "orig_smtp": {"true"}}))
	if want := "Saved Christa Knapp: Authenticated SMTP disabled."; got != want {
		t.Errorf("flash: got %q; want %q", got, want)
	}
	if m := casOf(t, env, "Christa Knapp"); m.SmtpClientAuthenticationDisabled == nil || !*m.SmtpClientAuthenticationDisabled {
		t.Errorf("after Save: SmtpClientAuthenticationDisabled = %v; want $true", m.SmtpClientAuthenticationDisabled)
	}
	r = c.get("/admin/recipients/mailboxes/edit?section=features&id=" + christa)
	if !strings.Contains(r.body, `Authenticated SMTP: <span data-state="smtp">Disabled</span></p>`) {
		t.Errorf("reopened dialog lacks Authenticated SMTP: Disabled (the mailbox's own)")
	}
}

// TestQueuePage: Mail flow > Queue lists the queued messages a page at a
// time (50), Retry queue makes them due, Remove asks and then removes; a
// View-Only administrator sees the list without the buttons.
func TestQueuePage(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	var m store.Mailbox
	env.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByAddress(context.Background(), "christa@contoso.com")
		return err
	})
	var ids []int64
	for i := range 50 + 5 {
		id, err := env.Store.Enqueue(context.Background(), store.OutboundMessage{MailboxID: m.ID, From: "christa@contoso.com",
			Recipients: []string{fmt.Sprintf("r%d@fabrikam.com", i)}, Data: []byte("Subject: q\r\n\r\nx\r\n"), Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	c := signedIn(t, env, "admin", testenv.AdminPassword)
	r := c.get("/admin/mail-flow/queue")
	checkPage(t, "/admin/mail-flow/queue", r)
	if !strings.Contains(r.body, "55 messages") || strings.Count(r.body, "<tr>") != 50+1 || !strings.Contains(r.body, "r0@fabrikam.com") {
		t.Fatalf("first page: want 55 messages in all, 50 rows:\n%s", r.body)
	}
	// No smarthost in this server: the page says so in words, not as a
	// next hop named "(no smarthost configured)".
	if !strings.Contains(r.body, "No smarthost is configured") || strings.Contains(r.body, "Smarthost to (") {
		t.Errorf("queue state without a smarthost: want it said plainly:\n%s", r.body)
	}
	next := regexp.MustCompile(`<a href="([^"]+)" id="queue-next">`).FindStringSubmatch(r.body)
	if next == nil {
		t.Fatal("no Next page link")
	}
	r2 := c.get(html.UnescapeString(next[1]))
	if strings.Count(r2.body, "<tr>") != 5+1 || !strings.Contains(r2.body, "r54@fabrikam.com") || strings.Contains(r2.body, `id="queue-next"`) {
		t.Errorf("second page: want the last 5 and no Next link")
	}
	// Remove: a confirmation first, then the message is gone.
	ident := fmt.Sprintf(`Smarthost\%d`, ids[0])
	r = c.get("/admin/mail-flow/queue/remove?id=" + url.QueryEscape(ident))
	checkPage(t, "/admin/mail-flow/queue/remove", r)
	if !strings.Contains(r.body, "Are you sure you want to remove") {
		t.Fatalf("no confirmation:\n%s", r.body)
	}
	if got := flashOf(t, c, c.post("/admin/mail-flow/queue/remove", url.Values{"id": {ident}})); !strings.Contains(got, "Removed "+ident) {
		t.Errorf("flash: got %q", got)
	}
	if r := c.get("/admin/mail-flow/queue/remove?id=" + url.QueryEscape(ident)); r.status != http.StatusNotFound {
		t.Errorf("removed message: got %d; want 404", r.status)
	}
	// Retry queue: nothing waits for a retry yet (no attempt was made
	// without a smarthost... or the runner made some): either way it answers.
	got := flashOf(t, c, c.post("/admin/mail-flow/queue/retry", url.Values{}))
	if !strings.Contains(got, "Retrying now") && !strings.Contains(got, "nothing changed") {
		t.Errorf("Retry queue flash: got %q", got)
	}
	// View-Only: the list, no buttons.
	v := signedIn(t, env, "victor", testenv.DemoPassword)
	r = v.get("/admin/mail-flow/queue")
	if r.status != 200 || !strings.Contains(r.body, `id="retry-queue" disabled`) || strings.Contains(r.body, ">Remove</a>") {
		t.Errorf("View-Only: got %d; want the list with a disabled Retry queue and no Remove", r.status)
	}
	if r := v.post("/admin/mail-flow/queue/retry", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("View-Only Retry queue: got %d; want 403", r.status)
	}
}
