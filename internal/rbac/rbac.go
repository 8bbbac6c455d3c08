// Package rbac defines what each built-in role group may do. Permissions
// are named after the Exchange management roles that grant the same
// cmdlets, so that a denial names a role an Exchange admin recognizes.
//
// The groups themselves (names, members) live in the store; their
// permissions live here, in code, so that they cannot drift per node.
package rbac

import (
	"slices"
	"strings"
)

// Permission is a management role.
type Permission string

// The permissions.
const (
	// ViewRecipients: Get-Mailbox, Get-CASMailbox, the usage report.
	ViewRecipients Permission = "View-Only Recipients"
	// MailRecipients: Set-Mailbox and Set-CASMailbox (POP3/IMAP4 settings).
	MailRecipients Permission = "Mail Recipients"
	// MailRecipientCreation: New-Mailbox, Remove-Mailbox.
	MailRecipientCreation Permission = "Mail Recipient Creation"
	// ResetPassword: Set-Mailbox -Password.
	ResetPassword Permission = "Reset Password"
	// ViewConfiguration: Get-OrganizationConfig, Get-CASMailboxPlan, Get-RoleGroup(Member).
	ViewConfiguration Permission = "View-Only Configuration"
	// OrganizationClientAccess: Set-OrganizationConfig -SecurityDefaultsEnabled, Set-CASMailboxPlan.
	OrganizationClientAccess Permission = "Organization Client Access"
	// RoleManagement: Add-/Remove-RoleGroupMember.
	RoleManagement Permission = "Role Management"
	// ViewAuditLogs: Search-AdminAuditLog.
	ViewAuditLogs Permission = "View-Only Audit Logs"
	// TransportQueues: Retry-Queue and Remove-Message (the outbound queue
	// of SMTP submission); Get-Queue and Get-Message need ViewConfiguration.
	TransportQueues Permission = "Transport Queues"
	// Migration: New-/Remove-MigrationEndpoint, New-, Start-, Stop-,
	// Complete-, Remove-MigrationBatch, Test-MigrationServerAvailability
	// (Exchange's "Migration" role). Reading batches needs ViewRecipients.
	Migration Permission = "Migration"
)

// The built-in role groups.
const (
	OrganizationManagement         = "Organization Management"
	RecipientManagement            = "Recipient Management"
	HelpDesk                       = "Help Desk"
	ViewOnlyOrganizationManagement = "View-Only Organization Management"
)

// Groups maps each built-in role group to its permissions (the README lists
// what each may do).
var groups = map[string][]Permission{
	OrganizationManagement: {ViewRecipients, MailRecipients, MailRecipientCreation, ResetPassword, ViewConfiguration,
		OrganizationClientAccess, RoleManagement, ViewAuditLogs, TransportQueues, Migration},
	RecipientManagement:            {ViewRecipients, MailRecipients, MailRecipientCreation, ResetPassword, ViewConfiguration, Migration},
	HelpDesk:                       {ViewRecipients, ResetPassword},
	ViewOnlyOrganizationManagement: {ViewRecipients, ViewConfiguration, ViewAuditLogs},
}

// GroupNames lists the built-in role groups in their display order.
func GroupNames() []string {
	return []string{OrganizationManagement, RecipientManagement, HelpDesk, ViewOnlyOrganizationManagement}
}

// Permissions returns the permissions of a role group (case-insensitive).
func Permissions(group string) []Permission {
	for g, ps := range groups {
		if strings.EqualFold(g, group) {
			return slices.Clone(ps)
		}
	}
	return nil
}

// GroupsWith returns the role groups that grant p, in display order.
func GroupsWith(p Permission) []string {
	var out []string
	for _, g := range GroupNames() {
		if slices.Contains(groups[g], p) {
			out = append(out, g)
		}
	}
	return out
}

// Set is the union of the permissions of some role groups.
type Set map[Permission]bool

// For returns the permissions of a member of the given groups.
func For(groupNames []string) Set {
	s := Set{}
	for _, g := range groupNames {
		for _, p := range Permissions(g) {
			s[p] = true
		}
	}
	return s
}

// Has reports whether the set grants p.
func (s Set) Has(p Permission) bool { return s[p] }

// List returns the permissions in a stable order.
func (s Set) List() []Permission {
	var out []Permission
	for p := range s {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
