package service

import (
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The views below are the objects the cmdlets show; their field names are
// the property names of Exchange (PascalCase), and the REST API serializes
// them as they are.

// Mailbox is what Get-Mailbox shows.
type Mailbox struct {
	Identity             string
	Name                 string
	DisplayName          string
	Alias                string
	PrimarySmtpAddress   string
	EmailAddresses       []string // "SMTP:primary", "smtp:proxy"
	UserPrincipalName    string
	Guid                 string
	RecipientTypeDetails string
	WhenCreated          time.Time
	WhenChanged          time.Time
	// The storage quotas as Exchange shows them: "2 GB (2,147,483,648
	// bytes)" or "Unlimited".
	IssueWarningQuota        string
	ProhibitSendQuota        string
	ProhibitSendReceiveQuota string
}

func mailboxView(m store.Mailbox) Mailbox {
	addrs := []string{"SMTP:" + m.PrimarySmtpAddress}
	for _, a := range m.EmailAddresses {
		addrs = append(addrs, "smtp:"+a)
	}
	return Mailbox{Identity: m.Name, Name: m.Name, DisplayName: m.DisplayName, Alias: m.Alias,
		PrimarySmtpAddress: m.PrimarySmtpAddress, EmailAddresses: addrs, UserPrincipalName: m.UserPrincipalName,
		Guid: m.GUID, RecipientTypeDetails: "UserMailbox", WhenCreated: m.WhenCreated, WhenChanged: m.WhenChanged,
		IssueWarningQuota: FormatQuota(m.Quota.IssueWarning), ProhibitSendQuota: FormatQuota(m.Quota.ProhibitSend),
		ProhibitSendReceiveQuota: FormatQuota(m.Quota.ProhibitSendReceive)}
}

// CASMailbox is what Get-CASMailbox shows: the stored switches, the
// effective state under the organization's security defaults, and the
// last use of each protocol.
type CASMailbox struct {
	Identity           string
	Name               string
	DisplayName        string
	PrimarySmtpAddress string
	Guid               string
	PopEnabled         bool
	ImapEnabled        bool
	// EffectivePopEnabled and EffectiveImapEnabled apply the access rule:
	// false under security defaults whatever PopEnabled/ImapEnabled say.
	EffectivePopEnabled  bool
	EffectiveImapEnabled bool
	// PopAccess and ImapAccess say why: Enabled, Disabled, or Blocked by
	// security defaults.
	PopAccess  string
	ImapAccess string
	// PopState and ImapState are PopAccess and ImapAccess as values, for
	// the surfaces that decide by them (the API does not send them).
	PopState  AccessState `json:"-"`
	ImapState AccessState `json:"-"`
	// SmtpClientAuthenticationDisabled is the mailbox's own value (nil:
	// follow the organization); SmtpClientAuthAccess the effective state
	// of authenticated SMTP and why (Enabled, Disabled, Disabled for the
	// organization, Blocked by security defaults).
	SmtpClientAuthenticationDisabled *bool
	EffectiveSmtpClientAuthEnabled   bool
	SmtpClientAuthAccess             string
	SmtpState                        AccessState `json:"-"`
	// LastPopLogonTime and LastImapLogonTime are nil when never used.
	LastPopLogonTime  *time.Time
	LastImapLogonTime *time.Time
	WhenChanged       time.Time
}

// AccessState says whether a protocol is allowed for a mailbox and, if
// not, why (the access rule's answer); its String is what PopAccess and
// ImapAccess show.
type AccessState = access.Reason

// The access states, for the admin surfaces (which do not import access).
const (
	AccessEnabled  = access.Allowed
	AccessDisabled = access.Disabled
	AccessBlocked  = access.SecurityDefaults
	// AccessOrgDisabled: authenticated SMTP is off for the organization
	// (Set-TransportConfig) and the mailbox follows it.
	AccessOrgDisabled = access.OrgDisabled
)

// BlockedBySecurityDefaults reports whether the organization's security
// defaults block POP3 and IMAP4 for this mailbox (and for every other).
func (m CASMailbox) BlockedBySecurityDefaults() bool { return m.PopState == AccessBlocked }

func casView(m store.Mailbox, org store.OrgConfig) CASMailbox {
	pop, imap, smtp := access.Decide(org, m, access.POP3), access.Decide(org, m, access.IMAP4), access.Decide(org, m, access.SMTP)
	return CASMailbox{SmtpClientAuthenticationDisabled: m.SmtpClientAuthenticationDisabled,
		EffectiveSmtpClientAuthEnabled: smtp == access.Allowed, SmtpClientAuthAccess: smtp.String(), SmtpState: smtp, Identity: m.Name, Name: m.Name, DisplayName: m.DisplayName, PrimarySmtpAddress: m.PrimarySmtpAddress,
		Guid: m.GUID, PopEnabled: m.PopEnabled, ImapEnabled: m.ImapEnabled,
		EffectivePopEnabled: pop == access.Allowed, EffectiveImapEnabled: imap == access.Allowed,
		PopAccess: pop.String(), ImapAccess: imap.String(), PopState: pop, ImapState: imap,
		LastPopLogonTime: timePtr(m.LastPopLogon), LastImapLogonTime: timePtr(m.LastImapLogon), WhenChanged: m.WhenChanged}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CASMailboxPlan is what Get-CASMailboxPlan shows.
type CASMailboxPlan struct {
	Identity    string
	Name        string
	PopEnabled  bool
	ImapEnabled bool
	WhenChanged time.Time
}

// planName is the name of the one CAS mailbox plan.
const planName = "Default"

// OrganizationConfig is what Get-OrganizationConfig shows.
type OrganizationConfig struct {
	Identity                string
	Name                    string
	DisplayName             string
	DefaultDomain           string
	SecurityDefaultsEnabled bool
	// DefaultAuthenticationPolicy is the authentication policy of
	// mailboxes without one of their own ("" for none).
	DefaultAuthenticationPolicy string
	WhenChanged                 time.Time
}

// RoleGroup is what Get-RoleGroup shows.
type RoleGroup struct {
	Identity    string
	Name        string
	Description string
	Roles       []string
	Members     []string
}

// RoleGroupMember is what Get-RoleGroupMember shows.
type RoleGroupMember struct {
	Identity           string
	Name               string
	DisplayName        string
	PrimarySmtpAddress string
	RecipientType      string
}

// AuditRecord is what Search-AdminAuditLog shows.
type AuditRecord struct {
	RunDate            time.Time
	Caller             string
	ClientIP           string
	Surface            string
	CmdletName         string
	CmdletParameters   []store.Parameter
	ObjectModified     string
	ModifiedProperties []store.PropertyChange
	Succeeded          bool
	Error              string
}

// EmailAppUsage is one mailbox in the email-apps usage report.
type EmailAppUsage struct {
	UserPrincipalName string
	DisplayName       string
	LastPopDate       *time.Time
	LastImapDate      *time.Time
	PopLogins         int
	ImapLogins        int
	// PopRefused and ImapRefused count logins with the right password that
	// the access rule refused.
	PopRefused   int
	ImapRefused  int
	FailedLogins int
	// LastSmtpDate, SmtpLogins and SmtpRefused are the same for
	// authenticated SMTP (submission).
	LastSmtpDate *time.Time
	SmtpLogins   int
	SmtpRefused  int
}

// DailyActiveUsers counts mailboxes that used each protocol on one day.
type DailyActiveUsers struct {
	Date      time.Time
	PopUsers  int
	ImapUsers int
}

// EmailAppUsageReport answers "who still uses POP3 or IMAP4?".
type EmailAppUsageReport struct {
	Period          int // days
	ReportDate      time.Time
	ActivePopUsers  int
	ActiveImapUsers int
	Users           []EmailAppUsage
	Daily           []DailyActiveUsers
}
