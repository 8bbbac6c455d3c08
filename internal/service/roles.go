package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// GetRoleGroups is Get-RoleGroup (identity "" for all).
func (s *Service) GetRoleGroups(ctx context.Context, c Caller, identity string) ([]RoleGroup, error) {
	var out []RoleGroup
	err := s.read(ctx, c, "Get-RoleGroup", rbac.ViewConfiguration, func(tx store.Tx) error {
		groups, err := tx.RoleGroups(ctx)
		if err != nil {
			return err
		}
		if identity != "" {
			g, err := s.roleGroup(ctx, tx, identity)
			if err != nil {
				return err
			}
			groups = []store.RoleGroup{g}
		}
		for _, g := range groups {
			members, err := tx.RoleGroupMembers(ctx, g.ID)
			if err != nil {
				return err
			}
			v := RoleGroup{Identity: g.Name, Name: g.Name, Description: g.Description, Roles: []string{}, Members: []string{}}
			for _, p := range rbac.Permissions(g.Name) {
				v.Roles = append(v.Roles, string(p))
			}
			for _, m := range members {
				v.Members = append(v.Members, m.Name)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

func (s *Service) roleGroup(ctx context.Context, tx store.Tx, identity string) (store.RoleGroup, error) {
	g, err := tx.RoleGroupByName(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		return g, &NotFoundError{Identity: identity, Server: s.server}
	}
	return g, err
}

// GetRoleGroupMembers is Get-RoleGroupMember.
func (s *Service) GetRoleGroupMembers(ctx context.Context, c Caller, group string) ([]RoleGroupMember, error) {
	var out []RoleGroupMember
	err := s.read(ctx, c, "Get-RoleGroupMember", rbac.ViewConfiguration, func(tx store.Tx) error {
		g, err := s.roleGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		members, err := tx.RoleGroupMembers(ctx, g.ID)
		for _, m := range members {
			out = append(out, RoleGroupMember{Identity: m.Name, Name: m.Name, DisplayName: m.DisplayName,
				PrimarySmtpAddress: m.PrimarySmtpAddress, RecipientType: "UserMailbox"})
		}
		return err
	})
	return out, err
}

// AddRoleGroupMember is Add-RoleGroupMember.
func (s *Service) AddRoleGroupMember(ctx context.Context, c Caller, group, member string, whatIf bool) (Result, error) {
	return s.change(ctx, c, op{cmdlet: "Add-RoleGroupMember", perm: rbac.RoleManagement, object: group, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: group}, {Name: "Member", Value: member}}},
		func(tx store.Tx) (mutation, error) {
			g, err := s.roleGroup(ctx, tx, group)
			if err != nil {
				return mutation{}, err
			}
			m, err := s.resolve(ctx, tx, member)
			if err != nil {
				return mutation{}, err
			}
			res := Result{Identity: g.Name, Changes: []store.PropertyChange{{Name: "Members", NewValue: "+" + m.Name}}}
			if whatIf {
				return mutation{result: res}, nil
			}
			if err := tx.AddRoleGroupMember(ctx, g.ID, m.ID); err != nil {
				if errors.Is(err, store.ErrExists) {
					return mutation{}, &ConflictError{Message: fmt.Sprintf("The recipient \"%s\" is already a member of the group \"%s\".", m.Name, g.Name)}
				}
				return mutation{}, err
			}
			return mutation{result: res, audit: true}, nil
		})
}

// RemoveRoleGroupMember is Remove-RoleGroupMember. The last member of
// Organization Management stays.
func (s *Service) RemoveRoleGroupMember(ctx context.Context, c Caller, group, member string, whatIf bool) (Result, error) {
	return s.change(ctx, c, op{cmdlet: "Remove-RoleGroupMember", perm: rbac.RoleManagement, object: group, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: group}, {Name: "Member", Value: member}}},
		func(tx store.Tx) (mutation, error) {
			g, err := s.roleGroup(ctx, tx, group)
			if err != nil {
				return mutation{}, err
			}
			m, err := s.resolve(ctx, tx, member)
			if err != nil {
				return mutation{}, err
			}
			if g.Name == rbac.OrganizationManagement {
				if err := s.keepLastOrgAdmin(ctx, tx, m, "remove the member"); err != nil {
					return mutation{}, err
				}
			}
			res := Result{Identity: g.Name, Changes: []store.PropertyChange{{Name: "Members", NewValue: "-" + m.Name}}}
			if whatIf {
				return mutation{result: res}, nil
			}
			if err := tx.RemoveRoleGroupMember(ctx, g.ID, m.ID); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return mutation{}, &ValidationError{Parameter: "Member",
						Message: fmt.Sprintf("The recipient \"%s\" isn't a member of the group \"%s\".", m.Name, g.Name)}
				}
				return mutation{}, err
			}
			return mutation{result: res, audit: true}, nil
		})
}

// AuditSearch holds the parameters of Search-AdminAuditLog.
type AuditSearch struct {
	Cmdlets    []string
	ObjectIDs  []string
	UserIDs    []string
	StartDate  time.Time
	EndDate    time.Time
	IsSuccess  *bool
	ResultSize int // 0: 1000; Unlimited: all
	// Cursor is the continuation token of the page before (Page.Next).
	Cursor string
}

// SearchAdminAuditLog is Search-AdminAuditLog, newest first: the first
// ResultSize records.
func (s *Service) SearchAdminAuditLog(ctx context.Context, c Caller, q AuditSearch) ([]AuditRecord, error) {
	p, err := s.SearchAdminAuditLogPage(ctx, c, q)
	return p.Items, err
}

// SearchAdminAuditLogPage is one page of Search-AdminAuditLog, newest
// first: up to ResultSize records after the page that gave q.Cursor, with
// More and the token of the next page when there are more. Total is not
// counted (0).
func (s *Service) SearchAdminAuditLogPage(ctx context.Context, c Caller, q AuditSearch) (Page[AuditRecord], error) {
	var p Page[AuditRecord]
	if !q.StartDate.IsZero() && !q.EndDate.IsZero() && q.EndDate.Before(q.StartDate) {
		return p, invalid("EndDate", "The EndDate must be later than the StartDate.")
	}
	limit := q.ResultSize
	if limit == 0 {
		limit = DefaultResultSize
	}
	if limit < 0 {
		limit = 0
	}
	var before int64
	if q.Cursor != "" {
		var t auditToken
		if err := decodeToken(q.Cursor, &t); err != nil {
			return p, err
		}
		if t.Before <= 0 {
			return p, badToken()
		}
		before = t.Before
	}
	ask := limit
	if limit > 0 {
		ask = limit + 1 // one more, to know whether there are more
	}
	err := s.read(ctx, c, "Search-AdminAuditLog", rbac.ViewAuditLogs, func(tx store.Tx) error {
		objects := q.ObjectIDs
		if len(objects) > 0 {
			objects = s.auditObjects(ctx, tx, objects)
		}
		recs, err := tx.SearchAudit(ctx, store.AuditQuery{Cmdlets: q.Cmdlets, ObjectIDs: objects, UserIDs: q.UserIDs,
			Start: q.StartDate, End: q.EndDate, IsSuccess: q.IsSuccess, BeforeID: before, Limit: ask})
		if limit > 0 && len(recs) > limit {
			recs = recs[:limit]
			p.More, p.Next = true, encodeToken(auditToken{Before: recs[limit-1].ID})
		}
		for _, r := range recs {
			p.Items = append(p.Items, AuditRecord{RunDate: r.RunDate, Caller: r.Caller, ClientIP: r.ClientAddress, Surface: r.Surface,
				CmdletName: r.CmdletName, CmdletParameters: r.CmdletParameters, ObjectModified: r.ObjectModified,
				ModifiedProperties: r.ModifiedProperties, Succeeded: r.Succeeded, Error: r.Error})
		}
		return err
	})
	return p, err
}

// UsagePeriods are the periods of the email-apps usage report, in days.
var UsagePeriods = []int{7, 30, 90, 180}

// EmailAppUsage is Get-EmailAppUsageReport: per mailbox, the last POP3
// and IMAP4 use and the counts of logins, refusals and failures in the
// period; and per day, how many mailboxes used each protocol.
func (s *Service) EmailAppUsage(ctx context.Context, c Caller, period int) (EmailAppUsageReport, error) {
	ok := false
	for _, p := range UsagePeriods {
		ok = ok || p == period
	}
	if !ok {
		return EmailAppUsageReport{}, invalid("Period", "The period must be 7, 30, 90 or 180 days, not %d.", period)
	}
	now := s.now()
	since := now.Truncate(24*time.Hour).AddDate(0, 0, -period+1)
	rep := EmailAppUsageReport{Period: period, ReportDate: now, Users: []EmailAppUsage{}, Daily: []DailyActiveUsers{}}
	err := s.read(ctx, c, "Get-EmailAppUsageReport", rbac.ViewRecipients, func(tx store.Tx) error {
		rows, err := tx.UsageReport(ctx, since)
		if err != nil {
			return err
		}
		for _, r := range rows {
			u := EmailAppUsage{UserPrincipalName: r.UserPrincipalName, DisplayName: r.DisplayName,
				LastPopDate: timePtr(r.LastPop), LastImapDate: timePtr(r.LastImap), PopLogins: r.PopLogins, ImapLogins: r.ImapLogins,
				PopRefused: r.PopRefused, ImapRefused: r.ImapRefused, FailedLogins: r.Failed,
				LastSmtpDate: timePtr(r.LastSmtp), SmtpLogins: r.SmtpLogins, SmtpRefused: r.SmtpRefused}
			if r.PopLogins > 0 {
				rep.ActivePopUsers++
			}
			if r.ImapLogins > 0 {
				rep.ActiveImapUsers++
			}
			rep.Users = append(rep.Users, u)
		}
		daily, err := tx.DailyActiveUsers(ctx, since)
		if err != nil {
			return err
		}
		byDay := map[time.Time]store.DailyActive{}
		for _, d := range daily {
			byDay[d.Day] = d
		}
		// Every day of the period, with zeros where nobody logged in, so
		// that a chart has no gaps.
		for d := since; !d.After(now); d = d.AddDate(0, 0, 1) {
			v := byDay[d]
			rep.Daily = append(rep.Daily, DailyActiveUsers{Date: d, PopUsers: v.Pop, ImapUsers: v.Imap})
		}
		return nil
	})
	return rep, err
}
