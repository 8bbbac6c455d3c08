package api_test

import (
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestQuotaREST sets quotas with PATCH, reads them back from Get-Mailbox and
// Get-MailboxStatistics, and gets a 400 naming the parameter for a bad
// value or a wrong order.
func TestQuotaREST(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	rita := signIn(t, e, "rita", testenv.DemoPassword)
	var res struct {
		Changes []struct{ Name, OldValue, NewValue string }
	}
	if s := rita.json("PATCH", "/api/v1/mailboxes/christa", map[string]string{"ProhibitSendReceiveQuota": "2GB",
		"ProhibitSendQuota": "1.9 GB", "IssueWarningQuota": "1.8GB"}, &res); s != 200 || len(res.Changes) != 3 {
		t.Fatalf("PATCH: %d %+v", s, res)
	}
	var m struct{ ProhibitSendReceiveQuota, ProhibitSendQuota, IssueWarningQuota string }
	if s := rita.json("GET", "/api/v1/mailboxes/christa", nil, &m); s != 200 || m.ProhibitSendReceiveQuota != "2 GB (2,147,483,648 bytes)" ||
		m.IssueWarningQuota != "1.8 GB (1,932,735,283 bytes)" {
		t.Errorf("Get-Mailbox: %d %+v", s, m)
	}
	var st struct {
		ItemCount          int64
		TotalItemSize      string
		TotalItemSizeBytes int64
		StorageLimitStatus string
	}
	if s := rita.json("GET", "/api/v1/mailboxes/christa/statistics", nil, &st); s != 200 || st.ItemCount == 0 ||
		st.TotalItemSizeBytes == 0 || st.StorageLimitStatus != "BelowLimit" {
		t.Errorf("Get-MailboxStatistics: %d %+v", s, st)
	}
	// Just above the mailbox's size: it can receive nothing more.
	if s := rita.json("PATCH", "/api/v1/mailboxes/christa", map[string]string{"ProhibitSendReceiveQuota": "Unlimited",
		"ProhibitSendQuota": "Unlimited", "IssueWarningQuota": "Unlimited"}, nil); s != 200 {
		t.Fatalf("PATCH Unlimited: %d", s)
	}
	if s := rita.json("PATCH", "/api/v1/mailboxes/christa", map[string]any{"ProhibitSendReceiveQuota": st.TotalItemSize}, nil); s != 200 {
		t.Fatalf("PATCH %q: %d", st.TotalItemSize, s)
	}
	if s := rita.json("GET", "/api/v1/mailboxes/christa/statistics", nil, &st); s != 200 || st.StorageLimitStatus != "MailboxDisabled" {
		t.Errorf("at the limit: %d %+v", s, st)
	}
	for _, tc := range []struct {
		body  map[string]string
		param string
	}{
		{map[string]string{"ProhibitSendReceiveQuota": "huge"}, "ProhibitSendReceiveQuota"},
		{map[string]string{"IssueWarningQuota": "3GB", "ProhibitSendQuota": "2GB"}, "IssueWarningQuota"},
	} {
		status, out := rita.do("PATCH", "/api/v1/mailboxes/christa", tc.body)
		if eb := errorOf(t, out); status != 400 || eb.Error.Parameter != tc.param {
			t.Errorf("PATCH %v: %d %s; want 400 naming %s", tc.body, status, out, tc.param)
		}
	}
	holly := signIn(t, e, "holly", testenv.DemoPassword)
	if s, out := holly.do("PATCH", "/api/v1/mailboxes/christa", map[string]string{"ProhibitSendReceiveQuota": "1GB"}); s != 403 {
		t.Errorf("Help Desk: %d %s; want 403", s, out)
	}
	if s := holly.json("GET", "/api/v1/mailboxes/christa/statistics", nil, &st); s != 200 {
		t.Errorf("Help Desk reads statistics: %d", s)
	}
	if s, _ := rita.do("GET", "/api/v1/mailboxes/nobody-here/statistics", nil); s != 404 {
		t.Errorf("statistics of a missing mailbox: %d; want 404", s)
	}
}
