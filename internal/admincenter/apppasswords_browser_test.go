package admincenter_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// imapSignIn signs in to IMAP4 with LOGIN and returns the connection's
// reader and the tagged answer; the connection stays open.
func imapSignIn(t *testing.T, env *testenv.Env, user, password string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("tcp", env.Addr("imap"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	c.Write([]byte("a LOGIN " + user + " " + password + "\r\n"))
	line, _ := r.ReadString('\n')
	return c, r, strings.TrimRight(line, "\r\n")
}

// TestBrowserAppPasswords opens a mailbox's App passwords from its
// details pane, creates one (its secret is shown once, on an answer no
// cache keeps), signs in to IMAP4 with it, sees a refusal of the same name,
// and revokes it: the open session is closed.
func TestBrowserAppPasswords(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	toMailboxes(b)
	b.clickRow("Christa Knapp")
	b.waitPane("Christa Knapp")
	b.clickRoleLoads("link", "App passwords")
	if got := b.text("#dialog-title"); got != "App passwords" {
		t.Fatalf("dialog: got %q", got)
	}
	if got := b.text("#apppassword-none"); got != "This mailbox has no app passwords." {
		t.Errorf("empty list: got %q", got)
	}
	b.typeInto("apppassword-name", "Phone")
	b.clickRoleLoads("button", "Create")
	if got := b.text("#apppassword-created"); !strings.Contains(got, "Copy it now: it is shown only this once.") {
		t.Errorf("after Create: got %q", got)
	}
	secret := eval[string](b, `document.getElementById("apppassword-secret").value`)
	if !auth.LooksLikeAppPassword(secret) {
		t.Fatalf("shown secret: %q", secret)
	}
	_, r, answer := imapSignIn(t, env, "christa@contoso.com", secret)
	if !strings.HasPrefix(answer, "a OK") {
		t.Fatalf("IMAP4 LOGIN with the app password made in the browser: %q", answer)
	}
	if got := b.text("#apppassword-list"); !strings.Contains(got, "Phone") || !strings.Contains(got, "Never") {
		t.Errorf("list: got %q", got)
	}

	b.allowConsole("status of 409")
	b.typeInto("apppassword-name", "phone")
	b.clickRoleLoads("button", "Create")
	if got := b.text("#problem"); !strings.Contains(got, "already has an app password named 'Phone'") {
		t.Errorf("same name: got %q", got)
	}

	b.clickRoleLoads("button", "Revoke the app password Phone")
	if got := b.text("#flash"); !strings.Contains(got, "The app password Phone of Christa Knapp was revoked.") || !strings.Contains(got, "IMAP4") {
		t.Errorf("after Revoke: got %q", got)
	}
	line, _ := r.ReadString('\n')
	if want := "* BYE " + access.AppPasswordRevokedText; strings.TrimRight(line, "\r\n") != want {
		t.Errorf("open session: got %q; want %q", line, want)
	}
	if got := b.text("#apppassword-none"); got == "" {
		t.Error("the list still shows the revoked app password")
	}
}
