package shell

import (
	"bufio"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EAuthenticationPolicySignIn runs the authentication policy
// cmdlets (New-, Get-, Set-, Remove-AuthenticationPolicy, Set-User and
// Get-User's AuthenticationPolicy, Set-OrganizationConfig
// -DefaultAuthenticationPolicy) in the shell against a real server on each
// engine, and checks with a raw IMAP4 and POP3 client that the policy
// decides whether a right password signs in.
func TestE2EAuthenticationPolicySignIn(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { authPolicyCmdlets(t, startServer(t)) })
	t.Run("postgres", func(t *testing.T) {
		authPolicyCmdlets(t, testenv.Start(t, testenv.Options{Demo: true, Postgres: true}))
	})
}

// signInLine sends one sign-in line to a POP3 or IMAP4 server and returns
// the server's final answer to it.
func signInLine(t *testing.T, addr, line string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if _, err := c.Write([]byte(line + "\r\n")); err != nil {
		t.Fatal(err)
	}
	for {
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		s = strings.TrimRight(s, "\r\n")
		if !strings.HasPrefix(s, "* ") {
			return s
		}
	}
}

func authPolicyCmdlets(t *testing.T, env *testenv.Env) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00christa@contoso.com\x00" + testenv.DemoPassword))
	imapPlain := func() string { return signInLine(t, env.Addr("imap"), "a AUTHENTICATE PLAIN "+plain) }
	popPlain := func() string { return signInLine(t, env.Addr("pop3"), "AUTH PLAIN "+plain) }
	const blocked = "a NO [CONTACTADMIN] Basic authentication for IMAP4 is blocked by your organization's authentication policy. Use a client that signs in with OAuth, or contact your administrator."

	type step struct {
		src          string
		code         int
		out, errOut  string
		outHas, errs []string
		after        func()
	}
	steps := []step{
		{src: "New-AuthenticationPolicy -Name 'No IMAP basic' -AllowBasicAuthPop -WhatIf; (Get-AuthenticationPolicy | Measure-Object).Count",
			outHas: []string{"What if: ", "0\n"}},
		{src: "New-AuthenticationPolicy -Name 'No IMAP basic' -AllowBasicAuthPop; Get-AuthenticationPolicy | ForEach-Object { \"$($_.Name) $($_.AllowBasicAuthPop) $($_.AllowBasicAuthImap) $($_.AllowBasicAuthSmtp)\" }",
			out: "No IMAP basic True False False\n"},
		{src: "New-AuthenticationPolicy 'no imap BASIC'", code: 1, errs: []string{"The authentication policy 'no imap BASIC' already exists."}},
		{src: "Get-AuthenticationPolicy | Format-Table Name,AllowBasicAuthPop,AllowBasicAuthImap,AllowBasicAuthSmtp", outHas: []string{"Name          AllowBasicAuthPop AllowBasicAuthImap AllowBasicAuthSmtp", "No IMAP basic True              False              False"}},
		{src: "Get-AuthenticationPolicy", outHas: []string{"\nIdentity           : No IMAP basic\nName               : No IMAP basic\nAllowBasicAuthPop  : True\nAllowBasicAuthImap : False\nAllowBasicAuthSmtp : False\nWhenCreated        : "}},
		{src: "Get-AuthenticationPolicy -Identity nope", code: 1, errs: []string{"Get-AuthenticationPolicy: The operation couldn't be performed because object 'nope' couldn't be found"}},
		// the user's own policy
		{src: "Set-User christa -AuthenticationPolicy 'no imap basic'; (Get-User christa).AuthenticationPolicy; (Get-User -Anr chr | Where-Object AuthenticationPolicy).Name",
			out: "No IMAP basic\nChrista Knapp\n",
			after: func() {
				if got := imapPlain(); got != blocked {
					t.Errorf("IMAP4 PLAIN under the user's policy:\ngot  %s\nwant %s", got, blocked)
				}
				if got := popPlain(); !strings.HasPrefix(got, "+OK ") {
					t.Errorf("POP3 PLAIN under the user's policy (POP3 allowed): %s", got)
				}
			}},
		{src: "Get-User christa | Format-List Name,FirstName,LastName,UserPrincipalName,RecipientType",
			out: "\nName              : Christa Knapp\nFirstName         : Christa\nLastName          : Knapp\nUserPrincipalName : christa@contoso.com\nRecipientType     : UserMailbox\n\n"},
		{src: "Set-AuthenticationPolicy 'No IMAP basic' -AllowBasicAuthImap; (Get-AuthenticationPolicy 'No IMAP basic').AllowBasicAuthImap",
			out: "True\n",
			after: func() {
				if got := imapPlain(); !strings.HasPrefix(got, "a OK ") {
					t.Errorf("IMAP4 PLAIN once the policy allows it: %s", got)
				}
			}},
		{src: "Set-AuthenticationPolicy 'No IMAP basic' -AllowBasicAuthImap:$false -AllowBasicAuthPop; (Get-AuthenticationPolicy 'No IMAP basic').AllowBasicAuthImap",
			out: "False\n", errOut: ""},
		{src: "Set-AuthenticationPolicy 'No IMAP basic' -AllowBasicAuthPop", errs: []string{"WARNING: "}},
		{src: "Remove-AuthenticationPolicy 'No IMAP basic' -Confirm:$false", code: 1,
			errs: []string{"The authentication policy 'No IMAP basic' is assigned to 1 user(s)"}},
		{src: "Set-User christa -AuthenticationPolicy $null; $null -eq (Get-User christa).AuthenticationPolicy", out: "True\n",
			after: func() {
				if got := imapPlain(); !strings.HasPrefix(got, "a OK ") {
					t.Errorf("IMAP4 PLAIN without a policy: %s", got)
				}
			}},
		// the organization's default
		{src: "Set-OrganizationConfig -DefaultAuthenticationPolicy 'No IMAP basic'; (Get-OrganizationConfig).DefaultAuthenticationPolicy",
			out: "No IMAP basic\n",
			after: func() {
				if got := imapPlain(); got != blocked {
					t.Errorf("IMAP4 PLAIN under the default policy:\ngot  %s\nwant %s", got, blocked)
				}
			}},
		// a change of another setting leaves the default as it is
		{src: "Set-OrganizationConfig -SecurityDefaultsEnabled $false; (Get-OrganizationConfig).DefaultAuthenticationPolicy", out: "No IMAP basic\n",
			errOut: "WARNING: The command completed successfully but no settings of 'Contoso' have been modified.\n"},
		{src: "Remove-AuthenticationPolicy 'No IMAP basic' -Confirm:$false", code: 1, errs: []string{"is the organization's default"}},
		{src: "Set-OrganizationConfig -DefaultAuthenticationPolicy $null; \"[$((Get-OrganizationConfig).DefaultAuthenticationPolicy)]\"", out: "[]\n"},
		{src: "Remove-AuthenticationPolicy 'No IMAP basic' -WhatIf; (Get-AuthenticationPolicy | Measure-Object).Count", outHas: []string{"What if: ", "1\n"}},
		{src: "Get-AuthenticationPolicy | Remove-AuthenticationPolicy -Confirm:$false; (Get-AuthenticationPolicy | Measure-Object).Count", out: "0\n",
			after: func() {
				if got := imapPlain(); !strings.HasPrefix(got, "a OK ") {
					t.Errorf("IMAP4 PLAIN after the policy was removed: %s", got)
				}
			}},
	}
	for _, st := range steps {
		code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, st.src)
		if code != st.code {
			t.Errorf("%s: exit %d; want %d (stdout %q, stderr %q)", st.src, code, st.code, out, errOut)
		}
		if st.outHas == nil && out != st.out {
			t.Errorf("%s:\nstdout %q\nwant   %q", st.src, out, st.out)
		}
		for _, w := range st.outHas {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", st.src, out, w)
			}
		}
		if st.errs == nil && errOut != st.errOut {
			t.Errorf("%s:\nstderr %q\nwant   %q", st.src, errOut, st.errOut)
		}
		for _, w := range st.errs {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", st.src, errOut, w)
			}
		}
		if st.after != nil {
			st.after()
		}
	}
}
