package submission_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestNoSmarthostRefusesRemote: without --smarthost, swaks's recipient
// outside the organization is refused at RCPT with 550 5.7.1 and the
// reason, the local one in the same transaction still gets the message,
// and nothing waits in the queue. Without a smarthost the message could
// only wait until it expired.
func TestNoSmarthostRefusesRemote(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	// Plaintext AUTH, which loopback allows: swaks's STARTTLS needs Perl's
	// Net::SSLeay, which this machine lacks.
	out, _ := exec.Command("swaks", "--server", e.Addr("submission"), "--auth", "PLAIN",
		"--auth-user", christa, "--auth-password", testenv.DemoPassword, "--from", christa,
		"--header", "From: Christa Knapp <christa@contoso.com>", "--header", "Subject: no smarthost",
		"--to", "ok@fabrikam.com,christa.lee@contoso.com").CombinedOutput()
	const want = "<** 550 5.7.1 Unable to relay to ok@fabrikam.com: this server sends no mail outside the organization (no smarthost is configured). Contact your administrator."
	if !strings.Contains(string(out), want) {
		t.Errorf("swaks to a remote recipient without a smarthost:\n%s\nwant the line %q", out, want)
	}
	if !strings.Contains(string(out), "<-  250 2.0.0 OK") || strings.Contains(string(out), "<** 4") {
		t.Errorf("the local recipient and the message were not accepted:\n%s", out)
	}
	if got := withSubject(t, e, "christa.lee@contoso.com", "no smarthost"); len(got) != 1 {
		t.Errorf("local recipient: got %d messages; want 1", len(got))
	}
	if q := queue(t, e); len(q) != 0 {
		t.Errorf("queue: got %d messages; want none", len(q))
	}
}
