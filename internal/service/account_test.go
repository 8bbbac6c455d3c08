package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func appStates(apps []service.MailApp) map[access.Protocol]access.Reason {
	out := map[access.Protocol]access.Reason{}
	for _, a := range apps {
		out[a.Protocol] = a.Reason
		if a.Enabled != (a.Reason == access.Allowed) || (!a.Enabled && (a.Why == "" || a.WhatToDo == "")) || (a.Enabled && a.Why != "") {
			panic("inconsistent MailApp")
		}
	}
	return out
}

// TestAccountMailAppsReasons: /account and autoconfiguration tell each
// reason the login flow has, from the same decision.
func TestAccountMailAppsReasons(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	const pw = "Start-Pass-1"
	if _, err := e.svc.SetMailbox(ctx, orgAdmin, "user000000", service.SetMailboxRequest{Password: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
	token, u, err := e.svc.AccountSignIn(ctx, "user000000@contoso.com", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Administrator {
		t.Errorf("user000000 is no administrator: %+v", u)
	}
	// An /account session is no administrator's.
	if _, err := e.svc.Authenticate(ctx, token, service.SurfaceAPI, "192.0.2.1"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("Authenticate with an account token: %v; want ErrUnauthenticated", err)
	}
	if _, _, err := e.svc.AccountSignIn(ctx, "user000000@contoso.com", "wrong", "192.0.2.1"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("wrong password: %v", err)
	}
	if _, _, err := e.svc.AccountSignIn(ctx, "nobody@contoso.com", pw, "192.0.2.1"); err == nil || err.Error() != "The user name or password is incorrect." {
		t.Errorf("unknown user: %v", err)
	}

	check := func(name string, want map[access.Protocol]access.Reason) {
		t.Helper()
		apps, err := e.svc.AccountMailApps(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		got := appStates(apps)
		for p, r := range want {
			if got[p] != r {
				t.Errorf("%s: %s: got %v; want %v", name, p, got[p], r)
			}
		}
		ca, err := e.svc.AutoconfigAccess(ctx, "USER000000@contoso.com")
		if err != nil || !ca.Known {
			t.Fatalf("AutoconfigAccess: %+v %v", ca, err)
		}
		for p, r := range want {
			if ca.Allowed(p) != (r == access.Allowed) {
				t.Errorf("%s: autoconfig %s allowed %v; want reason %v", name, p, ca.Allowed(p), r)
			}
		}
	}
	check("default", map[access.Protocol]access.Reason{access.POP3: access.Allowed, access.IMAP4: access.Allowed, access.SMTP: access.Allowed})

	if _, err := e.svc.NewAuthenticationPolicy(ctx, orgAdmin, service.NewAuthenticationPolicyRequest{Name: "No POP",
		AllowBasicAuthImap: true, AllowBasicAuthSmtp: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetUserAuthenticationPolicy(ctx, orgAdmin, "user000000", "No POP", false); err != nil {
		t.Fatal(err)
	}
	check("policy", map[access.Protocol]access.Reason{access.POP3: access.BasicAuthBlocked, access.IMAP4: access.Allowed})
	apps, _ := e.svc.AccountMailApps(ctx, u)
	if !strings.Contains(apps[0].Why, "authentication policy") {
		t.Errorf("POP3 why: %q", apps[0].Why)
	}

	if _, err := e.svc.SetTransportConfig(ctx, orgAdmin, service.SetTransportConfigRequest{SmtpClientAuthenticationDisabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check("transport", map[access.Protocol]access.Reason{access.SMTP: access.OrgDisabled})
	if _, err := e.svc.SetCASMailbox(ctx, orgAdmin, service.SetCASMailboxRequest{Identity: "user000000", ImapEnabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	check("imap off", map[access.Protocol]access.Reason{access.IMAP4: access.Disabled})
	if _, err := e.svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check("security defaults", map[access.Protocol]access.Reason{access.POP3: access.SecurityDefaults, access.IMAP4: access.SecurityDefaults,
		access.SMTP: access.SecurityDefaults})
}

// TestAutoconfigGeneric: an unknown address gets a new mailbox's answer.
func TestAutoconfigGeneric(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	ca, err := e.svc.AutoconfigAccess(ctx, "nobody@contoso.com")
	if err != nil || ca.Known || !ca.Allowed(access.POP3) || !ca.Allowed(access.IMAP4) || !ca.Allowed(access.SMTP) {
		t.Fatalf("unknown: %+v %v", ca, err)
	}
	if _, err := e.svc.SetCASMailboxPlan(ctx, orgAdmin, service.SetCASMailboxPlanRequest{PopEnabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if ca, _ = e.svc.AutoconfigAccess(ctx, "nobody@contoso.com"); ca.Allowed(access.POP3) || !ca.Allowed(access.IMAP4) {
		t.Errorf("unknown under a plan without POP3: %+v", ca)
	}
	// The existing mailbox keeps its own value, as the plan changes only
	// new mailboxes.
	if ca, _ = e.svc.AutoconfigAccess(ctx, "user000000@contoso.com"); !ca.Known || !ca.Allowed(access.POP3) {
		t.Errorf("known: %+v", ca)
	}
}

// TestChangeOwnPassword: the current password is checked, the policy
// holds, the change is audited on the account surface (refusals too),
// every session ends and the browser gets a new one.
func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	const pw, next = "Start-Pass-1", "Next-Pass-22"
	if _, err := e.svc.SetMailbox(ctx, orgAdmin, "user000000", service.SetMailboxRequest{Password: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
	token, u, err := e.svc.AccountSignIn(ctx, "user000000", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.svc.AccountSignIn(ctx, "user000000", pw, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.state(t).audit)
	if _, err := e.svc.ChangeOwnPassword(ctx, u, "wrong", next); !errors.Is(err, service.ErrWrongPassword) {
		t.Errorf("wrong current password: %v", err)
	}
	var ve *service.ValidationError
	if _, err := e.svc.ChangeOwnPassword(ctx, u, pw, "short"); !errors.As(err, &ve) || ve.Message != service.PasswordPolicyText {
		t.Errorf("weak password: %v", err)
	}
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()
	fresh, err := e.svc.ChangeOwnPassword(ctx, u, pw, next)
	if err != nil {
		t.Fatal(err)
	}
	s := e.state(t)
	recs := s.audit[:len(s.audit)-before]
	if len(recs) != 3 {
		t.Fatalf("audit records: got %d; want 3 (two refusals, one change): %+v", len(recs), recs)
	}
	succeeded := 0
	for _, r := range recs {
		if r.Surface != service.SurfaceAccount || r.Caller != "user000000@contoso.com" || r.CmdletName != "Set-Mailbox" {
			t.Errorf("audit record %+v", r)
		}
		for _, p := range r.CmdletParameters {
			if strings.Contains(p.Value, pw) || strings.Contains(p.Value, next) {
				t.Errorf("a password in the audit log: %+v", r)
			}
		}
		if r.Succeeded {
			succeeded++
		}
	}
	if succeeded != 1 {
		t.Errorf("succeeded records: %d; want 1", succeeded)
	}
	var kicked bool
	for _, ev := range e.published() {
		kicked = kicked || ev.Kind == notify.CredentialsChanged && ev.MailboxID == u.MailboxID
	}
	if !kicked {
		t.Errorf("no CredentialsChanged published: %+v", e.published())
	}
	for _, tk := range []string{token, other} {
		if _, err := e.svc.AccountAuthenticate(ctx, tk, "192.0.2.1"); !errors.Is(err, service.ErrUnauthenticated) {
			t.Errorf("old session still valid: %v", err)
		}
	}
	if _, err := e.svc.AccountAuthenticate(ctx, fresh, "192.0.2.1"); err != nil {
		t.Errorf("new session: %v", err)
	}
	if _, _, err := e.svc.AccountSignIn(ctx, "user000000", next, "192.0.2.1"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if _, _, err := e.svc.AccountSignIn(ctx, "user000000", pw, "192.0.2.1"); err == nil {
		t.Errorf("sign-in with the old password worked")
	}
	var m store.Mailbox
	e.st.View(ctx, func(tx store.Tx) error { m, _ = tx.MailboxByID(ctx, u.MailboxID); return nil })
	if m.SCRAMSHA256 == "" {
		t.Errorf("SCRAM keys not made with the new password")
	}
}
