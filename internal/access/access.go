// Package access holds the access rule of Gatehouse (docs/ARCHITECTURE.md,
// The access rule) and the
// registry of open POP3/IMAP4 sessions that enforces it at once:
//
//	allowed(M, P) = !org.SecurityDefaultsEnabled && M.<P>Enabled
//
// The rule is evaluated from freshly read state at every login and whenever
// a change event arrives; nothing here caches it.
package access

import (
	"fmt"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Protocol is a client access protocol governed by the rule.
type Protocol string

// The protocols. The values are those of login records.
const (
	POP3  Protocol = "pop3"
	IMAP4 Protocol = "imap4"
	// SMTP is authenticated SMTP submission (SMTP AUTH), governed by
	// SmtpClientAuthenticationDisabled as in Exchange.
	SMTP Protocol = "smtp"
)

// Display is the protocol's name as admins and users read it.
func (p Protocol) Display() string {
	switch p {
	case POP3:
		return "POP3"
	case IMAP4:
		return "IMAP4"
	case SMTP:
		return "Authenticated SMTP"
	}
	return string(p)
}

// Reason says why a protocol is not allowed.
type Reason int

// The reasons.
const (
	Allowed Reason = iota
	// Disabled: the mailbox's PopEnabled or ImapEnabled is false.
	Disabled
	// SecurityDefaults: the organization's security defaults block POP3,
	// IMAP4 and authenticated SMTP for everyone.
	SecurityDefaults
	// OrgDisabled: authenticated SMTP is off for the organization
	// (Set-TransportConfig -SmtpClientAuthenticationDisabled $true) and
	// the mailbox follows it.
	OrgDisabled
	// BasicAuthBlocked: the mailbox's authentication policy blocks basic
	// (password-based) authentication for the protocol; OAuth still may.
	BasicAuthBlocked
)

// String names the reason as the admin surfaces show it.
func (r Reason) String() string {
	switch r {
	case Disabled:
		return "Disabled"
	case SecurityDefaults:
		return "Blocked by security defaults"
	case OrgDisabled:
		return "Disabled for the organization"
	case BasicAuthBlocked:
		return "Basic authentication blocked by authentication policy"
	}
	return "Enabled"
}

// Decide applies the rule. Security defaults win over the per-mailbox
// setting, which stays stored and applies again when they are turned off.
func Decide(org store.OrgConfig, m store.Mailbox, p Protocol) Reason {
	if org.SecurityDefaultsEnabled {
		return SecurityDefaults
	}
	if p == SMTP {
		// Exchange: the mailbox's value wins when set; $null follows the
		// organization's.
		if v := m.SmtpClientAuthenticationDisabled; v != nil {
			if *v {
				return Disabled
			}
			return Allowed
		}
		if org.SmtpClientAuthenticationDisabled {
			return OrgDisabled
		}
		return Allowed
	}
	enabled := m.ImapEnabled
	if p == POP3 {
		enabled = m.PopEnabled
	}
	if !enabled {
		return Disabled
	}
	return Allowed
}

// DecidePassword is the whole decision for a password (basic) sign-in to
// protocol p: the access rule first, then the authentication policy pol
// (nil: none). The login flow applies it after the credential, and the
// surfaces that tell users what they may use (autoconfig, /account) ask
// it too, so that they never offer what a login would refuse.
func DecidePassword(org store.OrgConfig, m store.Mailbox, pol *store.AuthPolicy, p Protocol) Reason {
	why := Decide(org, m, p)
	if why == Allowed && !BasicAuthAllowed(pol, p) {
		return BasicAuthBlocked
	}
	return why
}

// Denied is the error of a login refused by the rule, for a client that
// proved its password.
type Denied struct {
	Protocol Protocol
	Reason   Reason
}

func (d *Denied) Error() string { return d.Text() }

// Text is the sentence the client is shown (docs/ARCHITECTURE.md, What
// clients are told); each protocol adds its own response code.
func (d *Denied) Text() string {
	if d.Reason == BasicAuthBlocked {
		if d.Protocol == SMTP {
			// Exchange Online's words for SMTP AUTH with basic
			// authentication turned off.
			return "Authentication unsuccessful, basic authentication is disabled."
		}
		return fmt.Sprintf("Basic authentication for %s is blocked by your organization's authentication policy. Use a client that signs in with OAuth, or contact your administrator.", d.Protocol.Display())
	}
	if d.Protocol == SMTP {
		// Exchange Online's words (535 5.7.139), which admins search for.
		switch d.Reason {
		case Disabled:
			return "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."
		case OrgDisabled:
			return "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
		}
		return "Authentication unsuccessful, authenticated SMTP is blocked by your organization's security defaults."
	}
	if d.Reason == SecurityDefaults {
		return fmt.Sprintf("%s is blocked by your organization's security defaults. Contact your administrator.", d.Protocol.Display())
	}
	return fmt.Sprintf("%s access is disabled for this mailbox. Contact your administrator.", d.Protocol.Display())
}

// KickText is the sentence an open session is closed with when the rule
// turns false for it.
func KickText(p Protocol, r Reason) string {
	if r == BasicAuthBlocked {
		return fmt.Sprintf("Basic authentication for %s was blocked by your administrator.", p.Display())
	}
	if p == SMTP {
		if r == SecurityDefaults {
			return "Authenticated SMTP was blocked by your organization's security defaults."
		}
		return "SmtpClientAuthentication was disabled by your administrator."
	}
	if r == SecurityDefaults {
		return fmt.Sprintf("%s was blocked by your organization's security defaults.", p.Display())
	}
	return fmt.Sprintf("%s access was disabled by your administrator.", p.Display())
}

// RemovedText closes the sessions of a removed mailbox.
const RemovedText = "This mailbox was removed by your administrator."

// AppPasswordRevokedText closes the sessions that signed in with an app
// password that was revoked.
const AppPasswordRevokedText = "The app password this session signed in with was revoked. Sign in again."

// PasswordChangedText closes the sessions of a mailbox whose password was
// changed or reset: IMAP4 "* BYE ...", POP3 "-ERR [SYS/PERM] ...". It does
// not say who changed it: an administrator's reset and the user's own change
// on /account close sessions alike, and a node that re-checks after a missed
// event cannot tell them apart.
const PasswordChangedText = "The password of this mailbox was changed. Sign in again with the new password."

// EffectivePolicy names the authentication policy that governs a mailbox:
// its own, else the organization's default; "" for none.
func EffectivePolicy(org store.OrgConfig, m store.Mailbox) string {
	if m.AuthenticationPolicy != "" {
		return m.AuthenticationPolicy
	}
	return org.DefaultAuthenticationPolicy
}

// BasicAuthAllowed reports whether an authentication policy lets basic
// (password-based: PLAIN, LOGIN, SCRAM, app passwords) sign-in use protocol
// p; nil (no policy) allows it. SMTP submission passes Protocol("smtp").
func BasicAuthAllowed(pol *store.AuthPolicy, p Protocol) bool {
	if pol == nil {
		return true
	}
	switch p {
	case POP3:
		return pol.AllowBasicAuthPop
	case IMAP4:
		return pol.AllowBasicAuthImap
	case "smtp":
		return pol.AllowBasicAuthSmtp
	}
	return true
}
