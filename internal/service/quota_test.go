package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func TestParseQuota(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"2GB", 2 << 30, false},
		{"2 GB", 2 << 30, false},
		{"1.8GB", 1932735283, false},
		{"500MB", 500 << 20, false},
		{"500mb", 500 << 20, false},
		{"100KB", 100 << 10, false},
		{"1TB", 1 << 40, false},
		{"2048", 2048, false},
		{"2048B", 2048, false},
		{"2 GB (2,147,483,648 bytes)", 2 << 30, false},
		{"1.8 GB (1,932,735,283 bytes)", 1932735283, false},
		{"Unlimited", 0, false},
		{" unlimited ", 0, false},
		{"0", 0, true},
		{"0GB", 0, true},
		{"-1GB", 0, true},
		{"2 PB", 0, true},
		{"3TB", 0, true},
		{"lots", 0, true},
		{"1.2.3GB", 0, true},
		{"", 0, true},
	} {
		got, err := service.ParseQuota("ProhibitSendReceiveQuota", tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseQuota(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
		var ve *service.ValidationError
		if err != nil && (!errors.As(err, &ve) || ve.Parameter != "ProhibitSendReceiveQuota") {
			t.Errorf("ParseQuota(%q): error %v is not a validation error of the parameter", tc.in, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0 B (0 bytes)"},
		{512, "512 B (512 bytes)"},
		{22357, "21.833 KB (22,357 bytes)"},
		{1533190, "1.462 MB (1,533,190 bytes)"},
		{2 << 30, "2 GB (2,147,483,648 bytes)"},
		{1932735283, "1.8 GB (1,932,735,283 bytes)"},
		{53150220288, "49.5 GB (53,150,220,288 bytes)"},
	} {
		if got := service.FormatSize(tc.in); got != tc.want {
			t.Errorf("FormatSize(%d) = %q; want %q", tc.in, got, tc.want)
		}
	}
	if got := service.FormatQuota(0); got != "Unlimited" {
		t.Errorf("FormatQuota(0) = %q; want Unlimited", got)
	}
}

// TestSetMailboxQuota: Set-Mailbox sets, shows, audits and validates the
// quotas; Help Desk may not; Get-MailboxStatistics reports the status.
func TestSetMailboxQuota(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 2)
	id := "User user000000"
	res, err := e.svc.SetMailbox(ctx, recipient, id, service.SetMailboxRequest{
		ProhibitSendReceiveQuota: ptr("2GB"), ProhibitSendQuota: ptr("1.9GB"), IssueWarningQuota: ptr("1.8GB")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 3 || res.Changes[2].Name != "ProhibitSendReceiveQuota" || res.Changes[2].OldValue != "Unlimited" ||
		res.Changes[2].NewValue != "2 GB (2,147,483,648 bytes)" {
		t.Errorf("changes: got %+v", res.Changes)
	}
	m, err := e.svc.GetMailbox(ctx, recipient, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.ProhibitSendReceiveQuota != "2 GB (2,147,483,648 bytes)" || m.ProhibitSendQuota != "1.9 GB (2,040,109,465 bytes)" ||
		m.IssueWarningQuota != "1.8 GB (1,932,735,283 bytes)" {
		t.Errorf("Get-Mailbox: got %q, %q, %q", m.ProhibitSendReceiveQuota, m.ProhibitSendQuota, m.IssueWarningQuota)
	}
	st := e.state(t)
	last := st.audit[0]
	if last.CmdletName != "Set-Mailbox" || !last.Succeeded || len(last.ModifiedProperties) != 3 {
		t.Errorf("audit: got %+v", last)
	}
	// The same values again change nothing and write nothing.
	res, err = e.svc.SetMailbox(ctx, recipient, id, service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr("2 GB (2,147,483,648 bytes)")})
	if err != nil || !res.NoChange {
		t.Errorf("same value: got %+v, %v; want no change", res, err)
	}

	for _, tc := range []struct {
		name  string
		req   service.SetMailboxRequest
		param string
	}{
		{"warning above send", service.SetMailboxRequest{IssueWarningQuota: ptr("1.95GB")}, "IssueWarningQuota"},
		{"send above send-receive", service.SetMailboxRequest{ProhibitSendQuota: ptr("3GB")}, "ProhibitSendQuota"},
		{"send-receive below send", service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr("1GB")}, "ProhibitSendQuota"},
		{"bad size", service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr("two gigs")}, "ProhibitSendReceiveQuota"},
	} {
		_, err := e.svc.SetMailbox(ctx, recipient, id, tc.req)
		var ve *service.ValidationError
		if !errors.As(err, &ve) || ve.Parameter != tc.param {
			t.Errorf("%s: got %v; want a validation error of %s", tc.name, err, tc.param)
		}
	}
	if _, err := e.svc.SetMailbox(ctx, helpDesk, id, service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr("1GB")}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("Help Desk: got %v; want ErrForbidden", err)
	}
	// Unlimited limits are not compared: a send-receive limit alone is fine.
	if _, err := e.svc.SetMailbox(ctx, orgAdmin, id, service.SetMailboxRequest{ProhibitSendQuota: ptr("Unlimited"),
		IssueWarningQuota: ptr("Unlimited")}); err != nil {
		t.Errorf("only a send-receive limit: %v", err)
	}
	// All three Unlimited in one go is in order.
	if _, err := e.svc.SetMailbox(ctx, orgAdmin, id, service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr("Unlimited"),
		ProhibitSendQuota: ptr("Unlimited"), IssueWarningQuota: ptr("Unlimited")}); err != nil {
		t.Errorf("all Unlimited: %v", err)
	}

	// Statistics follow the mailbox's size.
	var mb store.Mailbox
	e.st.View(ctx, func(tx store.Tx) error { mb, err = tx.MailboxByAddress(ctx, "user000000@contoso.com"); return err })
	if _, err := e.st.Deliver(ctx, []int64{mb.ID}, store.NewMessage{Raw: make([]byte, 1000)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		warn, send, sendReceive string
		want                    string
	}{
		{"Unlimited", "Unlimited", "Unlimited", "BelowLimit"},
		{"2000", "3000", "4000", "BelowLimit"},
		{"1000", "3000", "4000", "IssueWarning"},
		{"500", "1000", "4000", "ProhibitSend"},
		{"500", "1000", "1000", "MailboxDisabled"},
	} {
		if _, err := e.svc.SetMailbox(ctx, orgAdmin, id, service.SetMailboxRequest{IssueWarningQuota: ptr("Unlimited"),
			ProhibitSendQuota: ptr("Unlimited"), ProhibitSendReceiveQuota: ptr("Unlimited")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetMailbox(ctx, orgAdmin, id, service.SetMailboxRequest{ProhibitSendReceiveQuota: ptr(tc.sendReceive),
			ProhibitSendQuota: ptr(tc.send), IssueWarningQuota: ptr(tc.warn)}); err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.GetMailboxStatistics(ctx, helpDesk, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.StorageLimitStatus != tc.want || s.ItemCount != 1 || s.TotalItemSize != "1000 B (1,000 bytes)" {
			t.Errorf("limits %s/%s/%s: got %+v; want %s", tc.warn, tc.send, tc.sendReceive, s, tc.want)
		}
	}
}
