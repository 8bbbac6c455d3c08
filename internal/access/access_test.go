package access_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestDecide is the access rule for every combination of its inputs:
// security defaults, the mailbox's PopEnabled and ImapEnabled, and the
// protocol. Security defaults win whatever the mailbox says; otherwise
// the protocol's own switch decides and the other switch never matters.
// (The plan only seeds these switches for new mailboxes; the transport
// rule — TLS, loopback, allow-insecure-auth — is the protocol servers',
// tested in internal/imap and internal/pop3.)
func TestDecide(t *testing.T) {
	const (
		on  = true
		off = false
	)
	for _, tc := range []struct {
		secDefaults, pop, imap bool
		proto                  access.Protocol
		want                   access.Reason
	}{
		{off, on, on, access.POP3, access.Allowed},
		{off, on, on, access.IMAP4, access.Allowed},
		{off, on, off, access.POP3, access.Allowed},
		{off, on, off, access.IMAP4, access.Disabled},
		{off, off, on, access.POP3, access.Disabled},
		{off, off, on, access.IMAP4, access.Allowed},
		{off, off, off, access.POP3, access.Disabled},
		{off, off, off, access.IMAP4, access.Disabled},
		{on, on, on, access.POP3, access.SecurityDefaults},
		{on, on, on, access.IMAP4, access.SecurityDefaults},
		{on, on, off, access.POP3, access.SecurityDefaults},
		{on, on, off, access.IMAP4, access.SecurityDefaults},
		{on, off, on, access.POP3, access.SecurityDefaults},
		{on, off, on, access.IMAP4, access.SecurityDefaults},
		{on, off, off, access.POP3, access.SecurityDefaults},
		{on, off, off, access.IMAP4, access.SecurityDefaults},
	} {
		name := fmt.Sprintf("secdefaults=%v/pop=%v/imap=%v/%s", tc.secDefaults, tc.pop, tc.imap, tc.proto)
		t.Run(name, func(t *testing.T) {
			org := store.OrgConfig{Name: "Contoso", SecurityDefaultsEnabled: tc.secDefaults}
			m := store.Mailbox{Name: "Christa Knapp", PopEnabled: tc.pop, ImapEnabled: tc.imap}
			if got := access.Decide(org, m, tc.proto); got != tc.want {
				t.Errorf("Decide: got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestTexts pins the sentences a refused client, a kicked session and an
// admin read.
func TestTexts(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"pop3 disabled", (&access.Denied{Protocol: access.POP3, Reason: access.Disabled}).Text(),
			"POP3 access is disabled for this mailbox. Contact your administrator."},
		{"imap4 blocked", (&access.Denied{Protocol: access.IMAP4, Reason: access.SecurityDefaults}).Text(),
			"IMAP4 is blocked by your organization's security defaults. Contact your administrator."},
		{"kick imap4 disabled", access.KickText(access.IMAP4, access.Disabled), "IMAP4 access was disabled by your administrator."},
		{"kick pop3 blocked", access.KickText(access.POP3, access.SecurityDefaults), "POP3 was blocked by your organization's security defaults."},
		{"reason shown to admins", access.SecurityDefaults.String(), "Blocked by security defaults"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q; want %q", tc.got, tc.want)
			}
		})
	}
}

// TestDecideSMTP is the rule for authenticated SMTP: security defaults
// win; then the mailbox's SmtpClientAuthenticationDisabled when set; $null
// follows the organization's. POP3 and IMAP4 switches never matter.
func TestDecideSMTP(t *testing.T) {
	for _, tc := range []struct {
		secDefaults, orgOff bool
		mailbox             *bool
		want                access.Reason
	}{
		{false, false, nil, access.Allowed},
		{false, true, nil, access.OrgDisabled},
		{false, true, new(false), access.Allowed},
		{false, false, new(true), access.Disabled},
		{false, true, new(true), access.Disabled},
		{true, false, new(false), access.SecurityDefaults},
		{true, false, nil, access.SecurityDefaults},
	} {
		name := fmt.Sprintf("secdefaults=%v/org=%v/mailbox=%v", tc.secDefaults, tc.orgOff, tc.mailbox != nil && *tc.mailbox)
		if tc.mailbox == nil {
			name += "(null)"
		}
		t.Run(name, func(t *testing.T) {
			org := store.OrgConfig{SecurityDefaultsEnabled: tc.secDefaults, SmtpClientAuthenticationDisabled: tc.orgOff}
			m := store.Mailbox{Name: "Christa Knapp", SmtpClientAuthenticationDisabled: tc.mailbox}
			if got := access.Decide(org, m, access.SMTP); got != tc.want {
				t.Errorf("Decide: got %v; want %v", got, tc.want)
			}
		})
	}
	if got, want := (&access.Denied{Protocol: access.SMTP, Reason: access.Disabled}).Text(),
		"Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."; got != want {
		t.Errorf("mailbox text: got %q; want %q", got, want)
	}
	if got, want := (&access.Denied{Protocol: access.SMTP, Reason: access.OrgDisabled}).Text(),
		"Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."; got != want {
		t.Errorf("tenant text: got %q; want %q", got, want)
	}
}
