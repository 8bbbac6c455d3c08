package submission_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/postfixtest"
)

// quickQueue makes the runner retry fast enough for a test.
func quickQueue(smarthost string) func(*config.Config) {
	return func(c *config.Config) {
		c.Outbound.Smarthost = smarthost
		c.Outbound.TLS = "insecure" // the test smarthost's certificate is its own
		c.Outbound.RetryInterval = config.Duration(200 * time.Millisecond)
		c.Outbound.RetryMax = config.Duration(time.Second)
		c.Outbound.ScanInterval = config.Duration(200 * time.Millisecond)
	}
}

// eventually polls cond until it holds; the deadline only keeps a broken
// build from hanging, it measures nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func queue(t *testing.T, e *testenv.Env) []store.OutboundMessage {
	t.Helper()
	var out []store.OutboundMessage
	if err := e.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.OutboundMessages(ctx, store.OutboundQuery{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func swaks(t *testing.T, addr string, args ...string) string {
	t.Helper()
	out, err := exec.Command("swaks", append([]string{"--server", addr, "--tls", "--auth", "PLAIN",
		"--auth-user", christa, "--auth-password", testenv.DemoPassword, "--from", christa,
		"--header", "From: Christa Knapp <christa@contoso.com>"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	return string(out)
}

func withSubjectIn(msgs []string, subject string) []string {
	var out []string
	for _, m := range msgs {
		if strings.Contains(m, "\nSubject: "+subject+"\n") || strings.Contains(m, "\nSubject: "+subject+"\r\n") {
			out = append(out, m)
		}
	}
	return out
}

// TestSmarthost: swaks submits over STARTTLS to a local and two remote
// recipients, one of which Postfix refuses at RCPT (550 5.1.1). The local
// one gets it at once; Postfix takes the good remote one (over STARTTLS);
// the sender gets a delivery status notification (RFC 3464) for the bad one;
// nothing stays queued. On both engines.
func TestSmarthost(t *testing.T) {
	postfixtest.Available(t)
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			p := postfixtest.New(t, "", "ok", "ok2")
			p.Start()
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: pg, Configure: quickQueue(p.Addr)})
			subject := "to the world " + name
			out := swaks(t, e.Addr("submission"), "--to", "ok@fabrikam.com,christa.lee@contoso.com,bad@fabrikam.com",
				"--header", "Subject: "+subject)
			if !strings.Contains(out, "<-  250") || !strings.Contains(out, "235 2.0.0") {
				t.Fatalf("swaks transcript lacks 235/250:\n%s", out)
			}
			if got := withSubject(t, e, "christa.lee@contoso.com", subject); len(got) != 1 {
				t.Errorf("local recipient: got %d; want 1", len(got))
			}
			eventually(t, "the message at the smarthost", func() bool { return len(withSubjectIn(p.Messages(), subject)) > 0 })
			got := withSubjectIn(p.Messages(), subject)
			if len(got) != 1 || !strings.Contains(got[0], "Delivered-To: ok@fabrikam.com") || strings.Contains(got[0], "bad@fabrikam.com") && !strings.Contains(got[0], "To:") {
				t.Errorf("at the smarthost: got %d messages; want 1 for ok@fabrikam.com:\n%v", len(got), got)
			}
			if !strings.Contains(got[0], "with ESMTPSA") {
				t.Errorf("the message lacks our Received field with ESMTPSA:\n%s", got[0])
			}
			if !strings.Contains(p.Log(), "TLS connection established from localhost") || !strings.Contains(got[0], "(using TLS") {
				t.Errorf("Postfix saw no TLS connection:\n%s\n%s", p.Log(), got[0])
			}
			eventually(t, "the delivery status notification", func() bool {
				return len(withSubject(t, e, christa, "Undeliverable: "+subject)) > 0
			})
			dsn := withSubject(t, e, christa, "Undeliverable: "+subject)
			for _, want := range []string{"multipart/report; report-type=delivery-status", "Final-Recipient: rfc822; bad@fabrikam.com",
				"Action: failed", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1", "text/rfc822-headers", "Subject: " + subject} {
				if !strings.Contains(dsn[0], want) {
					t.Errorf("DSN lacks %q:\n%s", want, dsn[0])
				}
			}
			if strings.Contains(dsn[0], "Final-Recipient: rfc822; ok@") || strings.Contains(dsn[0], "christa.lee@contoso.com\r\n    ") {
				t.Errorf("DSN names the recipient that got the message:\n%s", dsn[0])
			}
			eventually(t, "an empty queue", func() bool { return len(queue(t, e)) == 0 })
		})
	}
}

// TestSmarthostDown: while the smarthost is down the message waits in the
// queue, retried with backoff (RetryCount and LastError say why); once
// Postfix is up, it is delivered once and leaves the queue.
func TestSmarthostDown(t *testing.T) {
	postfixtest.Available(t)
	p := postfixtest.New(t, "", "ok")
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: quickQueue(p.Addr)})
	r := pySubmit(t, e.Addr("submission"), submitArgs{User: christa, Password: testenv.DemoPassword, From: christa,
		To: []string{"ok@fabrikam.com"}, Msg: msg(christa, "ok@fabrikam.com", "while down")})
	if r.Error != "" {
		t.Fatalf("submit: %+v", r)
	}
	eventually(t, "two failed attempts", func() bool {
		q := queue(t, e)
		return len(q) == 1 && q[0].RetryCount >= 2
	})
	q := queue(t, e)
	if !strings.Contains(q[0].LastError, "cannot reach the smarthost") || q[0].Status(time.Now()) == "Ready" {
		t.Errorf("queued message: got %+v; want LastError naming the smarthost, status Retry or Active", q[0])
	}
	p.Start()
	eventually(t, "the message at the smarthost", func() bool { return len(withSubjectIn(p.Messages(), "while down")) > 0 })
	eventually(t, "an empty queue", func() bool { return len(queue(t, e)) == 0 })
	if n := len(withSubjectIn(p.Messages(), "while down")); n != 1 {
		t.Errorf("delivered %d times; want once", n)
	}
}

// TestQueueExpiry: a message the smarthost never takes is given up after
// the queue lifetime; the sender's DSN says it expired.
func TestQueueExpiry(t *testing.T) {
	dead := postfixtest.FreeAddr(t) // nothing listens there
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		quickQueue(dead)(c)
		c.Outbound.QueueLifetime = config.Duration(time.Second)
	}})
	r := pySubmit(t, e.Addr("submission"), submitArgs{User: christa, Password: testenv.DemoPassword, From: christa,
		To: []string{"nobody@fabrikam.com"}, Msg: msg(christa, "nobody@fabrikam.com", "never arrives")})
	if r.Error != "" {
		t.Fatalf("submit: %+v", r)
	}
	eventually(t, "the DSN", func() bool { return len(withSubject(t, e, christa, "Undeliverable: never arrives")) > 0 })
	dsn := withSubject(t, e, christa, "Undeliverable: never arrives")[0]
	for _, want := range []string{"Status: 5.4.7", "could not be delivered before it expired", "cannot reach the smarthost"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if q := queue(t, e); len(q) != 0 {
		t.Errorf("queue: got %d; want empty", len(q))
	}
}
