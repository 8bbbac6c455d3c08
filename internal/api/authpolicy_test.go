package api_test

import (
	"bufio"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestAuthenticationPolicyREST creates a policy that blocks basic
// authentication for IMAP4 over REST, assigns it with Set-User, and checks
// with a raw IMAP4 client that a right password is refused with the reason
// (after the password was proved) while POP3 still lets it in; then removes
// it again.
func TestAuthenticationPolicyREST(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	if s, out := admin.do("POST", "/api/v1/authenticationpolicies", map[string]any{"Name": "No IMAP basic", "AllowBasicAuthPop": true}); s != 201 {
		t.Fatalf("New-AuthenticationPolicy: %d %s", s, out)
	}
	var got []map[string]any
	if s := admin.json("GET", "/api/v1/authenticationpolicies", nil, &got); s != 200 || len(got) != 1 ||
		got[0]["AllowBasicAuthPop"] != true || got[0]["AllowBasicAuthImap"] != false || got[0]["AllowBasicAuthSmtp"] != false {
		t.Fatalf("Get-AuthenticationPolicy: %d %v", s, got)
	}
	if s, out := admin.do("PATCH", "/api/v1/users/christa", map[string]any{"AuthenticationPolicy": "no imap basic"}); s != 200 {
		t.Fatalf("Set-User: %d %s", s, out)
	}
	var u map[string]any
	if s := admin.json("GET", "/api/v1/users/christa", nil, &u); s != 200 || u["AuthenticationPolicy"] != "No IMAP basic" {
		t.Errorf("Get-User: %d %v", s, u)
	}

	talk := func(addr string, lines ...string) string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		var last string
		for _, l := range lines {
			c.Write([]byte(l + "\r\n"))
			for {
				s, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				last = strings.TrimRight(s, "\r\n")
				if !strings.HasPrefix(last, "* ") {
					break
				}
			}
		}
		return last
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00christa@contoso.com\x00" + testenv.DemoPassword))
	want := "a NO [CONTACTADMIN] Basic authentication for IMAP4 is blocked by your organization's authentication policy. Use a client that signs in with OAuth, or contact your administrator."
	if got := talk(e.Addr("imap"), "a AUTHENTICATE PLAIN "+plain); got != want {
		t.Errorf("IMAP4 PLAIN under the policy:\ngot  %s\nwant %s", got, want)
	}
	if got := talk(e.Addr("imap"), "a LOGIN christa@contoso.com wrong"); got != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
		t.Errorf("IMAP4 wrong password under the policy: %s", got)
	}
	if got := talk(e.Addr("pop3"), "AUTH PLAIN "+plain); !strings.HasPrefix(got, "+OK ") {
		t.Errorf("POP3 PLAIN under the policy (POP3 allowed): %s", got)
	}

	// In use: not removed; unassigned: removed.
	if s, out := admin.do("DELETE", "/api/v1/authenticationpolicies/No%20IMAP%20basic", nil); s == 200 || !strings.Contains(string(out), "assigned to 1 user") {
		t.Errorf("remove an assigned policy: %d %s", s, out)
	}
	if s, out := admin.do("PATCH", "/api/v1/users/christa", map[string]any{"AuthenticationPolicy": ""}); s != 200 {
		t.Fatalf("Set-User $null: %d %s", s, out)
	}
	if s, out := admin.do("DELETE", "/api/v1/authenticationpolicies/No%20IMAP%20basic", nil); s != 200 {
		t.Errorf("Remove-AuthenticationPolicy: %d %s", s, out)
	}
	if got := talk(e.Addr("imap"), "a AUTHENTICATE PLAIN "+plain); !strings.HasPrefix(got, "a OK ") {
		t.Errorf("IMAP4 PLAIN after removal: %s", got)
	}
}
