package submission_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// nonLoopbackIPv4 returns an address of this machine that is not
// loopback, so that a connection to it comes from a "remote" client.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address, so no client here is remote; the plaintext rule cannot be exercised")
	return ""
}

// ehlo sends EHLO and returns the capability lines.
func (s *rawSession) ehlo(t *testing.T) string {
	t.Helper()
	s.c.Write([]byte("EHLO client.test\r\n"))
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(line)
		if len(line) > 3 && line[3] == ' ' {
			return b.String()
		}
	}
}

// TestPlaintextAuthRefused: from a remote address, AUTH is not offered
// before STARTTLS and is refused if tried (538 5.7.11, recorded as notls,
// the password not checked); after STARTTLS it is offered and works. The
// rule of IMAP4 and POP3 (docs/ARCHITECTURE.md, The access rule).
func TestPlaintextAuthRefused(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.Listen.Submission = net.JoinHostPort(ip, "0")
	}})
	c, err := net.Dial("tcp", e.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &rawSession{c: c, r: bufio.NewReader(c)}
	s.expect(t, "220 ")
	caps := s.ehlo(t)
	if strings.Contains(caps, "AUTH") || !strings.Contains(caps, "STARTTLS") {
		t.Errorf("EHLO before TLS from %s: got %q; want STARTTLS and no AUTH", ip, caps)
	}
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "538 "); !strings.Contains(got, "5.7.11") {
		t.Errorf("AUTH before TLS: got %q; want 538 5.7.11", got)
	}
	s.cmd(t, "STARTTLS", "220 ")
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	s = &rawSession{c: tc, r: bufio.NewReader(tc)}
	if caps := s.ehlo(t); !strings.Contains(caps, "AUTH PLAIN LOGIN") {
		t.Errorf("EHLO after STARTTLS: got %q; want AUTH PLAIN LOGIN", caps)
	}
	// LOGIN, the other mechanism, step by step.
	s.cmd(t, "AUTH LOGIN", "334 VXNlcm5hbWU6") // "Username:"
	s.cmd(t, b64(christa), "334 UGFzc3dvcmQ6") // "Password:"
	s.cmd(t, b64(testenv.DemoPassword), "235 ")

	m := mailboxOf(t, e, christa)
	var recs []store.LoginRecord
	eventually(t, "the login records", func() bool {
		e.Store.View(ctx, func(tx store.Tx) error {
			var err error
			recs, err = tx.RecentLogins(ctx, m.ID, store.LoginQuery{Protocol: "smtp", Limit: 10})
			return err
		})
		return len(recs) >= 1
	})
	if len(recs) != 1 || recs[0].Result != store.LoginSuccess || !recs[0].TLS {
		t.Errorf("login records of the mailbox: got %+v; want one success over TLS", recs)
	}
	// The refused attempt is recorded without a mailbox: AUTH is refused
	// before the client sent a name (the password is never looked at).
	eventually(t, "the notls record in the log", func() bool {
		return strings.Contains(e.Log.String(), "proto=smtp") && strings.Contains(e.Log.String(), "result=notls")
	})
}
