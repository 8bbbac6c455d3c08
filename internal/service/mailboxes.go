package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// GetMailboxes is Get-Mailbox.
func (s *Service) GetMailboxes(ctx context.Context, c Caller, o ListOptions) (Page[Mailbox], error) {
	var p Page[Mailbox]
	err := s.read(ctx, c, "Get-Mailbox", rbac.ViewRecipients, func(tx store.Tx) error {
		ms, total, next, err := s.listMailboxes(ctx, tx, o)
		if err != nil {
			return err
		}
		p.Total, p.More, p.Next = total, next != "", next
		for _, m := range ms {
			p.Items = append(p.Items, mailboxView(m))
		}
		return nil
	})
	return p, err
}

// GetMailbox is Get-Mailbox -Identity for exactly one mailbox.
func (s *Service) GetMailbox(ctx context.Context, c Caller, identity string) (Mailbox, error) {
	var v Mailbox
	err := s.read(ctx, c, "Get-Mailbox", rbac.ViewRecipients, func(tx store.Tx) error {
		m, err := s.resolve(ctx, tx, identity)
		v = mailboxView(m)
		return err
	})
	return v, err
}

// NewMailboxRequest holds the parameters of New-Mailbox.
type NewMailboxRequest struct {
	Name               string
	DisplayName        string
	Alias              string
	PrimarySmtpAddress string
	// UserPrincipalName is -MicrosoftOnlineServicesID in Exchange Online.
	UserPrincipalName string
	Password          string
	WhatIf            bool
}

var aliasChars = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~.]+$")

func validAlias(a string) bool {
	return aliasChars.MatchString(a) && !strings.HasPrefix(a, ".") && !strings.HasSuffix(a, ".") && !strings.Contains(a, "..") && len(a) <= 64
}

// aliasFrom derives an alias from a name as Exchange does: characters an
// alias may not hold are dropped.
func aliasFrom(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < utf8.RuneSelf && aliasChars.MatchString(string(r)) {
			b.WriteRune(r)
		}
	}
	a := strings.Trim(b.String(), ".")
	for strings.Contains(a, "..") {
		a = strings.ReplaceAll(a, "..", ".")
	}
	return a
}

func validAddress(param, a string) error {
	addr, err := mail.ParseAddress(a)
	if err != nil || addr.Address != a || addr.Name != "" || !strings.Contains(a[strings.LastIndex(a, "@")+1:], ".") {
		return invalid(param, "%q is not a valid SMTP address.", a)
	}
	return nil
}

func validName(param, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return invalid(param, "The %s parameter can't be empty.", param)
	}
	if utf8.RuneCountInString(v) > max {
		return invalid(param, "%s is longer than %d characters.", param, max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(param, "%s contains a control character.", param)
		}
	}
	return nil
}

// conflict turns a store.ErrExists into Exchange's words.
func conflict(err error, m store.Mailbox) error {
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "name_lc"):
		return &ConflictError{Message: fmt.Sprintf("The name '%s' is already being used. Please try another name.", m.Name)}
	case strings.Contains(msg, "alias_lc"):
		return &ConflictError{Message: fmt.Sprintf("The alias '%s' is already being used by another recipient. Please try another alias.", m.Alias)}
	case strings.Contains(msg, "upn_lc"):
		return &ConflictError{Message: fmt.Sprintf("The user principal name '%s' is already being used. Please try another one.", m.UserPrincipalName)}
	case strings.Contains(msg, "email address"):
		addr := strings.TrimSpace(strings.TrimPrefix(msg[:strings.Index(msg, ":")], "email address"))
		return &ConflictError{Message: fmt.Sprintf("The proxy address \"SMTP:%s\" is already being used by another recipient. Please choose another proxy address.", addr)}
	}
	return &ConflictError{Message: "The name, alias or an address is already being used by another recipient."}
}

// NewMailbox is New-Mailbox. The new mailbox takes PopEnabled and
// ImapEnabled from the CAS mailbox plan.
func (s *Service) NewMailbox(ctx context.Context, c Caller, r NewMailboxRequest) (Mailbox, Result, error) {
	params := []store.Parameter{{Name: "Name", Value: r.Name}}
	for _, p := range []store.Parameter{{Name: "DisplayName", Value: r.DisplayName}, {Name: "Alias", Value: r.Alias},
		{Name: "PrimarySmtpAddress", Value: r.PrimarySmtpAddress}, {Name: "MicrosoftOnlineServicesID", Value: r.UserPrincipalName}} {
		if p.Value != "" {
			params = append(params, p)
		}
	}
	params = append(params, store.Parameter{Name: "Password", Value: "********"})
	var view Mailbox
	res, err := s.change(ctx, c, op{cmdlet: "New-Mailbox", perm: rbac.MailRecipientCreation, object: r.Name, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			if err := validName("Name", r.Name, 64); err != nil {
				return mutation{}, err
			}
			if r.DisplayName == "" {
				r.DisplayName = r.Name
			}
			if err := validName("DisplayName", r.DisplayName, 256); err != nil {
				return mutation{}, err
			}
			org, err := tx.OrgConfig(ctx)
			if err != nil {
				return mutation{}, err
			}
			if r.Alias == "" {
				if r.Alias = aliasFrom(r.Name); r.Alias == "" {
					return mutation{}, invalid("Alias", "An alias can't be derived from the name '%s'; give -Alias.", r.Name)
				}
			}
			if !validAlias(r.Alias) {
				return mutation{}, invalid("Alias", "The alias '%s' contains characters an alias can't hold.", r.Alias)
			}
			if r.PrimarySmtpAddress == "" {
				r.PrimarySmtpAddress = strings.ToLower(r.Alias) + "@" + org.Domain
			}
			if err := validAddress("PrimarySmtpAddress", r.PrimarySmtpAddress); err != nil {
				return mutation{}, err
			}
			if r.UserPrincipalName == "" {
				r.UserPrincipalName = r.PrimarySmtpAddress
			}
			if err := validAddress("MicrosoftOnlineServicesID", r.UserPrincipalName); err != nil {
				return mutation{}, err
			}
			if err := CheckPassword(r.Password); err != nil {
				return mutation{}, err
			}
			plan, err := tx.Plan(ctx)
			if err != nil {
				return mutation{}, err
			}
			now := s.now()
			m := store.Mailbox{Name: r.Name, DisplayName: r.DisplayName, Alias: r.Alias, PrimarySmtpAddress: r.PrimarySmtpAddress,
				UserPrincipalName: r.UserPrincipalName, PopEnabled: plan.PopEnabled, ImapEnabled: plan.ImapEnabled,
				WhenCreated: now, WhenChanged: now}
			res := Result{Identity: r.Name, Changes: []store.PropertyChange{
				{Name: "Name", NewValue: m.Name}, {Name: "DisplayName", NewValue: m.DisplayName}, {Name: "Alias", NewValue: m.Alias},
				{Name: "PrimarySmtpAddress", NewValue: m.PrimarySmtpAddress}, {Name: "UserPrincipalName", NewValue: m.UserPrincipalName},
				{Name: "PopEnabled", NewValue: boolText(m.PopEnabled)}, {Name: "ImapEnabled", NewValue: boolText(m.ImapEnabled)},
			}}
			if r.WhatIf {
				view = mailboxView(m)
				return mutation{result: res}, nil
			}
			if m.PasswordHash, m.SCRAMSHA256, err = s.checker.Credentials(r.Password); err != nil {
				return mutation{}, err
			}
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return mutation{}, conflict(err, m)
			}
			view = mailboxView(m)
			return mutation{result: res, audit: true}, nil
		})
	return view, res, err
}

// SetMailboxRequest holds the parameters of Set-Mailbox; nil fields are
// not given.
type SetMailboxRequest struct {
	Name               *string
	DisplayName        *string
	Alias              *string
	PrimarySmtpAddress *string
	// EmailAddresses replaces the proxy addresses ("smtp:" prefixes allowed).
	EmailAddresses *[]string
	// Password resets the password (Reset Password role suffices alone).
	Password *string
	// The storage quotas, as Exchange takes them ("2GB", "1.8 GB",
	// "2 GB (2,147,483,648 bytes)", a number of bytes, "Unlimited").
	IssueWarningQuota        *string
	ProhibitSendQuota        *string
	ProhibitSendReceiveQuota *string
	WhatIf                   bool
}

// SetMailbox is Set-Mailbox.
func (s *Service) SetMailbox(ctx context.Context, c Caller, identity string, r SetMailboxRequest) (Result, error) {
	perm := rbac.MailRecipients
	if r.Password != nil && r.Name == nil && r.DisplayName == nil && r.Alias == nil && r.PrimarySmtpAddress == nil && r.EmailAddresses == nil &&
		r.IssueWarningQuota == nil && r.ProhibitSendQuota == nil && r.ProhibitSendReceiveQuota == nil {
		perm = rbac.ResetPassword
	}
	params := []store.Parameter{{Name: "Identity", Value: identity}}
	add := func(name string, v *string) {
		if v != nil {
			params = append(params, store.Parameter{Name: name, Value: *v})
		}
	}
	add("Name", r.Name)
	add("DisplayName", r.DisplayName)
	add("Alias", r.Alias)
	add("PrimarySmtpAddress", r.PrimarySmtpAddress)
	if r.EmailAddresses != nil {
		params = append(params, store.Parameter{Name: "EmailAddresses", Value: strings.Join(*r.EmailAddresses, ",")})
	}
	if r.Password != nil {
		params = append(params, store.Parameter{Name: "Password", Value: "********"})
	}
	add("IssueWarningQuota", r.IssueWarningQuota)
	add("ProhibitSendQuota", r.ProhibitSendQuota)
	add("ProhibitSendReceiveQuota", r.ProhibitSendReceiveQuota)
	o := op{cmdlet: "Set-Mailbox", perm: perm, object: identity, params: params, whatIf: r.WhatIf}
	return s.change(ctx, c, o,
		func(tx store.Tx) (mutation, error) {
			m, err := s.resolve(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			if err := s.inScope(ctx, tx, c, o, m, r.Password != nil); err != nil {
				return mutation{}, err
			}
			old := m
			var changes []store.PropertyChange
			set := func(name string, v *string, dst *string, check func(string) error) error {
				if v == nil || *v == *dst {
					return nil
				}
				if err := check(*v); err != nil {
					return err
				}
				changes = append(changes, store.PropertyChange{Name: name, OldValue: *dst, NewValue: *v})
				*dst = *v
				return nil
			}
			if err := set("Name", r.Name, &m.Name, func(v string) error { return validName("Name", v, 64) }); err != nil {
				return mutation{}, err
			}
			if err := set("DisplayName", r.DisplayName, &m.DisplayName, func(v string) error { return validName("DisplayName", v, 256) }); err != nil {
				return mutation{}, err
			}
			if err := set("Alias", r.Alias, &m.Alias, func(v string) error {
				if !validAlias(v) {
					return invalid("Alias", "The alias '%s' contains characters an alias can't hold.", v)
				}
				return nil
			}); err != nil {
				return mutation{}, err
			}
			if err := set("PrimarySmtpAddress", r.PrimarySmtpAddress, &m.PrimarySmtpAddress, func(v string) error {
				return validAddress("PrimarySmtpAddress", v)
			}); err != nil {
				return mutation{}, err
			}
			if r.EmailAddresses != nil {
				var addrs []string
				for _, a := range *r.EmailAddresses {
					a = strings.TrimSpace(a)
					if i := strings.Index(a, ":"); i > 0 && strings.EqualFold(a[:i], "smtp") {
						a = a[i+1:]
					}
					if a == "" || strings.EqualFold(a, m.PrimarySmtpAddress) {
						continue
					}
					if err := validAddress("EmailAddresses", a); err != nil {
						return mutation{}, err
					}
					addrs = append(addrs, a)
				}
				if strings.Join(addrs, ",") != strings.Join(m.EmailAddresses, ",") {
					changes = append(changes, store.PropertyChange{Name: "EmailAddresses",
						OldValue: strings.Join(m.EmailAddresses, ","), NewValue: strings.Join(addrs, ",")})
					m.EmailAddresses = addrs
				}
			}
			quotaChanges, err := setQuotas(&m, r)
			if err != nil {
				return mutation{}, err
			}
			changes = append(changes, quotaChanges...)
			var events []notify.Event
			if r.Password != nil {
				if err := CheckPassword(*r.Password); err != nil {
					return mutation{}, err
				}
				changes = append(changes, store.PropertyChange{Name: "Password", NewValue: "(changed)"})
				if !r.WhatIf {
					if m.PasswordHash, m.SCRAMSHA256, err = s.checker.Credentials(*r.Password); err != nil {
						return mutation{}, err
					}
					// A reset signs the mailbox's admin sessions out.
					if err := tx.DeleteAdminSessions(ctx, m.ID, s.now()); err != nil {
						return mutation{}, err
					}
				}
				// And revokes its app passwords (apppasswords.go says why).
				revoked, err := revokeAllAppPasswords(ctx, tx, m, r.WhatIf)
				if err != nil {
					return mutation{}, err
				}
				changes = append(changes, revoked...)
				events = append(events, notify.Event{Kind: notify.CredentialsChanged, MailboxID: m.ID})
			}
			res := Result{Identity: old.Name, Changes: changes, NoChange: len(changes) == 0}
			if r.Password != nil {
				// A new password ends every POP3 and IMAP4 session of the
				// mailbox (the registry closes them on CredentialsChanged).
				s.sessionsClosed(&res, m.ID, old.Name, access.POP3, access.IMAP4)
			}
			if res.NoChange || r.WhatIf {
				return mutation{result: res}, nil
			}
			m.WhenChanged = s.now()
			if err := tx.UpdateMailbox(ctx, m); err != nil {
				return mutation{}, conflict(err, m)
			}
			if quotaChanges != nil {
				// Read by every write that adds mail, so nothing to publish.
				if err := tx.SetMailboxQuota(ctx, m.ID, m.Quota, m.WhenChanged); err != nil {
					return mutation{}, err
				}
			}
			return mutation{result: res, events: events, audit: true}, nil
		})
}

// RemoveMailbox is Remove-Mailbox: the mailbox, its folders and mail go;
// its open sessions are closed. The last member of Organization Management
// cannot be removed, so that nobody locks the organization out.
func (s *Service) RemoveMailbox(ctx context.Context, c Caller, identity string, whatIf bool) (Result, error) {
	o := op{cmdlet: "Remove-Mailbox", perm: rbac.MailRecipientCreation, object: identity, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: identity}}}
	return s.change(ctx, c, o,
		func(tx store.Tx) (mutation, error) {
			m, err := s.resolve(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			if err := s.inScope(ctx, tx, c, o, m, false); err != nil {
				return mutation{}, err
			}
			if err := s.keepLastOrgAdmin(ctx, tx, m, "remove the mailbox"); err != nil {
				return mutation{}, err
			}
			res := Result{Identity: m.Name, Changes: []store.PropertyChange{{Name: "Mailbox", OldValue: m.PrimarySmtpAddress, NewValue: ""}}}
			s.sessionsClosed(&res, m.ID, m.Name, access.POP3, access.IMAP4)
			if whatIf {
				return mutation{result: res}, nil
			}
			if err := tx.DeleteMailbox(ctx, m.ID); err != nil {
				return mutation{}, err
			}
			return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.MailboxRemoved, MailboxID: m.ID}}}, nil
		})
}

func (s *Service) keepLastOrgAdmin(ctx context.Context, tx store.Tx, m store.Mailbox, what string) error {
	g, err := tx.RoleGroupByName(ctx, rbac.OrganizationManagement)
	if err != nil {
		return err
	}
	members, err := tx.RoleGroupMembers(ctx, g.ID)
	if err != nil {
		return err
	}
	if len(members) == 1 && members[0].ID == m.ID {
		return invalid("Identity", "Can't %s: '%s' is the last member of Organization Management. Add another member first.", what, m.Name)
	}
	return nil
}
