package shell

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EQuota sets quotas with Set-Mailbox in every size form Exchange
// takes, reads them back with Get-Mailbox and Get-MailboxStatistics, and
// checks the refusals, against a real server.
func TestE2EQuota(t *testing.T) {
	env := startServer(t)
	admin := func(src string) (int, string, string) {
		t.Helper()
		return shellRun(t, env, "", "admin", testenv.AdminPassword, src)
	}
	steps := []struct {
		src     string
		wantOut []string
		wantErr string
	}{
		{src: `Set-Mailbox christa -ProhibitSendReceiveQuota 2GB -ProhibitSendQuota 1.9GB -IssueWarningQuota 1.8GB`},
		{src: `Get-Mailbox christa | Format-List *Quota`, wantOut: []string{
			"IssueWarningQuota        : 1.8 GB (1,932,735,283 bytes)",
			"ProhibitSendQuota        : 1.9 GB (2,040,109,465 bytes)",
			"ProhibitSendReceiveQuota : 2 GB (2,147,483,648 bytes)"}},
		{src: `Set-Mailbox christa -ProhibitSendReceiveQuota "3 GB (3,221,225,472 bytes)" -IssueWarningQuota 500MB`},
		{src: `(Get-Mailbox christa).ProhibitSendReceiveQuota; (Get-Mailbox christa).IssueWarningQuota`,
			wantOut: []string{"3 GB (3,221,225,472 bytes)\n500 MB (524,288,000 bytes)\n"}},
		{src: `Get-MailboxStatistics christa`, wantOut: []string{"DisplayName", "ItemCount", "TotalItemSize", "StorageLimitStatus", "Christa Knapp", "BelowLimit"}},
		{src: `Get-Mailbox -Identity christa | Get-MailboxStatistics | Select-Object -ExpandProperty StorageLimitStatus`, wantOut: []string{"BelowLimit\n"}},
		{src: `Set-Mailbox christa -IssueWarningQuota 4GB`, wantErr: "The value of property 'IssueWarningQuota' must be less than or equal to that of property 'ProhibitSendQuota'"},
		{src: `Set-Mailbox christa -ProhibitSendReceiveQuota lots`, wantErr: "Cannot convert value \"lots\" to type ByteQuantifiedSize"},
		{src: `Set-Mailbox christa -ProhibitSendReceiveQuota Unlimited -ProhibitSendQuota Unlimited -IssueWarningQuota Unlimited`},
		{src: `(Get-Mailbox christa).ProhibitSendReceiveQuota`, wantOut: []string{"Unlimited\n"}},
		{src: `Get-MailboxStatistics nobody-at-all`, wantErr: "couldn't be found"},
	}
	for _, st := range steps {
		code, out, errOut := admin(st.src)
		if st.wantErr != "" {
			if !strings.Contains(errOut, st.wantErr) {
				t.Errorf("%s: exit %d, stderr %q; want it to say %q", st.src, code, errOut, st.wantErr)
			}
			continue
		}
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", st.src, code, errOut)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output %q lacks %q", st.src, out, w)
			}
		}
	}

	// A limit at the mailbox's size: StorageLimitStatus says so, and a
	// delivery is refused.
	_, out, _ := admin(`(Get-MailboxStatistics christa).TotalItemSizeBytes`)
	size := strings.TrimSpace(out)
	if code, _, errOut := admin(`Set-Mailbox christa -ProhibitSendReceiveQuota ` + size); code != 0 || errOut != "" {
		t.Fatalf("set the limit to %s: %d %s", size, code, errOut)
	}
	if _, out, _ := admin(`(Get-MailboxStatistics christa).StorageLimitStatus`); strings.TrimSpace(out) != "MailboxDisabled" {
		t.Errorf("at the limit: StorageLimitStatus %q; want MailboxDisabled", out)
	}
	ctx := context.Background()
	var m store.Mailbox
	if err := env.Store.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByAddress(ctx, "christa@contoso.com")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Deliver(ctx, []int64{m.ID}, store.NewMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")}); err == nil {
		t.Error("delivery to a full mailbox succeeded")
	}
	// Help Desk may look but not set.
	if code, _, errOut := shellRun(t, env, "", "holly", testenv.DemoPassword, `Set-Mailbox christa -ProhibitSendReceiveQuota 1GB`); code == 0 && errOut == "" {
		t.Error("Help Desk set a quota")
	}
	// The audit log holds the changes with Exchange's values.
	if _, out, _ := admin(`Search-AdminAuditLog -Cmdlets Set-Mailbox -ObjectIds christa | Format-List`); !strings.Contains(out, "ProhibitSendReceiveQuota") || !strings.Contains(out, "2 GB (2,147,483,648 bytes)") {
		t.Errorf("audit: %q", out)
	}
}
