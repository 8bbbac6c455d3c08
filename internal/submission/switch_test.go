package submission_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

var orgAdmin = service.Caller{Name: "admin@contoso.com", Surface: service.SurfaceShell,
	Groups: []string{rbac.OrganizationManagement}, Permissions: rbac.For([]string{rbac.OrganizationManagement})}

// rawSession is a submission client that reads the wire itself, so that
// the test sees the 421 of a kicked session.
type rawSession struct {
	c net.Conn
	r *bufio.Reader
}

func dialSubmission(t *testing.T, addr string) *rawSession {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &rawSession{c: c, r: bufio.NewReader(c)}
	s.expect(t, "220 ")
	s.cmd(t, "EHLO client.test", "250 ")
	return s
}

// expect reads lines until one starts with prefix (multi-line answers end
// with "NNN "), failing on anything else that ends an answer.
func (s *rawSession) expect(t *testing.T, prefix string) string {
	t.Helper()
	s.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (want %q)", err, prefix)
		}
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
		if len(line) > 3 && line[3] == ' ' {
			t.Fatalf("got %q; want %q", strings.TrimSpace(line), prefix)
		}
	}
}

func (s *rawSession) cmd(t *testing.T, line, want string) string {
	t.Helper()
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		t.Fatal(err)
	}
	return s.expect(t, want)
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func setSmtp(t *testing.T, e *testenv.Env, identity string, v *bool) service.Result {
	t.Helper()
	res, err := e.Service.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: identity,
		SmtpClientAuthenticationDisabled: service.NullableBool{Set: true, Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSmtpClientAuthSwitch: Set-CASMailbox -SmtpClientAuthenticationDisabled
// $true refuses authenticated SMTP after a correct password (535 5.7.139
// ... for the Mailbox) and closes the open submission session (421);
// $null follows Set-TransportConfig (... for the Tenant); a wrong password
// still gets 535 5.7.8 and learns nothing. Every attempt is in the login
// records; the changes are audited.
func TestSmtpClientAuthSwitch(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	addr := e.Addr("submissions")

	open := dialSubmission(t, addr)
	open.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "235 ")

	res := setSmtp(t, e, "Christa Knapp", new(true))
	if len(res.Changes) != 1 || res.Changes[0].OldValue != "$null" || res.Changes[0].NewValue != "True" {
		t.Errorf("change: got %+v; want SmtpClientAuthenticationDisabled $null → True", res.Changes)
	}
	if len(res.Sessions) != 1 || res.Sessions[0].Protocol != "Authenticated SMTP" {
		t.Errorf("sessions closed: got %+v; want the one submission session", res.Sessions)
	}
	// The open session hears it at once, without sending anything.
	if got := open.expect(t, "421 "); !strings.Contains(got, "4.7.0 SmtpClientAuthentication was disabled by your administrator") {
		t.Errorf("kicked session: got %q", got)
	}

	s := dialSubmission(t, addr)
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "535 "); got != "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox." {
		t.Errorf("disabled mailbox: got %q", got)
	}
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, "wrong"), "535 "); !strings.Contains(got, "5.7.8") {
		t.Errorf("wrong password: got %q; want 535 5.7.8", got)
	}

	// $null follows the organization; the organization turned off.
	setSmtp(t, e, "Christa Knapp", nil)
	if _, err := e.Service.SetTransportConfig(ctx, orgAdmin, service.SetTransportConfigRequest{SmtpClientAuthenticationDisabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "535 "); !strings.Contains(got, "disabled for the Tenant") {
		t.Errorf("organization off: got %q", got)
	}
	// The mailbox's own $false wins over the organization.
	setSmtp(t, e, "Christa Knapp", new(false))
	s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "235 ")

	cas, err := e.Service.GetCASMailbox(ctx, orgAdmin, "Christa Knapp")
	if err != nil {
		t.Fatal(err)
	}
	if cas.SmtpClientAuthenticationDisabled == nil || *cas.SmtpClientAuthenticationDisabled || !cas.EffectiveSmtpClientAuthEnabled || cas.SmtpClientAuthAccess != "Enabled" {
		t.Errorf("Get-CASMailbox: got %+v", cas)
	}

	// Login records: the refusals and the successes, protocol smtp.
	m := mailboxOf(t, e, christa)
	var recs []store.LoginRecord
	eventually(t, "the login records", func() bool {
		e.Store.View(ctx, func(tx store.Tx) error {
			var err error
			recs, err = tx.RecentLogins(ctx, m.ID, store.LoginQuery{Protocol: "smtp", Limit: 20})
			return err
		})
		return len(recs) >= 5
	})
	results := map[string]int{}
	for _, r := range recs {
		results[r.Result]++
	}
	if results[store.LoginSuccess] != 2 || results[store.LoginDisabled] != 2 || results[store.LoginFailed] != 1 {
		t.Errorf("login records by result: got %v; want 2 success, 2 disabled, 1 failed", results)
	}
	// The email-apps usage report counts them for the mailbox.
	rep, err := e.Service.EmailAppUsage(ctx, orgAdmin, 7)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range rep.Users {
		if u.UserPrincipalName == christa {
			found = true
			if u.SmtpLogins != 2 || u.SmtpRefused != 2 || u.LastSmtpDate == nil {
				t.Errorf("usage report: got %+v; want 2 SMTP logins, 2 refused, a last SMTP date", u)
			}
		}
	}
	if !found {
		t.Errorf("usage report lacks %s", christa)
	}
	audit, err := e.Service.SearchAdminAuditLog(ctx, orgAdmin, service.AuditSearch{Cmdlets: []string{"Set-CASMailbox", "Set-TransportConfig"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 4 {
		t.Errorf("audit records: got %d; want 4", len(audit))
	}

	// Security defaults block authenticated SMTP too, whatever the
	// mailbox says, and close its open session.
	open2 := dialSubmission(t, addr)
	open2.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "235 ")
	if _, err := e.Service.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	if got := open2.expect(t, "421 "); !strings.Contains(got, "security defaults") {
		t.Errorf("session under security defaults: got %q", got)
	}
	s3 := dialSubmission(t, addr)
	if got := s3.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "535 "); !strings.Contains(got, "5.7.139") || !strings.Contains(got, "security defaults") {
		t.Errorf("AUTH under security defaults: got %q; want 535 5.7.139 naming security defaults", got)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
