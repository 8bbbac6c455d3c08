package admincenter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestBrowserAuthPolicies runs Organization > Authentication policies in
// the browser: New (IMAP4 left blocked), the default policy, whose effect a
// real IMAP4 LOGIN shows (refused with the policy's reason, then let in once
// Save allows it), Delete refused while the policy is the default and done
// afterwards, and the organization's authenticated SMTP switch.
func TestBrowserAuthPolicies(t *testing.T) {
	env := startEnv(t, testenv.Options{Demo: true})
	b := newTab(t)
	b.signIn(env.URL(), "admin", testenv.AdminPassword)
	b.clickRoleLoads("link", "Organization")
	b.clickRoleLoads("link", "Authentication policies")
	if got := b.text(".tabs a[aria-current=page]"); got != "Authentication policies" {
		t.Fatalf("current tab: got %q", got)
	}
	if got := b.text("#policies-none"); got == "" {
		t.Error("no policies: the page does not say so")
	}

	b.typeInto("policy-name", "No IMAP basic")
	b.click("#new-pop")
	b.click("#new-smtp")
	b.clickRoleLoads("button", "New policy")
	if got := b.text("#flash"); !strings.Contains(got, "The authentication policy No IMAP basic was created.") {
		t.Errorf("after New: got %q", got)
	}
	eval[bool](b, `(document.getElementById("default-policy").value = "No IMAP basic", true)`)
	b.clickRoleLoads("button", "Save default")
	if got := b.text("#flash"); !strings.Contains(got, "DefaultAuthenticationPolicy: No IMAP basic") {
		t.Errorf("after Save default: got %q", got)
	}
	const blocked = "a NO [CONTACTADMIN] Basic authentication for IMAP4 is blocked by your organization's authentication policy. Use a client that signs in with OAuth, or contact your administrator."
	if _, _, got := imapSignIn(t, env, "christa@contoso.com", testenv.DemoPassword); got != blocked {
		t.Errorf("IMAP4 LOGIN under the default policy:\ngot  %s\nwant %s", got, blocked)
	}

	b.allowConsole("status of 400")
	b.clickRoleLoads("button", "Delete the policy No IMAP basic")
	if got := b.text("#flash"); !strings.Contains(got, "is the organization's default") {
		t.Errorf("Delete of the default: got %q", got)
	}
	b.click("#imap-0")
	b.clickRoleLoads("button", "Save the policy No IMAP basic")
	if got := b.text("#flash"); !strings.Contains(got, "AllowBasicAuthImap: True") {
		t.Errorf("after Save: got %q", got)
	}
	if _, _, got := imapSignIn(t, env, "christa@contoso.com", testenv.DemoPassword); !strings.HasPrefix(got, "a OK") {
		t.Errorf("IMAP4 LOGIN once the policy allows it: %s", got)
	}
	eval[bool](b, `(document.getElementById("default-policy").value = "", true)`)
	b.clickRoleLoads("button", "Save default")
	b.clickRoleLoads("button", "Delete the policy No IMAP basic")
	if got := b.text("#flash"); !strings.Contains(got, "The authentication policy No IMAP basic was deleted.") {
		t.Errorf("after Delete: got %q", got)
	}

	// Authenticated SMTP for the organization.
	if got := b.text("#org-smtp-state"); got != "Enabled" {
		t.Errorf("authenticated SMTP: got %q; want Enabled", got)
	}
	b.click("#org-smtp")
	b.clickRoleLoads("button", "Save")
	if got := b.text("#org-smtp-state"); got != "Disabled" {
		t.Errorf("authenticated SMTP after Save: got %q; want Disabled", got)
	}
	tc, err := env.Service.GetTransportConfig(context.Background(), adminCaller(t, env))
	if err != nil || !tc.SmtpClientAuthenticationDisabled {
		t.Errorf("Get-TransportConfig: %+v, %v; want SmtpClientAuthenticationDisabled", tc, err)
	}
}
