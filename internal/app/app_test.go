package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/app"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

var ctx = context.Background()

type lineConn struct {
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l := &lineConn{c: c, rd: bufio.NewReader(c)}
	l.read()
	return l
}

func (l *lineConn) read() string {
	l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := l.rd.ReadString('\n')
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimRight(s, "\r\n")
}

func (l *lineConn) cmd(s string) string {
	fmt.Fprintf(l.c, "%s\r\n", s)
	return l.read()
}

func (l *lineConn) until(prefix string) string {
	for i := 0; i < 100; i++ {
		if s := l.read(); strings.HasPrefix(s, prefix) || strings.HasPrefix(s, "<") {
			return s
		}
	}
	return ""
}

// TestThrottling: failed logins slow down, then lock the address out with
// answers that say to try later; a success elsewhere is unaffected, and the
// refusals are recorded.
func TestThrottling(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true, Throttle: true, Configure: func(c *config.Config) {
		c.Auth.ThrottleFree = 1
		c.Auth.ThrottleLockAfter = 4
		c.Auth.ThrottleLockUser = 50
	}})
	var last string
	for i := 0; i < 4; i++ {
		l := dial(t, e.Addr("imap"))
		last = l.cmd("a LOGIN kim@contoso.com wrong-password")
	}
	if last != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
		t.Errorf("failed login: %q", last)
	}
	l := dial(t, e.Addr("imap"))
	r := l.cmd("a LOGIN kim@contoso.com " + testenv.DemoPassword)
	if !strings.HasPrefix(r, "a NO [UNAVAILABLE]") {
		t.Errorf("locked address, right password: %q; want NO [UNAVAILABLE] ...", r)
	}
	p := dial(t, e.Addr("pop3"))
	p.cmd("USER kim@contoso.com")
	if r := p.cmd("PASS " + testenv.DemoPassword); !strings.HasPrefix(r, "-ERR [SYS/TEMP]") {
		t.Errorf("POP3 from the locked address: %q; want -ERR [SYS/TEMP] ...", r)
	}
	e.Recorder.Flush()
	var rows []store.UsageRow
	e.Store.View(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.UsageReport(ctx, time.Now().Add(-time.Hour))
		return err
	})
	if len(rows) != 1 || rows[0].Failed != 4 {
		t.Errorf("usage after throttling: %+v", rows)
	}
}

// TestMetricsAndHealth reads /metrics after real logins and a delivery.
func TestMetricsAndHealth(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	l := dial(t, e.Addr("imap"))
	if r := l.cmd("a LOGIN christa " + testenv.DemoPassword); !strings.HasPrefix(r, "a OK") {
		t.Fatalf("login: %s", r)
	}
	dial(t, e.Addr("imap")).cmd("a LOGIN christa nope")
	conn, _ := net.Dial("tcp", e.Addr("lmtp"))
	cl := smtp.NewClientLMTP(conn)
	if err := cl.SendMail("a@example.org", []string{"christa@contoso.com"}, strings.NewReader("Subject: m\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	resp, err := http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`gatehouse_logins_total{protocol="imap4",result="success"} 1`,
		`gatehouse_logins_total{protocol="imap4",result="failed"} 1`,
		`gatehouse_sessions_open{protocol="imap4"} 1`,
		`gatehouse_deliveries_total{protocol="lmtp",result="delivered"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	resp, err = http.Get(e.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp.StatusCode, err)
	}
}

// TestDemoTwice starts twice on one data directory with --demo: nothing is
// duplicated, and the second start says so.
func TestDemoTwice(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Listen = config.Listen{}
	cfg.Demo = true
	cfg.AdminPassword = "Demo-Twice-Admin-1"
	params := auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}
	count := func(s *app.Server) (int, uint32) {
		var total int
		var inbox uint32
		s.Store.View(ctx, func(tx store.Tx) error {
			_, total, _ = tx.ListMailboxes(ctx, store.MailboxQuery{})
			m, _ := tx.MailboxByAddress(ctx, "christa@contoso.com")
			f, _ := s.Store.FolderByName(ctx, m.ID, "INBOX")
			inbox = f.Messages
			return nil
		})
		return total, inbox
	}
	var outs []string
	var counts [][2]int
	for i := 0; i < 2; i++ {
		var out strings.Builder
		s, err := app.Start(ctx, app.Options{Config: cfg, Out: &out, Log: io.Discard, PasswordParams: &params})
		if err != nil {
			t.Fatal(err)
		}
		n, inbox := count(s)
		counts = append(counts, [2]int{n, int(inbox)})
		outs = append(outs, out.String())
		s.Shutdown(ctx)
	}
	if counts[0] != counts[1] || counts[0][0] != 10 || counts[0][1] < 20 {
		t.Errorf("mailboxes and Christa's messages after each start: %v; want 10 mailboxes and 20+ messages, twice", counts)
	}
	if !strings.Contains(outs[0], "created 9 mailboxes") || !strings.Contains(outs[1], "already exist") ||
		strings.Contains(outs[1], "admin password") {
		t.Errorf("start banners:\n%s\n---\n%s", outs[0], outs[1])
	}
}

// TestShutdownWithDeliveriesInFlight shuts down while LMTP clients deliver:
// every delivery either got 250 and is stored, or got a 4xx (or a dropped
// connection before its 250) and may be retried; nothing acknowledged is
// lost.
func TestShutdownWithDeliveriesInFlight(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Listen = config.Listen{LMTP: "127.0.0.1:0"}
	cfg.Demo = true
	cfg.AdminPassword = "Shutdown-Admin-1"
	params := auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}
	s, err := app.Start(ctx, app.Options{Config: cfg, Out: io.Discard, Log: io.Discard, PasswordParams: &params})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		subject string
		err     error
	}
	results := make(chan outcome, 10_000)
	done := make(chan struct{})
	for c := 0; c < 4; c++ {
		go func(c int) {
			defer func() { done <- struct{}{} }()
			conn, err := net.Dial("tcp", s.Addrs["lmtp"])
			if err != nil {
				return
			}
			cl := smtp.NewClientLMTP(conn)
			defer cl.Close()
			for i := 0; ; i++ {
				subj := fmt.Sprintf("shutdown-%d-%d", c, i)
				err := cl.SendMail("a@example.org", []string{"ben@contoso.com"}, strings.NewReader("Subject: "+subj+"\r\n\r\nx\r\n"))
				results <- outcome{subj, err}
				if err != nil {
					return
				}
			}
		}(c)
	}
	time.Sleep(300 * time.Millisecond)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	for i := 0; i < 4; i++ {
		<-done
	}
	close(results)
	acked := map[string]bool{}
	var refusals []string
	for r := range results {
		if r.err == nil {
			acked[r.subject] = true
		} else if se, ok := r.err.(*smtp.SMTPError); ok {
			refusals = append(refusals, se.Error())
			if se.Code/100 != 4 {
				t.Errorf("refusal during shutdown must be 4xx: %v", se)
			}
		}
	}
	if len(acked) == 0 {
		t.Fatal("no delivery acknowledged before shutdown; the test proves nothing")
	}
	// Reopen the data and look for every acknowledged message.
	cfg.Demo = false
	s2, err := app.Start(ctx, app.Options{Config: config.Config(cfg), Out: io.Discard, Log: io.Discard, PasswordParams: &params})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(ctx)
	var m store.Mailbox
	s2.Store.View(ctx, func(tx store.Tx) error { m, err = tx.MailboxByAddress(ctx, "ben@contoso.com"); return err })
	f, _ := s2.Store.FolderByName(ctx, m.ID, "INBOX")
	stored := map[string]bool{}
	s2.Store.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, store.MetaSummary, func(mm store.MessageMeta) error {
		stored[mm.Subject] = true
		return nil
	})
	for subj := range acked {
		if !stored[subj] {
			t.Errorf("acknowledged %s is lost", subj)
		}
	}
	t.Logf("%d acknowledged and stored; refusals during shutdown: %v", len(acked), refusals)
}
