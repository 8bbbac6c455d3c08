package admincenter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// typeInto replaces the text of an input as a user does: select all of
// it, then type.
func (b *tab) typeInto(id, text string) {
	b.t.Helper()
	eval[bool](b, `(document.getElementById(`+jsString(id)+`).value = "", true)`)
	b.do("type into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
}

// TestBrowserMailboxQuota reads a mailbox's usage in the details pane,
// opens Manage mailbox quota, is refused a warning above the send limit,
// sets the limits, and sees the usage against the new limit; a delivery
// beyond it is then refused.
func TestBrowserMailboxQuota(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	toMailboxes(b)
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	if got := b.text("#details [data-usage-quota]"); got != "Unlimited" {
		t.Errorf("details pane quota: got %q; want Unlimited", got)
	}
	if got := b.text("#details [data-usage-status]"); got != "BelowLimit" {
		t.Errorf("details pane status: got %q; want BelowLimit", got)
	}
	size := b.text("#details [data-usage-size]")
	if !strings.HasSuffix(size, "KB") && !strings.HasSuffix(size, "MB") {
		t.Errorf("details pane size: got %q", size)
	}
	b.clickRoleLoads("link", "Manage mailbox quota")
	if got := b.text("#dialog-title"); got != "Mailbox usage" {
		t.Fatalf("dialog: got %q; want Mailbox usage", got)
	}

	// A warning above the send limit is refused, and what was typed stays.
	b.allowConsole("status of 400")
	b.typeInto("quota-warn", "3GB")
	b.typeInto("quota-send", "1.9GB")
	b.typeInto("quota-sendreceive", "2GB")
	b.clickRoleLoads("button", "Save")
	if got := b.text("#problem"); !strings.Contains(got, "IssueWarningQuota") {
		t.Errorf("refusal: got %q; want it to name IssueWarningQuota", got)
	}
	if got := eval[string](b, `document.getElementById("quota-sendreceive").value`); got != "2GB" {
		t.Errorf("after the refusal the field holds %q; want 2GB as typed", got)
	}

	b.typeInto("quota-warn", "1.8GB")
	b.clickRoleLoads("button", "Save")
	if got := b.text("#flash"); !strings.Contains(got, "The mailbox limits of Christa Knapp were saved.") ||
		!strings.Contains(got, "ProhibitSendReceiveQuota: 2 GB (2,147,483,648 bytes)") {
		t.Errorf("after Save: got %q", got)
	}
	st, err := env.Service.GetMailboxStatistics(context.Background(), adminCaller(t, env), "christa")
	if err != nil {
		t.Fatal(err)
	}
	if st.ProhibitSendReceiveQuota != "2 GB (2,147,483,648 bytes)" || st.IssueWarningQuota != "1.8 GB (1,932,735,283 bytes)" ||
		st.ProhibitSendQuota != "1.9 GB (2,040,109,465 bytes)" {
		t.Errorf("stored: %+v", st)
	}
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	if got := b.text("#details .usage-line"); !strings.Contains(got, "% of 2 GB") {
		t.Errorf("details pane usage: got %q; want a share of 2 GB", got)
	}

	// Down to what the mailbox holds: the pane says it is full, and a
	// delivery is refused.
	b.clickRoleLoads("link", "Manage mailbox quota")
	b.typeInto("quota-warn", "")
	b.typeInto("quota-send", "")
	b.typeInto("quota-sendreceive", st.TotalItemSize)
	b.clickRoleLoads("button", "Save")
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	if got := b.text("#details [data-usage-status]"); got != "MailboxDisabled" {
		t.Errorf("at the limit: status %q; want MailboxDisabled", got)
	}
	if got := b.text("#details .usage-line"); !strings.Contains(got, "100% of") {
		t.Errorf("at the limit: %q", got)
	}
	var m store.Mailbox
	ctx := context.Background()
	env.Store.View(ctx, func(tx store.Tx) error { m, err = tx.MailboxByAddress(ctx, "christa@contoso.com"); return err })
	if _, err := env.Store.Deliver(ctx, []int64{m.ID}, store.NewMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")}); err == nil {
		t.Error("a delivery beyond the limit set in the admin center was stored")
	}
}
