package service

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// GetCASMailboxes is Get-CASMailbox.
func (s *Service) GetCASMailboxes(ctx context.Context, c Caller, o ListOptions) (Page[CASMailbox], error) {
	var p Page[CASMailbox]
	err := s.read(ctx, c, "Get-CASMailbox", rbac.ViewRecipients, func(tx store.Tx) error {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		ms, total, next, err := s.listMailboxes(ctx, tx, o)
		if err != nil {
			return err
		}
		p.Total, p.More, p.Next = total, next != "", next
		for _, m := range ms {
			p.Items = append(p.Items, casView(m, org))
		}
		return nil
	})
	return p, err
}

// GetCASMailbox is Get-CASMailbox -Identity for exactly one mailbox.
func (s *Service) GetCASMailbox(ctx context.Context, c Caller, identity string) (CASMailbox, error) {
	var v CASMailbox
	err := s.read(ctx, c, "Get-CASMailbox", rbac.ViewRecipients, func(tx store.Tx) error {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		m, err := s.resolve(ctx, tx, identity)
		v = casView(m, org)
		return err
	})
	return v, err
}

// SetCASMailboxRequest holds the parameters of Set-CASMailbox; nil fields
// are not given.
type SetCASMailboxRequest struct {
	Identity string
	// Guid, in a bulk edit, is the GUID of the piped object the item
	// changes: it names the mailbox (one indexed lookup for a chunk of
	// items), and Identity only names it in messages and the audit log.
	Guid        string
	PopEnabled  *bool
	ImapEnabled *bool
	// SmtpClientAuthenticationDisabled is Exchange's nullable switch of
	// authenticated SMTP: $true, $false, or $null (follow the
	// organization's Set-TransportConfig value).
	SmtpClientAuthenticationDisabled NullableBool
	WhatIf                           bool
}

// NullableBool is a parameter that may be $true, $false or $null, or not
// given at all (Set false).
type NullableBool struct {
	Set   bool
	Value *bool // nil: $null
}

// UnmarshalJSON takes true, false or null, and marks the value given, so
// that a REST body tells null (follow the organization) from a property
// not sent.
func (n *NullableBool) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

// nullableText shows a nullable value as the audit log and WhatIf do.
func nullableText(v *bool) string {
	if v == nil {
		return "$null"
	}
	return boolText(*v)
}

func (r SetCASMailboxRequest) op() op {
	p := []store.Parameter{{Name: "Identity", Value: r.Identity}}
	if r.PopEnabled != nil {
		p = append(p, store.Parameter{Name: "PopEnabled", Value: boolText(*r.PopEnabled)})
	}
	if r.ImapEnabled != nil {
		p = append(p, store.Parameter{Name: "ImapEnabled", Value: boolText(*r.ImapEnabled)})
	}
	if r.SmtpClientAuthenticationDisabled.Set {
		p = append(p, store.Parameter{Name: "SmtpClientAuthenticationDisabled", Value: nullableText(r.SmtpClientAuthenticationDisabled.Value)})
	}
	return op{cmdlet: "Set-CASMailbox", perm: rbac.MailRecipients, object: r.Identity, params: p, whatIf: r.WhatIf}
}

// setCAS applies one request in tx.
// ids resolves the identity (s.resolve when nil).
func (s *Service) setCAS(ctx context.Context, tx store.Tx, c Caller, org store.OrgConfig, ids *resolved, r SetCASMailboxRequest) (mutation, error) {
	if ids == nil {
		ids = &resolved{s: s}
	}
	if r.PopEnabled == nil && r.ImapEnabled == nil && !r.SmtpClientAuthenticationDisabled.Set {
		return mutation{}, invalid("PopEnabled", "Give -PopEnabled, -ImapEnabled, -SmtpClientAuthenticationDisabled or several.")
	}
	m, err := ids.resolveItem(ctx, tx, r.Identity, r.Guid)
	if err != nil {
		return mutation{}, err
	}
	if err := s.inScope(ctx, tx, c, r.op(), m, false); err != nil {
		return mutation{}, err
	}
	res := Result{Identity: m.Name}
	pop, imap := m.PopEnabled, m.ImapEnabled
	if r.PopEnabled != nil && *r.PopEnabled != pop {
		res.Changes = append(res.Changes, store.PropertyChange{Name: "PopEnabled", OldValue: boolText(pop), NewValue: boolText(*r.PopEnabled)})
		pop = *r.PopEnabled
	}
	if r.ImapEnabled != nil && *r.ImapEnabled != imap {
		res.Changes = append(res.Changes, store.PropertyChange{Name: "ImapEnabled", OldValue: boolText(imap), NewValue: boolText(*r.ImapEnabled)})
		imap = *r.ImapEnabled
	}
	smtp, smtpChanged := m.SmtpClientAuthenticationDisabled, false
	if n := r.SmtpClientAuthenticationDisabled; n.Set && nullableText(n.Value) != nullableText(smtp) {
		res.Changes = append(res.Changes, store.PropertyChange{Name: "SmtpClientAuthenticationDisabled", OldValue: nullableText(smtp), NewValue: nullableText(n.Value)})
		smtp, smtpChanged = n.Value, true
	}
	if len(res.Changes) == 0 {
		res.NoChange = true
		return mutation{result: res}, nil
	}
	// The sessions this change closes: those of a protocol that was
	// allowed and no longer is.
	after := m
	after.PopEnabled, after.ImapEnabled, after.SmtpClientAuthenticationDisabled = pop, imap, smtp
	var closing []access.Protocol
	for _, p := range []access.Protocol{access.POP3, access.IMAP4, access.SMTP} {
		if access.Decide(org, m, p) == access.Allowed && access.Decide(org, after, p) != access.Allowed {
			closing = append(closing, p)
		}
	}
	s.sessionsClosed(&res, m.ID, m.Name, closing...)
	if r.WhatIf {
		return mutation{result: res}, nil
	}
	if pop != m.PopEnabled || imap != m.ImapEnabled {
		if err := tx.SetMailboxProtocols(ctx, m.ID, pop, imap, s.now()); err != nil {
			return mutation{}, err
		}
	}
	if smtpChanged {
		if err := tx.SetMailboxSmtpClientAuth(ctx, m.ID, smtp, s.now()); err != nil {
			return mutation{}, err
		}
	}
	// A later item of the same bulk edit may name this mailbox again: it
	// must see the mailbox as changed.
	ids.changed(after)
	return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.AccessChanged, MailboxID: m.ID}}}, nil
}

// SetCASMailbox is Set-CASMailbox: PopEnabled and ImapEnabled of one
// mailbox. Open sessions of a protocol it disables are closed at once.
func (s *Service) SetCASMailbox(ctx context.Context, c Caller, r SetCASMailboxRequest) (Result, error) {
	return s.change(ctx, c, r.op(), func(tx store.Tx) (mutation, error) {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return mutation{}, err
		}
		return s.setCAS(ctx, tx, c, org, nil, r)
	})
}

// ItemResult is the outcome of one item of a bulk operation.
type ItemResult struct {
	Result
	Err error
}

// bulkChunk bounds one transaction of a bulk operation.
const bulkChunk = 1000

// SetCASMailboxes applies many Set-CASMailbox requests (a pipeline of
// mailboxes into Set-CASMailbox, a Bulk Edit in the admin center), each
// checked and audited on its own as SetCASMailbox does, a thousand per
// transaction (see changeMany). One item failing (not found, ambiguous,
// invalid) fails only that item.
func (s *Service) SetCASMailboxes(ctx context.Context, c Caller, reqs []SetCASMailboxRequest) ([]ItemResult, error) {
	ops := make([]op, len(reqs))
	for i, r := range reqs {
		ops[i] = r.op()
	}
	var org store.OrgConfig
	var ids *resolved
	return s.changeMany(ctx, c, ops,
		func(tx store.Tx, chunk []int) (err error) {
			if org, err = tx.OrgConfig(ctx); err != nil {
				return err
			}
			var names, guids []string
			for _, i := range chunk {
				if reqs[i].Guid != "" {
					guids = append(guids, reqs[i].Guid)
				} else {
					names = append(names, reqs[i].Identity)
				}
			}
			if ids, err = s.resolveMany(ctx, tx, names); err != nil {
				return err
			}
			return ids.resolveGUIDs(ctx, tx, guids)
		},
		func(tx store.Tx, i int) (mutation, error) { return s.setCAS(ctx, tx, c, org, ids, reqs[i]) })
}

// isItemError reports errors that belong to one item of a bulk operation
// rather than to the whole transaction.
func isItemError(err error) bool {
	switch err.(type) {
	case *NotFoundError, *AmbiguousError, *ValidationError, *ConflictError, *ForbiddenError:
		// A ForbiddenError here is a mailbox out of the caller's write
		// scope (inScope); the role itself was checked before.
		return true
	}
	return false
}

// GetCASMailboxPlan is Get-CASMailboxPlan.
func (s *Service) GetCASMailboxPlan(ctx context.Context, c Caller) (CASMailboxPlan, error) {
	var v CASMailboxPlan
	err := s.read(ctx, c, "Get-CASMailboxPlan", rbac.ViewConfiguration, func(tx store.Tx) error {
		p, err := tx.Plan(ctx)
		v = CASMailboxPlan{Identity: planName, Name: planName, PopEnabled: p.PopEnabled, ImapEnabled: p.ImapEnabled, WhenChanged: p.WhenChanged}
		return err
	})
	return v, err
}

// SetCASMailboxPlanRequest holds the parameters of Set-CASMailboxPlan.
type SetCASMailboxPlanRequest struct {
	PopEnabled  *bool
	ImapEnabled *bool
	WhatIf      bool
}

// SetCASMailboxPlan is Set-CASMailboxPlan: the defaults of mailboxes
// created from now on; existing mailboxes keep their settings, as in
// Exchange.
func (s *Service) SetCASMailboxPlan(ctx context.Context, c Caller, r SetCASMailboxPlanRequest) (Result, error) {
	params := []store.Parameter{{Name: "Identity", Value: planName}}
	if r.PopEnabled != nil {
		params = append(params, store.Parameter{Name: "PopEnabled", Value: boolText(*r.PopEnabled)})
	}
	if r.ImapEnabled != nil {
		params = append(params, store.Parameter{Name: "ImapEnabled", Value: boolText(*r.ImapEnabled)})
	}
	return s.change(ctx, c, op{cmdlet: "Set-CASMailboxPlan", perm: rbac.OrganizationClientAccess, object: planName, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			p, err := tx.Plan(ctx)
			if err != nil {
				return mutation{}, err
			}
			res := Result{Identity: planName}
			if r.PopEnabled != nil && *r.PopEnabled != p.PopEnabled {
				res.Changes = append(res.Changes, store.PropertyChange{Name: "PopEnabled", OldValue: boolText(p.PopEnabled), NewValue: boolText(*r.PopEnabled)})
				p.PopEnabled = *r.PopEnabled
			}
			if r.ImapEnabled != nil && *r.ImapEnabled != p.ImapEnabled {
				res.Changes = append(res.Changes, store.PropertyChange{Name: "ImapEnabled", OldValue: boolText(p.ImapEnabled), NewValue: boolText(*r.ImapEnabled)})
				p.ImapEnabled = *r.ImapEnabled
			}
			res.NoChange = len(res.Changes) == 0
			if res.NoChange || r.WhatIf {
				return mutation{result: res}, nil
			}
			p.WhenChanged = s.now()
			return mutation{result: res, audit: true}, tx.SetPlan(ctx, p)
		})
}

// GetOrganizationConfig is Get-OrganizationConfig.
func (s *Service) GetOrganizationConfig(ctx context.Context, c Caller) (OrganizationConfig, error) {
	var v OrganizationConfig
	err := s.read(ctx, c, "Get-OrganizationConfig", rbac.ViewConfiguration, func(tx store.Tx) error {
		o, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		v = orgView(o)
		v.DefaultAuthenticationPolicy, err = s.policyName(ctx, tx, o.DefaultAuthenticationPolicy)
		return err
	})
	return v, err
}

func orgView(o store.OrgConfig) OrganizationConfig {
	return OrganizationConfig{Identity: o.Name, Name: o.Name, DisplayName: o.Name, DefaultDomain: o.Domain,
		SecurityDefaultsEnabled: o.SecurityDefaultsEnabled, WhenChanged: o.WhenChanged}
}

// SetOrganizationConfigRequest holds the parameters of Set-OrganizationConfig.
type SetOrganizationConfigRequest struct {
	SecurityDefaultsEnabled *bool
	// DefaultAuthenticationPolicy names the policy of mailboxes without
	// one of their own; a pointer to "" ($null) removes the default.
	DefaultAuthenticationPolicy *string
	WhatIf                      bool
}

// SetOrganizationConfig is Set-OrganizationConfig. Turning security
// defaults on blocks POP3, IMAP4 and authenticated SMTP for every mailbox
// and closes every open session of them; the per-mailbox settings are kept and apply again when
// security defaults are turned off.
func (s *Service) SetOrganizationConfig(ctx context.Context, c Caller, r SetOrganizationConfigRequest) (Result, error) {
	var params []store.Parameter
	if r.SecurityDefaultsEnabled != nil {
		params = append(params, store.Parameter{Name: "SecurityDefaultsEnabled", Value: boolText(*r.SecurityDefaultsEnabled)})
	}
	if r.DefaultAuthenticationPolicy != nil {
		v := *r.DefaultAuthenticationPolicy
		if v == "" {
			v = "$null"
		}
		params = append(params, store.Parameter{Name: "DefaultAuthenticationPolicy", Value: v})
	}
	return s.change(ctx, c, op{cmdlet: "Set-OrganizationConfig", perm: rbac.OrganizationClientAccess, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			o, err := tx.OrgConfig(ctx)
			if err != nil {
				return mutation{}, err
			}
			res := Result{Identity: o.Name}
			if r.DefaultAuthenticationPolicy != nil {
				name := ""
				if strings.TrimSpace(*r.DefaultAuthenticationPolicy) != "" {
					p, err := s.authPolicy(ctx, tx, *r.DefaultAuthenticationPolicy)
					if err != nil {
						return mutation{}, err
					}
					name = p.Name
				}
				if !strings.EqualFold(name, o.DefaultAuthenticationPolicy) {
					old, err := s.policyName(ctx, tx, o.DefaultAuthenticationPolicy)
					if err != nil {
						return mutation{}, err
					}
					res.Changes = append(res.Changes, store.PropertyChange{Name: "DefaultAuthenticationPolicy", OldValue: old, NewValue: name})
					o.DefaultAuthenticationPolicy = name
				}
			}
			if r.SecurityDefaultsEnabled != nil && *r.SecurityDefaultsEnabled != o.SecurityDefaultsEnabled {
				res.Changes = append(res.Changes, store.PropertyChange{Name: "SecurityDefaultsEnabled", OldValue: boolText(o.SecurityDefaultsEnabled),
					NewValue: boolText(*r.SecurityDefaultsEnabled)})
				if *r.SecurityDefaultsEnabled {
					s.sessionsClosed(&res, 0, "", access.POP3, access.IMAP4, access.SMTP)
				}
				o.SecurityDefaultsEnabled = *r.SecurityDefaultsEnabled
			}
			if len(res.Changes) == 0 {
				res.NoChange = true
				return mutation{result: res}, nil
			}
			if r.WhatIf {
				return mutation{result: res}, nil
			}
			o.WhenChanged = s.now()
			if err := tx.SetOrgConfig(ctx, o); err != nil {
				return mutation{}, err
			}
			return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.AccessChanged}}}, nil
		})
}

// TransportConfig is what Get-TransportConfig shows: the organization's
// transport settings that Gatehouse has.
type TransportConfig struct {
	Identity string
	// SmtpClientAuthenticationDisabled turns authenticated SMTP off for
	// every mailbox whose own value is $null.
	SmtpClientAuthenticationDisabled bool
	WhenChanged                      time.Time
}

// GetTransportConfig is Get-TransportConfig.
func (s *Service) GetTransportConfig(ctx context.Context, c Caller) (TransportConfig, error) {
	var v TransportConfig
	err := s.read(ctx, c, "Get-TransportConfig", rbac.ViewConfiguration, func(tx store.Tx) error {
		o, err := tx.OrgConfig(ctx)
		v = TransportConfig{Identity: "Transport Settings", SmtpClientAuthenticationDisabled: o.SmtpClientAuthenticationDisabled, WhenChanged: o.WhenChanged}
		return err
	})
	return v, err
}

// SetTransportConfigRequest holds the parameters of Set-TransportConfig.
type SetTransportConfigRequest struct {
	SmtpClientAuthenticationDisabled *bool
	WhatIf                           bool
}

// SetTransportConfig is Set-TransportConfig. Turning authenticated SMTP
// off for the organization closes the open submission sessions of every
// mailbox that follows it.
func (s *Service) SetTransportConfig(ctx context.Context, c Caller, r SetTransportConfigRequest) (Result, error) {
	var params []store.Parameter
	if r.SmtpClientAuthenticationDisabled != nil {
		params = append(params, store.Parameter{Name: "SmtpClientAuthenticationDisabled", Value: boolText(*r.SmtpClientAuthenticationDisabled)})
	}
	const identity = "Transport Settings"
	return s.change(ctx, c, op{cmdlet: "Set-TransportConfig", perm: rbac.OrganizationClientAccess, object: identity, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			o, err := tx.OrgConfig(ctx)
			if err != nil {
				return mutation{}, err
			}
			res := Result{Identity: identity}
			if r.SmtpClientAuthenticationDisabled == nil || *r.SmtpClientAuthenticationDisabled == o.SmtpClientAuthenticationDisabled {
				res.NoChange = true
				return mutation{result: res}, nil
			}
			res.Changes = []store.PropertyChange{{Name: "SmtpClientAuthenticationDisabled", OldValue: boolText(o.SmtpClientAuthenticationDisabled),
				NewValue: boolText(*r.SmtpClientAuthenticationDisabled)}}
			if *r.SmtpClientAuthenticationDisabled {
				s.sessionsClosed(&res, 0, "", access.SMTP)
			}
			if r.WhatIf {
				return mutation{result: res}, nil
			}
			o.SmtpClientAuthenticationDisabled = *r.SmtpClientAuthenticationDisabled
			o.WhenChanged = s.now()
			if err := tx.SetOrgConfig(ctx, o); err != nil {
				return mutation{}, err
			}
			return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.AccessChanged}}}, nil
		})
}
