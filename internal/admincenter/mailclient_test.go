package admincenter_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// pop3Login logs in over POP3 with USER and PASS (plaintext is allowed
// from the loopback address) and returns the server's answer to PASS.
func pop3Login(t testing.TB, addr, user, password string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial POP3 %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line := func() string {
		t.Helper()
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read from POP3: %v", err)
		}
		return strings.TrimRight(s, "\r\n")
	}
	if g := line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("POP3 greeting: got %q; want +OK ...", g)
	}
	fmt.Fprintf(conn, "USER %s\r\n", user)
	if got := line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("POP3 USER: got %q; want +OK ...", got)
	}
	fmt.Fprintf(conn, "PASS %s\r\n", password)
	answer := line()
	fmt.Fprintf(conn, "QUIT\r\n")
	if strings.HasPrefix(answer, "+OK") {
		line() // the answer to QUIT: the session has ended
	}
	return answer
}

// imapSession is an IMAP4 session logged in and selected, to be closed
// by an access change.
type imapSession struct {
	conn net.Conn
	r    *bufio.Reader
}

// imapLogin logs in over IMAP4 and selects INBOX.
func imapLogin(t testing.TB, addr, user, password string) *imapSession {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial IMAP4 %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &imapSession{conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if g := s.line(t); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("IMAP4 greeting: got %q; want * OK ...", g)
	}
	s.command(t, "a1", fmt.Sprintf("LOGIN %q %q", user, password))
	s.command(t, "a2", "SELECT INBOX")
	conn.SetDeadline(time.Time{})
	return s
}

func (s *imapSession) line(t testing.TB) string {
	t.Helper()
	l, err := s.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read from IMAP4: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// command sends a command and reads up to its tagged OK.
func (s *imapSession) command(t testing.TB, tag, cmd string) {
	t.Helper()
	fmt.Fprintf(s.conn, "%s %s\r\n", tag, cmd)
	for {
		l := s.line(t)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				t.Fatalf("IMAP4 %s: got %q; want OK", cmd, l)
			}
			return
		}
	}
}

// waitBye reads until the server's BYE and returns it.
func (s *imapSession) waitBye(t testing.TB) string {
	t.Helper()
	s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for BYE: %v", err)
		}
		if strings.HasPrefix(l, "* BYE") {
			return strings.TrimRight(l, "\r\n")
		}
	}
}

// imapLoginAnswer sends LOGIN and returns the tagged answer, for a login
// the server refuses.
func imapLoginAnswer(t testing.TB, addr, user, password string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial IMAP4 %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	s := &imapSession{conn: conn, r: bufio.NewReader(conn)}
	if g := s.line(t); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("IMAP4 greeting: got %q; want * OK ...", g)
	}
	fmt.Fprintf(conn, "a1 LOGIN %q %q\r\n", user, password)
	for {
		l := s.line(t)
		if strings.HasPrefix(l, "a1 ") {
			return l
		}
	}
}
