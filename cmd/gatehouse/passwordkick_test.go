package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestPasswordResetClosesSessions (issue 11, finding 6): a password reset
// through the REST API closes the mailbox's open IMAP4 session, idling,
// with a BYE that says why, and its POP3 session with -ERR [SYS/PERM] at
// the next command; the old password no longer signs in and the new one
// does. On one node (SQLite), and with the sessions on the other of two
// nodes sharing one PostgreSQL database (LISTEN/NOTIFY), over real sockets
// to the real binary.
func TestPasswordResetClosesSessions(t *testing.T) {
	const (
		oldPassword = "Contoso-Demo-2026"
		bye         = "* BYE The password of this mailbox was changed. Sign in again with the new password."
		popErr      = "-ERR [SYS/PERM] The password of this mailbox was changed. Sign in again with the new password."
	)
	tests := []struct {
		name string
		// servers starts the node the admin uses and the node the
		// sessions are on (the same one for a single node).
		servers func(t *testing.T) (admin, sessions *server)
	}{
		{"one node", func(t *testing.T) (*server, *server) {
			s := start(t, append([]string{"--data", t.TempDir(), "--demo", "--admin-password", "Reset-Admin-Pass-1"}, ports()...)...)
			return s, s
		}},
		{"two nodes", func(t *testing.T) (*server, *server) {
			dsn := pgtest.NewDatabase(t)
			a := start(t, append([]string{"--data", t.TempDir(), "--db", dsn, "--demo", "--admin-password", "Reset-Admin-Pass-1"}, ports()...)...)
			b := start(t, append([]string{"--data", t.TempDir(), "--db", dsn}, ports()...)...)
			return a, b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.servers(t)
			base := "http://" + a.addrs["Admin"]
			status, body := apiCall(t, base, "", "POST", "/api/v1/session", `{"UserName":"admin","Password":"Reset-Admin-Pass-1"}`)
			if status != 200 {
				t.Fatalf("sign in: %d %v", status, body)
			}
			token := body["Token"].(string)

			imap := dialLine(t, b.addrs["IMAP4"])
			if r := imap.cmd("a LOGIN christa@contoso.com " + oldPassword); !strings.HasPrefix(r, "a OK") {
				t.Fatalf("IMAP4 login: %s", r)
			}
			imap.cmd("b SELECT INBOX")
			for r := ""; !strings.HasPrefix(r, "b "); r = imap.read(5 * time.Second) {
			}
			if r := imap.cmd("c IDLE"); !strings.HasPrefix(r, "+") {
				t.Fatalf("IDLE: %s", r)
			}
			pop := dialLine(t, b.addrs["POP3"])
			pop.cmd("USER christa@contoso.com")
			if r := pop.cmd("PASS " + oldPassword); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("POP3 login: %s", r)
			}
			// Another mailbox's session stays open.
			other := dialLine(t, b.addrs["IMAP4"])
			if r := other.cmd("a LOGIN kim@contoso.com " + oldPassword); !strings.HasPrefix(r, "a OK") {
				t.Fatalf("IMAP4 login of Kim: %s", r)
			}

			reset := time.Now()
			s, v := apiCall(t, base, token, "PATCH", "/api/v1/mailboxes/christa", `{"Password":"Christa-New-Pass-1"}`)
			if s != 200 {
				t.Fatalf("reset: %d %v", s, v)
			}
			if a == b {
				// One node: the answer lists the sessions it closed.
				if got := fmt.Sprint(v["Sessions"]); strings.Count(got, "Protocol") != 2 {
					t.Errorf("sessions closed: got %s; want the POP3 and the IMAP4 session", got)
				}
			}
			var got string
			for got == "" || strings.HasPrefix(got, "* ") && !strings.HasPrefix(got, "* BYE") {
				got = imap.read(10 * time.Second)
			}
			t.Logf("the IMAP4 session got its BYE %v after the reset was sent", time.Since(reset))
			if got != bye {
				t.Errorf("idling IMAP4 session: got %q; want %q", got, bye)
			}
			// The node closes each session on its own: a STAT sent just
			// after the IMAP4 session's BYE may still be answered, and the
			// kick's -ERR, which the session sends unasked, then follows it.
			got = pop.cmd("STAT")
			if strings.HasPrefix(got, "+OK") && a != b {
				got = pop.read(10 * time.Second)
			}
			if got != popErr {
				t.Errorf("POP3 session: got %q; want %q", got, popErr)
			}
			if r := other.cmd("b NOOP"); !strings.HasPrefix(r, "b OK") {
				t.Errorf("Kim's session after Christa's reset: got %q; want b OK", r)
			}
			l := dialLine(t, b.addrs["IMAP4"])
			if r := l.cmd("a LOGIN christa@contoso.com " + oldPassword); r != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
				t.Errorf("old password: got %q; want a NO [AUTHENTICATIONFAILED]", r)
			}
			if r := l.cmd("b LOGIN christa@contoso.com Christa-New-Pass-1"); !strings.HasPrefix(r, "b OK") {
				t.Errorf("new password: got %q; want b OK", r)
			}
		})
	}
}
