package shell

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2ESubmissionCmdlets runs the cmdlets of issue 16 against a real
// server: the nullable -SmtpClientAuthenticationDisabled of Set-CASMailbox,
// Get-/Set-TransportConfig, and the queue viewer (Get-Queue, Get-Message
// paging through every message, Retry-Queue, Remove-Message). The queue
// holds messages for a smarthost that is not configured, so they stay.
func TestE2ESubmissionCmdlets(t *testing.T) {
	env := startServer(t)
	var m store.Mailbox
	if err := env.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByAddress(context.Background(), "christa@contoso.com")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 3 {
		id, err := env.Store.Enqueue(context.Background(), store.OutboundMessage{MailboxID: m.ID, From: "christa@contoso.com",
			Recipients: []string{fmt.Sprintf("r%d@fabrikam.com", i)}, Data: []byte("Subject: q\r\n\r\nx\r\n"), Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	admin := func(src string) string {
		t.Helper()
		code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, src)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", src, code, errOut)
		}
		return out
	}
	steps := []struct{ src, want string }{
		{`Set-CASMailbox christa -SmtpClientAuthenticationDisabled $true; Get-CASMailbox christa | Format-List SmtpClient*`, "SmtpClientAuthenticationDisabled : True"},
		{`Get-CASMailbox christa | Format-List SmtpClientAuthAccess`, "SmtpClientAuthAccess : Disabled"},
		{`Set-CASMailbox christa -SmtpClientAuthenticationDisabled $null; Set-TransportConfig -SmtpClientAuthenticationDisabled $true; Get-CASMailbox christa | Format-List SmtpClientAuthAccess`,
			"SmtpClientAuthAccess : Disabled for the organization"},
		{`Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled`, "SmtpClientAuthenticationDisabled : True"},
		{`Get-Queue | Format-List Identity,MessageCount,DeliveryType`, "MessageCount : 3"},
		{`(Get-Message -ResultSize Unlimited | Measure-Object).Count`, "3"},
		{`Get-Message -Identity "Smarthost\` + fmt.Sprint(ids[1]) + `" | Format-List Recipients`, "r1@fabrikam.com"},
		{`Retry-Queue -Identity Smarthost -WhatIf`, "What if"},
		{`Remove-Message -Identity "Smarthost\` + fmt.Sprint(ids[0]) + `" -Confirm:$false; (Get-Message -ResultSize Unlimited | Measure-Object).Count`, "2"},
	}
	for _, st := range steps {
		if out := admin(st.src); !strings.Contains(out, st.want) {
			t.Errorf("%s: got %q; want it to contain %q", st.src, out, st.want)
		}
	}
	// -ResultSize cuts the listing and says so.
	if _, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, `Get-Message -ResultSize 1 | Measure-Object | ForEach-Object Count`); out != "1\n" ||
		!strings.Contains(errOut, "more results available") {
		t.Errorf("-ResultSize 1: got %q, %q; want 1 and Exchange's warning", out, errOut)
	}
	// A removed message is not found, in Exchange's words.
	code, _, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, `Remove-Message -Identity "Smarthost\`+fmt.Sprint(ids[0])+`" -Confirm:$false`)
	if code == 0 && !strings.Contains(errOut, "couldn't be found") {
		t.Errorf("removing twice: exit %d, stderr %q; want not found", code, errOut)
	}
	if !strings.Contains(errOut, "couldn't be found") {
		t.Errorf("removing twice: stderr %q; want Exchange's not-found message", errOut)
	}
	// The changes are in the audit log: four that succeeded, and the
	// second Remove-Message that failed.
	if out := admin(`Search-AdminAuditLog -Cmdlets Set-TransportConfig,Remove-Message,Set-CASMailbox -IsSuccess $true | Measure-Object | ForEach-Object Count`); out != "4\n" {
		t.Errorf("audit records that succeeded: got %q; want 4", out)
	}
	if out := admin(`Search-AdminAuditLog -Cmdlets Remove-Message -IsSuccess $false | Measure-Object | ForEach-Object Count`); out != "1\n" {
		t.Errorf("failed Remove-Message records: got %q; want 1", out)
	}
}
