package delivery_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// setRoom gives the mailbox of addr a ProhibitSendReceiveQuota of its
// present size plus room octets, and returns the mailbox.
func setRoom(t *testing.T, e *testenv.Env, addr string, room int64) store.Mailbox {
	t.Helper()
	var m store.Mailbox
	if err := e.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if m, err = tx.MailboxByAddress(ctx, addr); err != nil {
			return err
		}
		u, err := e.Store.MailboxUsage(ctx, m.ID)
		if err != nil {
			return err
		}
		return tx.SetMailboxQuota(ctx, m.ID, store.MailboxQuota{ProhibitSendReceive: u.Size + room}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLMTPOverQuota: after DATA, a recipient whose mailbox has no room for
// the message gets 452 4.2.2 and the others in the same transaction get
// their 250; a recipient already full is refused at RCPT.
func TestLMTPOverQuota(t *testing.T) {
	engines(t, func(t *testing.T, o testenv.Options) {
		e := testenv.Start(t, o)
		full := setRoom(t, e, "christa@contoso.com", 1000)
		_, christaBefore := inbox(t, e, "christa@contoso.com")
		_, pilarBefore := inbox(t, e, "pilar@contoso.com")
		c := lmtpClient(t, e.Addr("lmtp"))
		if err := c.Mail("sender@example.org", nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"christa@contoso.com", "pilar@contoso.com"} {
			if err := c.Rcpt(r, nil); err != nil {
				t.Fatalf("RCPT %s: %v", r, err)
			}
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: too big for christa\r\n\r\n%s\r\n", strings.Repeat("x", 1500))
		_, err = w.CloseWithLMTPResponse()
		var statuses smtp.LMTPDataError
		if !errors.As(err, &statuses) {
			t.Fatalf("DATA: got %v; want per-recipient errors", err)
		}
		if s := statuses["christa@contoso.com"]; s == nil || s.Code != 452 || s.EnhancedCode != (smtp.EnhancedCode{4, 2, 2}) || !strings.HasSuffix(s.Message, "Mailbox full") {
			t.Errorf("christa: got %v; want 452 4.2.2 Mailbox full", s)
		}
		if s := statuses["pilar@contoso.com"]; s != nil {
			t.Errorf("pilar: got %v; want delivered", s)
		}
		if _, after := inbox(t, e, "christa@contoso.com"); len(after) != len(christaBefore) {
			t.Errorf("christa: %d messages; want %d (nothing stored)", len(after), len(christaBefore))
		}
		if _, after := inbox(t, e, "pilar@contoso.com"); len(after) != len(pilarBefore)+1 {
			t.Errorf("pilar: %d messages; want %d", len(after), len(pilarBefore)+1)
		}
		u, err := e.Store.MailboxUsage(ctx, full.ID)
		if err != nil || u.Size > u.Quota.ProhibitSendReceive {
			t.Errorf("christa's usage %+v, %v; want within the quota", u, err)
		}

		// A small message still fits.
		if err := c.Mail("sender@example.org", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("christa@contoso.com", nil); err != nil {
			t.Fatal(err)
		}
		w, _ = c.Data()
		fmt.Fprintf(w, "Subject: small\r\n\r\nhi\r\n")
		if err := w.Close(); err != nil {
			t.Errorf("small message: %v", err)
		}

		// Full now: refused at RCPT, and so is a declared SIZE without room.
		setRoom(t, e, "christa@contoso.com", 0)
		setRoom(t, e, "pilar@contoso.com", 1000)
		if err := c.Mail("sender@example.org", nil); err != nil {
			t.Fatal(err)
		}
		var serr *smtp.SMTPError
		if err := c.Rcpt("christa@contoso.com", nil); !errorAs(err, &serr) || serr.Code != 452 || serr.EnhancedCode != (smtp.EnhancedCode{4, 2, 2}) {
			t.Errorf("RCPT to a full mailbox: got %v; want 452 4.2.2", err)
		}
		c.Reset()
		if err := c.Mail("sender@example.org", &smtp.MailOptions{Size: 5000}); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("pilar@contoso.com", nil); !errorAs(err, &serr) || serr.Code != 452 {
			t.Errorf("RCPT with a SIZE beyond the room: got %v; want 452 4.2.2", err)
		}
		c.Reset()
	})
}

// TestSMTPOverQuota: SMTP has one answer after DATA, so a message that does
// not fit one recipient is refused for all (nothing stored, 452 4.2.2);
// the sender retries and the RCPT check then refuses only the full one.
func TestSMTPOverQuota(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	setRoom(t, e, "christa@contoso.com", 100)
	_, pilarBefore := inbox(t, e, "pilar@contoso.com")
	c, err := smtp.Dial(e.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("sender@example.org", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"christa@contoso.com", "pilar@contoso.com"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatalf("RCPT %s: %v", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Subject: big\r\n\r\n%s\r\n", strings.Repeat("y", 500))
	err = w.Close()
	var serr *smtp.SMTPError
	if !errorAs(err, &serr) || serr.Code != 452 || serr.EnhancedCode != (smtp.EnhancedCode{4, 2, 2}) {
		t.Errorf("SMTP DATA beyond a recipient's quota: got %v; want 452 4.2.2", err)
	}
	if _, after := inbox(t, e, "pilar@contoso.com"); len(after) != len(pilarBefore) {
		t.Errorf("pilar: %d messages; want %d (all or nothing)", len(after), len(pilarBefore))
	}
}

// TestPythonLMTPOverQuota speaks LMTP with Python's smtplib and reads the
// per-recipient replies after DATA (RFC 2033 §4.2) itself: smtplib's own
// sendmail reads only one.
func TestPythonLMTPOverQuota(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the real-client tests (.ci/run installs it)")
	}
	e := testenv.Start(t, testenv.Options{Demo: true})
	setRoom(t, e, "christa@contoso.com", 200)
	_, before := inbox(t, e, "pilar@contoso.com")
	host, port, _ := net.SplitHostPort(e.Addr("lmtp"))
	script := fmt.Sprintf(`
import smtplib
l = smtplib.LMTP(%q, %s)
l.ehlo("mx.example.org")
assert l.mail("py@example.org")[0] == 250
rcpts = ["christa@contoso.com", "pilar@contoso.com", "ben@contoso.com"]
for r in rcpts:
    code, msg = l.rcpt(r)
    assert code == 250, (r, code, msg)
code, msg = l.docmd("DATA")
assert code == 354, (code, msg)
l.send(b"Subject: via LMTP\r\n\r\n" + b"z" * 600 + b"\r\n.\r\n")
for r in rcpts:
    code, msg = l.getreply()
    print(r, code, msg.decode())
l.quit()
`, host, port)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	want := "christa@contoso.com 452 4.2.2 <christa@contoso.com> Mailbox full\n" +
		"pilar@contoso.com 250 2.0.0 <pilar@contoso.com> Saved to INBOX\n" +
		"ben@contoso.com 250 2.0.0 <ben@contoso.com> Saved to INBOX"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("replies:\n%s\nwant:\n%s", got, want)
	}
	if _, after := inbox(t, e, "pilar@contoso.com"); len(after) != len(before)+1 {
		t.Errorf("pilar: %d messages; want %d", len(after), len(before)+1)
	}
}

func errorAs(err error, target **smtp.SMTPError) bool { return errors.As(err, target) }
