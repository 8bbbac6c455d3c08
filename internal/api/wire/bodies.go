package wire

// NewMailboxBody is the body of POST /api/v1/mailboxes.
type NewMailboxBody struct {
	Name                      string
	DisplayName               string
	Alias                     string
	PrimarySmtpAddress        string
	MicrosoftOnlineServicesID string
	Password                  string
}

// NewMailboxResponse answers POST /api/v1/mailboxes.
type NewMailboxResponse struct {
	Mailbox Mailbox
	Result  ResultBody
}

// The properties of the change bodies below are optional: a property
// left out (or null) is left as it is. They are omitempty so that a
// client writes only what it changes, and the OpenAPI document does not
// list them as required.

// SetMailboxBody is the body of PATCH /api/v1/mailboxes/{identity}.
type SetMailboxBody struct {
	Name               *string   `json:",omitempty"`
	DisplayName        *string   `json:",omitempty"`
	Alias              *string   `json:",omitempty"`
	PrimarySmtpAddress *string   `json:",omitempty"`
	EmailAddresses     *[]string `json:",omitempty"`
	Password           *string   `json:",omitempty"`
	// Quotas in Exchange's size syntax: "2GB", "1.8 GB",
	// "2 GB (2,147,483,648 bytes)", a number of bytes, or "Unlimited".
	IssueWarningQuota        *string `json:",omitempty"`
	ProhibitSendQuota        *string `json:",omitempty"`
	ProhibitSendReceiveQuota *string `json:",omitempty"`
}

// SetCASMailboxBody is the body of PATCH /api/v1/casmailboxes/{identity}.
type SetCASMailboxBody struct {
	PopEnabled  *bool `json:",omitempty"`
	ImapEnabled *bool `json:",omitempty"`
	// SmtpClientAuthenticationDisabled: true, false, or null to follow the
	// organization (Set-TransportConfig); leave it out to keep it.
	SmtpClientAuthenticationDisabled NullableBool `json:",omitzero"`
}

// BulkCASItem is one mailbox of a bulk change.
type BulkCASItem struct {
	Identity string
	// Guid is the GUID of the piped mailbox object the item changes:
	// when given, it names the mailbox, and Identity only names it in
	// messages and the audit log.
	Guid                             string       `json:",omitempty"`
	PopEnabled                       *bool        `json:",omitempty"`
	ImapEnabled                      *bool        `json:",omitempty"`
	SmtpClientAuthenticationDisabled NullableBool `json:",omitzero"`
}

// BulkCASBody is the body of PATCH /api/v1/casmailboxes: many
// Set-CASMailbox in one request (a pipeline of mailboxes into
// Set-CASMailbox, an admin center Bulk Edit).
type BulkCASBody struct {
	Items  []BulkCASItem
	WhatIf bool
}

// BulkCASResponse holds one result per item, in order.
type BulkCASResponse struct {
	Results   []BulkItemResult
	Changed   int
	Unchanged int
	Failed    int
}

// BulkItemResult is the outcome of one item.
type BulkItemResult struct {
	Result ResultBody
	Error  *ErrorDetail `json:",omitempty"`
}

// SetPlanBody is the body of PATCH /api/v1/casmailboxplan.
type SetPlanBody struct {
	PopEnabled  *bool `json:",omitempty"`
	ImapEnabled *bool `json:",omitempty"`
}

// SetOrgBody is the body of PATCH /api/v1/organizationconfig.
type SetOrgBody struct {
	SecurityDefaultsEnabled *bool `json:",omitempty"`
	// DefaultAuthenticationPolicy names a policy; "" removes the default
	// (PowerShell's $null); absent or null leaves it.
	DefaultAuthenticationPolicy *string `json:",omitempty"`
}

// AddMemberBody is the body of POST /api/v1/rolegroups/{name}/members.
type AddMemberBody struct {
	Member string
}
