package api_test

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// line is a raw line-protocol client (POP3 or IMAP4), so that the tests
// see the server's exact words.
type line struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, addr string) *line {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l := &line{t: t, c: c, rd: bufio.NewReader(c)}
	l.read() // greeting
	return l
}

func (l *line) read() string {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := l.rd.ReadString('\n')
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimRight(s, "\r\n")
}

func (l *line) send(s string) { fmt.Fprintf(l.c, "%s\r\n", s) }

// cmd sends a command and returns the first line of the answer.
func (l *line) cmd(s string) string {
	l.send(s)
	return l.read()
}

// until reads lines until one starts with prefix and returns it.
func (l *line) until(prefix string) string {
	l.t.Helper()
	for i := 0; i < 1000; i++ {
		s := l.read()
		if strings.HasPrefix(s, prefix) || strings.HasPrefix(s, "<") {
			return s
		}
	}
	return ""
}

func popLogin(t *testing.T, e *testenv.Env, user, pass string) (*line, string) {
	l := dial(t, e.Addr("pop3"))
	if r := l.cmd("USER " + user); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("USER: %s", r)
	}
	return l, l.cmd("PASS " + pass)
}

func imapLogin(t *testing.T, e *testenv.Env, user, pass string) (*line, string) {
	l := dial(t, e.Addr("imap"))
	l.send(fmt.Sprintf("a LOGIN %s %s", user, pass))
	return l, l.until("a ")
}

// TestAccessScenario is the seed scenario of issue 5, end to end through
// the REST API and real POP3/IMAP4 sessions, on both engines.
func TestAccessScenario(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { accessScenario(t, testenv.Start(t, testenv.Options{Demo: true, Postgres: pg})) })
	}
}

func accessScenario(t *testing.T, e *testenv.Env) {
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	pw := testenv.DemoPassword
	set := func(path, body string) {
		t.Helper()
		if s, b := admin.do("PATCH", path, body); s != 200 {
			t.Fatalf("PATCH %s %s: %d %s", path, body, s, b)
		}
	}

	// Christa has a POP3 session that marked a message deleted, and an
	// IMAP4 session idling in INBOX.
	pop, r := popLogin(t, e, "christa@contoso.com", pw)
	if !strings.HasPrefix(r, "+OK") {
		t.Fatalf("POP3 login: %s", r)
	}
	stat := pop.cmd("STAT")
	if r := pop.cmd("DELE 1"); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("DELE: %s", r)
	}
	imap, r := imapLogin(t, e, "christa@contoso.com", pw)
	if !strings.HasPrefix(r, "a OK") {
		t.Fatalf("IMAP login: %s", r)
	}
	imap.send("b SELECT INBOX")
	imap.until("b OK")
	imap.send("c IDLE")
	if r := imap.read(); !strings.HasPrefix(r, "+") {
		t.Fatalf("IDLE: %s", r)
	}

	// Disable POP3 for Christa Knapp.
	set("/api/v1/casmailboxes/Christa%20Knapp", `{"PopEnabled":false}`)
	if r := pop.cmd("NOOP"); r != "-ERR [SYS/PERM] POP3 access was disabled by your administrator." {
		t.Errorf("open POP3 session after the change: %q", r)
	}
	if r := pop.read(); !strings.HasPrefix(r, "<") {
		t.Errorf("POP3 session must be closed after the refusal; read %q", r)
	}
	pop2, r := popLogin(t, e, "christa@contoso.com", pw)
	if r != "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator." {
		t.Errorf("new POP3 login: %q", r)
	}
	pop2.c.Close()
	_, r = popLogin(t, e, "christa@contoso.com", "wrong-password")
	if r != "-ERR [AUTH] Invalid credentials" {
		t.Errorf("wrong password while POP3 is disabled: %q", r)
	}
	_, r = popLogin(t, e, "nobody@contoso.com", "wrong-password")
	if r != "-ERR [AUTH] Invalid credentials" {
		t.Errorf("unknown user: %q", r)
	}
	// IMAP4 is untouched.
	imap.send("DONE")
	if r := imap.until("c "); !strings.HasPrefix(r, "c OK") {
		t.Errorf("IMAP4 session after POP3 was disabled: %q", r)
	}
	// A real client: Python's poplib sees the refusal text.
	out, err := exec.Command("python3", "-c", fmt.Sprintf(`
import poplib, sys
host, port = %q.rsplit(":", 1)
p = poplib.POP3(host, int(port))
p.user("christa@contoso.com")
try:
    p.pass_(%q)
except poplib.error_proto as e:
    print(e.args[0].decode())
`, e.Addr("pop3"), pw)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator." {
		t.Errorf("poplib: %v %s", err, out)
	}

	// Enable again: POP3 works, and the DELE of the closed session was
	// never applied.
	set("/api/v1/casmailboxes/christa", `{"PopEnabled":true}`)
	pop3, r := popLogin(t, e, "christa@contoso.com", pw)
	if !strings.HasPrefix(r, "+OK") {
		t.Fatalf("POP3 after enabling: %q", r)
	}
	if s := pop3.cmd("STAT"); s != stat {
		t.Errorf("STAT after the kicked session: %q; want %q (no deletion applied)", s, stat)
	}
	pop3.cmd("QUIT")

	// Security defaults: both protocols blocked for everyone, sessions
	// closed, per-mailbox values kept.
	imap.send("d IDLE")
	imap.read()
	set("/api/v1/organizationconfig", `{"SecurityDefaultsEnabled":true}`)
	if r := imap.until("* BYE"); r != "* BYE IMAP4 was blocked by your organization's security defaults." {
		t.Errorf("IDLE session under security defaults: %q", r)
	}
	_, r = imapLogin(t, e, "kim@contoso.com", pw)
	if r != "a NO [CONTACTADMIN] IMAP4 is blocked by your organization's security defaults. Contact your administrator." {
		t.Errorf("IMAP4 login under security defaults: %q", r)
	}
	_, r = popLogin(t, e, "christa@contoso.com", pw)
	if r != "-ERR [SYS/PERM] POP3 is blocked by your organization's security defaults. Contact your administrator." {
		t.Errorf("POP3 login under security defaults: %q", r)
	}
	_, r = imapLogin(t, e, "kim@contoso.com", "wrong")
	if r != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
		t.Errorf("wrong password under security defaults: %q", r)
	}
	var cas struct {
		PopEnabled, EffectivePopEnabled bool
		PopAccess                       string
	}
	admin.json("GET", "/api/v1/casmailboxes/christa", nil, &cas)
	if !cas.PopEnabled || cas.EffectivePopEnabled || cas.PopAccess != "Blocked by security defaults" {
		t.Errorf("CAS mailbox under security defaults: %+v", cas)
	}
	set("/api/v1/organizationconfig", `{"SecurityDefaultsEnabled":false}`)
	if _, r := imapLogin(t, e, "kim@contoso.com", pw); !strings.HasPrefix(r, "a OK") {
		t.Errorf("IMAP4 after security defaults are off: %q", r)
	}

	// Each step is in the audit log.
	var recs []struct {
		CmdletName, ObjectModified string
		ModifiedProperties         []struct{ Name, OldValue, NewValue string }
	}
	admin.json("GET", "/api/v1/adminauditlog?isSuccess=true&cmdlets=Set-CASMailbox,Set-OrganizationConfig", nil, &recs)
	var steps []string
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		p := r.ModifiedProperties[0]
		steps = append(steps, fmt.Sprintf("%s %s %s:%s->%s", r.CmdletName, r.ObjectModified, p.Name, p.OldValue, p.NewValue))
	}
	want := []string{
		"Set-CASMailbox Christa Knapp PopEnabled:True->False",
		"Set-CASMailbox Christa Knapp PopEnabled:False->True",
		"Set-OrganizationConfig Contoso SecurityDefaultsEnabled:False->True",
		"Set-OrganizationConfig Contoso SecurityDefaultsEnabled:True->False",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}

	// The usage report counts the real logins.
	e.Recorder.Flush()
	var rep struct {
		Users []struct {
			UserPrincipalName                              string
			PopLogins, ImapLogins, PopRefused, ImapRefused int
			FailedLogins                                   int
			LastPopDate                                    *time.Time
		}
		Daily []struct{ PopUsers, ImapUsers int }
	}
	admin.json("GET", "/api/v1/reports/emailappusage?period=7", nil, &rep)
	found := false
	for _, u := range rep.Users {
		if u.UserPrincipalName == "christa@contoso.com" {
			found = true
			if u.PopLogins != 2 || u.PopRefused != 3 || u.ImapLogins != 1 || u.FailedLogins != 1 || u.LastPopDate == nil {
				t.Errorf("usage of Christa: %+v", u)
			}
		}
	}
	if !found || len(rep.Daily) != 7 || rep.Daily[6].PopUsers != 1 {
		t.Errorf("usage report: %+v", rep)
	}
}
