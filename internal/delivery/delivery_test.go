package delivery_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

var ctx = context.Background()

// engines runs a test on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, o testenv.Options)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testenv.Options{Demo: true}) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Options{Demo: true, Postgres: true}) })
}

func inbox(t *testing.T, e *testenv.Env, who string) (store.Folder, []store.MessageMeta) {
	t.Helper()
	var m store.Mailbox
	if err := e.Store.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByAddress(ctx, who)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f, err := e.Store.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.MessageMeta
	e.Store.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, store.MetaSummary, func(mm store.MessageMeta) error {
		msgs = append(msgs, mm)
		return nil
	})
	return f, msgs
}

func body(t *testing.T, e *testenv.Env, m store.MessageMeta) string {
	t.Helper()
	b := make([]byte, m.Size)
	n, err := e.Store.ReadBody(ctx, m.BodyID, 0, b)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b[:n])
}

func lmtpClient(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	if err := c.Hello("mx.example.org"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLMTPPerRecipient(t *testing.T) {
	engines(t, func(t *testing.T, o testenv.Options) {
		e := testenv.Start(t, o)
		_, before := inbox(t, e, "christa@contoso.com")
		c := lmtpClient(t, e.Addr("lmtp"))
		if err := c.Mail("sender@example.org", nil); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			rcpt string
			code int
		}{
			{"Christa@CONTOSO.com", 0},
			{"nobody@contoso.com", 550},
			{"someone@gmail.com", 550},
			{"kim@contoso.com", 0},
			{"sales@contoso.com", 0}, // Kim again, by a proxy address
		} {
			err := c.Rcpt(tc.rcpt, nil)
			var serr *smtp.SMTPError
			switch {
			case tc.code == 0 && err != nil:
				t.Errorf("RCPT %s: %v", tc.rcpt, err)
			case tc.code != 0 && (!errors.As(err, &serr) || serr.Code != tc.code):
				t.Errorf("RCPT %s: got %v; want %d", tc.rcpt, err, tc.code)
			}
			if tc.rcpt == "nobody@contoso.com" && (serr == nil || serr.EnhancedCode != (smtp.EnhancedCode{5, 1, 1})) {
				t.Errorf("unknown recipient: got %v; want 5.1.1", err)
			}
			if tc.rcpt == "someone@gmail.com" && (serr == nil || serr.EnhancedCode != (smtp.EnhancedCode{5, 7, 1})) {
				t.Errorf("relaying: got %v; want 5.7.1", err)
			}
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		// Bare LF line ends, a dot-stuffed line, 8-bit text, broken MIME.
		io.WriteString(w, "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nContent-Type: multipart/mixed; boundary=never\n\nHallo Welt, üäö\n.leading dot\n")
		resp, err := w.CloseWithLMTPResponse()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp) != 3 {
			t.Errorf("LMTP answers one status per accepted RCPT: got %d", len(resp))
		}
		for rcpt, r := range resp {
			if !strings.HasSuffix(r.StatusText, "Saved to INBOX") {
				t.Errorf("status of %s: %q; want it to say Saved to INBOX", rcpt, r.StatusText)
			}
		}
		_, after := inbox(t, e, "christa@contoso.com")
		if len(after) != len(before)+1 {
			t.Fatalf("Christa's INBOX: %d messages; want %d", len(after), len(before)+1)
		}
		m := after[len(after)-1]
		got := body(t, e, m)
		if !strings.HasPrefix(got, "Return-Path: <sender@example.org>\r\nReceived: from mx.example.org ([127.0.0.1])\r\n\tby ") {
			t.Errorf("trace fields: %q", got[:min(len(got), 120)])
		}
		if !strings.HasSuffix(got, "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: multipart/mixed; boundary=never\r\n\r\nHallo Welt, üäö\r\n.leading dot\r\n") {
			t.Errorf("stored message: %q", got)
		}
		if m.Subject != "Grüße" || m.Size != int64(len(got)) {
			t.Errorf("summary %q, size %d (body %d)", m.Subject, m.Size, len(got))
		}
		_, kim := inbox(t, e, "kim@contoso.com")
		n := 0
		for _, k := range kim {
			if k.Subject == "Grüße" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("Kim named twice gets the message once: got %d", n)
		}
	})
}

// sendSMTP sends over SMTP with STARTTLS, trusting the test's self-signed
// certificate.
func sendSMTP(addr, from string, to []string, msg string) error {
	c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, to, strings.NewReader(msg))
}

func TestSMTPLimits(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) { c.MaxMessageSize = 2000 }})
	err := sendSMTP(e.Addr("smtp"), "a@example.org", []string{"christa@contoso.com"},
		"Subject: big\r\n\r\n"+strings.Repeat(strings.Repeat("x", 70)+"\r\n", 40))
	var serr *smtp.SMTPError
	if !errors.As(err, &serr) || serr.Code != 552 || serr.EnhancedCode != (smtp.EnhancedCode{5, 3, 4}) {
		t.Errorf("over the size limit: got %v; want 552 5.3.4", err)
	}
	err = sendSMTP(e.Addr("smtp"), "a@example.org", []string{"x@elsewhere.net"}, "Subject: x\r\n\r\n")
	if !errors.As(err, &serr) || serr.Code != 550 || serr.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Errorf("relay: got %v; want 550 5.7.1", err)
	}
	if err := sendSMTP(e.Addr("smtp"), "a@example.org", []string{"christa@contoso.com"}, "Subject: small\r\n\r\nok\r\n"); err != nil {
		t.Errorf("small message: %v", err)
	}
}

func TestConcurrentLMTPClients(t *testing.T) {
	engines(t, func(t *testing.T, o testenv.Options) {
		e := testenv.Start(t, o)
		_, before := inbox(t, e, "david@contoso.com")
		const clients, each = 8, 15
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				conn, err := net.Dial("tcp", e.Addr("lmtp"))
				if err != nil {
					t.Error(err)
					return
				}
				cl := smtp.NewClientLMTP(conn)
				defer cl.Close()
				for i := 0; i < each; i++ {
					msg := fmt.Sprintf("Subject: load %d-%d\r\nMessage-ID: <%d.%d@x>\r\n\r\nbody\r\n", c, i, c, i)
					if err := cl.SendMail("s@example.org", []string{"david@contoso.com"}, strings.NewReader(msg)); err != nil {
						t.Errorf("client %d message %d: %v", c, i, err)
					}
				}
			}(c)
		}
		wg.Wait()
		f, after := inbox(t, e, "david@contoso.com")
		if len(after)-len(before) != clients*each || int(f.Messages) != len(after) {
			t.Errorf("stored %d of %d (folder says %d)", len(after)-len(before), clients*each, f.Messages)
		}
	})
}

// TestPythonSmtplib delivers with Python's smtplib, a client nobody here wrote.
func TestPythonSmtplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the real-client tests (.ci/run installs it)")
	}
	e := testenv.Start(t, testenv.Options{Demo: true})
	_, before := inbox(t, e, "pilar@contoso.com")
	lhost, lport, _ := net.SplitHostPort(e.Addr("lmtp"))
	shost, sport, _ := net.SplitHostPort(e.Addr("smtp"))
	script := fmt.Sprintf(`
import smtplib
l = smtplib.LMTP(%q, %s)
refused = l.sendmail("py@example.org", ["pilar@contoso.com", "ghost@contoso.com"], b"Subject: via LMTP\r\n\r\nhi\r\n")
assert list(refused) == ["ghost@contoso.com"] and refused["ghost@contoso.com"][0] == 550, refused
l.quit()
s = smtplib.SMTP(%q, %s)
s.sendmail("py@example.org", ["pilar@contoso.com"], "Subject: via SMTP\r\n\r\nhi\r\n")
s.quit()
print("ok")
`, lhost, lport, shost, sport)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %v\n%s", err, out)
	}
	_, after := inbox(t, e, "pilar@contoso.com")
	if len(after) != len(before)+2 || after[len(after)-2].Subject != "via LMTP" || after[len(after)-1].Subject != "via SMTP" {
		t.Errorf("after smtplib: %d messages (was %d)", len(after), len(before))
	}
}
