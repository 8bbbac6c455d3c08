package wire

import "time"

// The resources below are the objects the cmdlets show, in the order of
// their properties.

// Mailbox is what Get-Mailbox shows (GET /api/v1/mailboxes).
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

// CASMailbox is what Get-CASMailbox shows (GET /api/v1/casmailboxes): the
// stored switches, the effective state under the organization's security
// defaults, and the last use of each protocol.
type CASMailbox struct {
	Identity           string
	Name               string
	DisplayName        string
	PrimarySmtpAddress string
	Guid               string
	PopEnabled         bool
	ImapEnabled        bool
	// EffectivePopEnabled and EffectiveImapEnabled are false under
	// security defaults whatever PopEnabled/ImapEnabled say.
	EffectivePopEnabled  bool
	EffectiveImapEnabled bool
	// PopAccess and ImapAccess say why: Enabled, Disabled, or Blocked by
	// security defaults.
	PopAccess  string
	ImapAccess string
	// SmtpClientAuthenticationDisabled is the mailbox's own value (null:
	// follow the organization); SmtpClientAuthAccess the effective state
	// of authenticated SMTP and why (Enabled, Disabled, Disabled for the
	// organization, Blocked by security defaults).
	SmtpClientAuthenticationDisabled *bool
	EffectiveSmtpClientAuthEnabled   bool
	SmtpClientAuthAccess             string
	// LastPopLogonTime and LastImapLogonTime are null when never used.
	LastPopLogonTime  *time.Time
	LastImapLogonTime *time.Time
	WhenChanged       time.Time
}

// CASMailboxPlan is what Get-CASMailboxPlan shows.
type CASMailboxPlan struct {
	Identity    string
	Name        string
	PopEnabled  bool
	ImapEnabled bool
	WhenChanged time.Time
}

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
	CmdletParameters   []Parameter
	ObjectModified     string
	ModifiedProperties []PropertyChange
	Succeeded          bool
	Error              string
}

// Parameter is one parameter of an audited cmdlet.
type Parameter struct {
	Name  string
	Value string
}

// PropertyChange is one property an audited change modified.
type PropertyChange struct {
	Name     string
	OldValue string
	NewValue string
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

// EmailAppUsageReport answers "who still uses POP3 or IMAP4?" (GET
// /api/v1/reports/emailappusage).
type EmailAppUsageReport struct {
	Period          int // days
	ReportDate      time.Time
	ActivePopUsers  int
	ActiveImapUsers int
	Users           []EmailAppUsage
	Daily           []DailyActiveUsers
}

// MailboxStatistics is what Get-MailboxStatistics shows.
type MailboxStatistics struct {
	Identity           string
	DisplayName        string
	ItemCount          int64
	TotalItemSize      string // "1.462 MB (1,533,190 bytes)"
	TotalItemSizeBytes int64
	StorageLimitStatus string
	// The mailbox's limits, as Get-Mailbox shows them, and in bytes (0:
	// Unlimited) for the surfaces that compute with them.
	IssueWarningQuota             string
	ProhibitSendQuota             string
	ProhibitSendReceiveQuota      string
	ProhibitSendReceiveQuotaBytes int64
}
