package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/postfixtest"
)

// TestKill9DuringQueueRun: messages submitted while the smarthost is down
// wait in the queue; once Postfix is up the runner sends them, and the
// server is killed with SIGKILL in the middle of that. Restarted on the
// same data directory, it sends the rest: every message that got its 250
// arrives, and at most the one that was on the wire at the kill arrives
// twice (its lease lapses, and the smarthost's answer was lost).
func TestKill9DuringQueueRun(t *testing.T) {
	postfixtest.Available(t)
	p := postfixtest.New(t, "", "ok")
	data := t.TempDir()
	args := func() []string {
		return []string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1",
			"--imap", "", "--imaps", "", "--pop3", "", "--pop3s", "", "--smtp", "", "--lmtp", "", "--admin", "127.0.0.1:0",
			"--submission", "127.0.0.1:0", "--submissions", "",
			"--smarthost", p.Addr, "--smarthost-tls", "insecure", "--queue-retry-interval", "100ms", "--queue-retry-max", "300ms",
			"--queue-scan-interval", "100ms", "--queue-lease", "2s"}
	}
	s := start(t, args()...)
	addr := s.addrs["Submission"]
	if addr == "" {
		t.Fatalf("no submission listener in the banner:\n%s", s.out)
	}
	c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "christa@contoso.com", "Contoso-Demo-2026")); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		msg := fmt.Sprintf("From: christa@contoso.com\r\nTo: ok@fabrikam.com\r\nSubject: kill9-queue-%d\r\n\r\n%s\r\n", i, strings.Repeat("body line\r\n", 200))
		if err := c.SendMail("christa@contoso.com", []string{"ok@fabrikam.com"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	c.Quit()

	arrived := func() map[string]int {
		got := map[string]int{}
		for _, m := range p.Messages() {
			for _, line := range strings.Split(m, "\n") {
				if subj, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: kill9-queue-"); ok {
					got[subj]++
					break
				}
			}
		}
		return got
	}
	p.Start()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if k := len(arrived()); k >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing reached the smarthost:\n%s\n%s", s.errb, p.Log())
		}
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
	before := len(arrived())
	if before >= n {
		t.Fatalf("all %d messages were sent before the kill; the test proves nothing", n)
	}

	s = start(t, args()...)
	for deadline := time.Now().Add(3 * time.Minute); len(arrived()) < n; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d of %d messages arrived\n%s", len(arrived()), n, s.errb)
		}
	}
	got := arrived()
	dups := 0
	for subj, k := range got {
		if k > 1 {
			dups += k - 1
			t.Logf("kill9-queue-%s arrived %d times", subj, k)
		}
	}
	if dups > 1 {
		t.Errorf("%d duplicates; want at most the one message on the wire at the kill", dups)
	}
	t.Logf("%d of %d sent before the kill, %d duplicate(s)", before, n, dups)

	// Stop it and check that the queue is empty.
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var q []store.OutboundMessage
	st.View(context.Background(), func(tx store.Tx) error {
		q, err = tx.OutboundMessages(context.Background(), store.OutboundQuery{})
		return err
	})
	if len(q) != 0 {
		t.Errorf("queue after everything arrived: got %d messages; want none", len(q))
	}
}
