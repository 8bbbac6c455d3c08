package api

import (
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The conversions below turn the service layer's views into the wire
// types of package wire, the one statement of the API's JSON contract.
// Where the two structs have the same fields, a Go conversion does it,
// and the build fails the day they drift apart.

func mailboxWire(m service.Mailbox) wire.Mailbox { return wire.Mailbox(m) }

func casMailboxWire(m service.CASMailbox) wire.CASMailbox {
	return wire.CASMailbox{Identity: m.Identity, Name: m.Name, DisplayName: m.DisplayName,
		PrimarySmtpAddress: m.PrimarySmtpAddress, Guid: m.Guid, PopEnabled: m.PopEnabled, ImapEnabled: m.ImapEnabled,
		EffectivePopEnabled: m.EffectivePopEnabled, EffectiveImapEnabled: m.EffectiveImapEnabled,
		PopAccess: m.PopAccess, ImapAccess: m.ImapAccess,
		SmtpClientAuthenticationDisabled: m.SmtpClientAuthenticationDisabled,
		EffectiveSmtpClientAuthEnabled:   m.EffectiveSmtpClientAuthEnabled, SmtpClientAuthAccess: m.SmtpClientAuthAccess,
		LastPopLogonTime: m.LastPopLogonTime, LastImapLogonTime: m.LastImapLogonTime, WhenChanged: m.WhenChanged}
}

func planWire(p service.CASMailboxPlan) wire.CASMailboxPlan { return wire.CASMailboxPlan(p) }

func orgWire(o service.OrganizationConfig) wire.OrganizationConfig { return wire.OrganizationConfig(o) }

func roleGroupWire(g service.RoleGroup) wire.RoleGroup { return wire.RoleGroup(g) }

func roleGroupMemberWire(m service.RoleGroupMember) wire.RoleGroupMember {
	return wire.RoleGroupMember(m)
}

func statisticsWire(s service.MailboxStatistics) wire.MailboxStatistics {
	return wire.MailboxStatistics(s)
}

func auditRecordWire(r service.AuditRecord) wire.AuditRecord {
	w := wire.AuditRecord{RunDate: r.RunDate, Caller: r.Caller, ClientIP: r.ClientIP, Surface: r.Surface,
		CmdletName: r.CmdletName, ObjectModified: r.ObjectModified, Succeeded: r.Succeeded, Error: r.Error}
	if r.CmdletParameters != nil {
		w.CmdletParameters = make([]wire.Parameter, len(r.CmdletParameters))
		for i, p := range r.CmdletParameters {
			w.CmdletParameters[i] = wire.Parameter(p)
		}
	}
	if r.ModifiedProperties != nil {
		w.ModifiedProperties = make([]wire.PropertyChange, len(r.ModifiedProperties))
		for i, c := range r.ModifiedProperties {
			w.ModifiedProperties[i] = wire.PropertyChange(c)
		}
	}
	return w
}

func emailAppUsageWire(r service.EmailAppUsageReport) wire.EmailAppUsageReport {
	w := wire.EmailAppUsageReport{Period: r.Period, ReportDate: r.ReportDate, ActivePopUsers: r.ActivePopUsers,
		ActiveImapUsers: r.ActiveImapUsers}
	if r.Users != nil {
		w.Users = make([]wire.EmailAppUsage, len(r.Users))
		for i, u := range r.Users {
			w.Users[i] = wire.EmailAppUsage(u)
		}
	}
	if r.Daily != nil {
		w.Daily = make([]wire.DailyActiveUsers, len(r.Daily))
		for i, d := range r.Daily {
			w.Daily[i] = wire.DailyActiveUsers(d)
		}
	}
	return w
}

// openSessionWire is the one conversion of the sessions a change closes.
func openSessionWire(s service.OpenSession) wire.OpenSession { return wire.OpenSession(s) }

// wireSlice converts a slice, keeping nil as nil (JSON null) and empty as
// empty (JSON []), as encoding/json writes the service's slices.
func wireSlice[S, W any](in []S, conv func(S) W) []W {
	if in == nil {
		return nil
	}
	out := make([]W, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}
