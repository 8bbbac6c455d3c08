package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// AuthenticationPolicy is what Get-AuthenticationPolicy shows: for which
// protocols basic (password-based) authentication is allowed. OAuth is
// never blocked by a policy.
type AuthenticationPolicy struct {
	Identity           string
	Name               string
	AllowBasicAuthPop  bool
	AllowBasicAuthImap bool
	AllowBasicAuthSmtp bool
	WhenCreated        time.Time
	WhenChanged        time.Time
}

func policyView(p store.AuthPolicy) AuthenticationPolicy {
	return AuthenticationPolicy{Identity: p.Name, Name: p.Name, AllowBasicAuthPop: p.AllowBasicAuthPop,
		AllowBasicAuthImap: p.AllowBasicAuthImap, AllowBasicAuthSmtp: p.AllowBasicAuthSmtp,
		WhenCreated: p.WhenCreated, WhenChanged: p.WhenChanged}
}

// authPolicy finds a policy by name, with Exchange's not-found error.
func (s *Service) authPolicy(ctx context.Context, tx store.Tx, identity string) (store.AuthPolicy, error) {
	p, err := tx.AuthPolicy(ctx, strings.TrimSpace(identity))
	if errors.Is(err, store.ErrNotFound) {
		return p, &NotFoundError{Identity: identity, Server: s.server}
	}
	return p, err
}

// GetAuthenticationPolicies is Get-AuthenticationPolicy: one policy by
// name, or all of them (identity ""), by name. Organizations have few
// policies; the list is whole.
func (s *Service) GetAuthenticationPolicies(ctx context.Context, c Caller, identity string) ([]AuthenticationPolicy, error) {
	var out []AuthenticationPolicy
	err := s.read(ctx, c, "Get-AuthenticationPolicy", rbac.ViewConfiguration, func(tx store.Tx) error {
		if identity != "" {
			p, err := s.authPolicy(ctx, tx, identity)
			if err != nil {
				return err
			}
			out = []AuthenticationPolicy{policyView(p)}
			return nil
		}
		ps, err := tx.AuthPolicies(ctx)
		for _, p := range ps {
			out = append(out, policyView(p))
		}
		return err
	})
	return out, err
}

// NewAuthenticationPolicyRequest holds the parameters of
// New-AuthenticationPolicy. As in Exchange, a switch not given is false:
// a new policy blocks basic authentication for every protocol it does not
// name.
type NewAuthenticationPolicyRequest struct {
	Name               string
	AllowBasicAuthPop  bool
	AllowBasicAuthImap bool
	AllowBasicAuthSmtp bool
	WhatIf             bool
}

// maxPolicyName bounds a policy's name (Exchange: 64 characters).
const maxPolicyName = 64

// NewAuthenticationPolicy is New-AuthenticationPolicy.
func (s *Service) NewAuthenticationPolicy(ctx context.Context, c Caller, r NewAuthenticationPolicyRequest) (Result, error) {
	name := strings.TrimSpace(r.Name)
	params := []store.Parameter{{Name: "Name", Value: name},
		{Name: "AllowBasicAuthPop", Value: boolText(r.AllowBasicAuthPop)},
		{Name: "AllowBasicAuthImap", Value: boolText(r.AllowBasicAuthImap)},
		{Name: "AllowBasicAuthSmtp", Value: boolText(r.AllowBasicAuthSmtp)}}
	return s.change(ctx, c, op{cmdlet: "New-AuthenticationPolicy", perm: rbac.OrganizationClientAccess, object: name, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			if name == "" {
				return mutation{}, invalid("Name", "The Name parameter is required.")
			}
			if len([]rune(name)) > maxPolicyName || strings.ContainsAny(name, "\x00\r\n") {
				return mutation{}, invalid("Name", "The length of the property is too long, or it holds a line break. The maximum length is %d characters.", maxPolicyName)
			}
			res := Result{Identity: name}
			for _, ch := range []struct {
				name string
				v    bool
			}{{"AllowBasicAuthPop", r.AllowBasicAuthPop}, {"AllowBasicAuthImap", r.AllowBasicAuthImap}, {"AllowBasicAuthSmtp", r.AllowBasicAuthSmtp}} {
				res.Changes = append(res.Changes, store.PropertyChange{Name: ch.name, NewValue: boolText(ch.v)})
			}
			if r.WhatIf {
				if _, err := tx.AuthPolicy(ctx, name); err == nil {
					return mutation{}, &ConflictError{Message: fmt.Sprintf("The authentication policy '%s' already exists.", name)}
				}
				return mutation{result: res}, nil
			}
			now := s.now()
			p := store.AuthPolicy{Name: name, AllowBasicAuthPop: r.AllowBasicAuthPop, AllowBasicAuthImap: r.AllowBasicAuthImap,
				AllowBasicAuthSmtp: r.AllowBasicAuthSmtp, WhenCreated: now, WhenChanged: now}
			if err := tx.InsertAuthPolicy(ctx, &p); err != nil {
				if errors.Is(err, store.ErrExists) {
					return mutation{}, &ConflictError{Message: fmt.Sprintf("The authentication policy '%s' already exists.", name)}
				}
				return mutation{}, err
			}
			return mutation{result: res, audit: true}, nil
		})
}

// SetAuthenticationPolicyRequest holds the parameters of
// Set-AuthenticationPolicy; nil leaves a switch as it is.
type SetAuthenticationPolicyRequest struct {
	AllowBasicAuthPop  *bool
	AllowBasicAuthImap *bool
	AllowBasicAuthSmtp *bool
	WhatIf             bool
}

// SetAuthenticationPolicy is Set-AuthenticationPolicy. A switch turned off
// closes the open sessions that signed in with a password over that
// protocol, for every mailbox the policy governs.
func (s *Service) SetAuthenticationPolicy(ctx context.Context, c Caller, identity string, r SetAuthenticationPolicyRequest) (Result, error) {
	params := []store.Parameter{{Name: "Identity", Value: identity}}
	for _, p := range []struct {
		name string
		v    *bool
	}{{"AllowBasicAuthPop", r.AllowBasicAuthPop}, {"AllowBasicAuthImap", r.AllowBasicAuthImap}, {"AllowBasicAuthSmtp", r.AllowBasicAuthSmtp}} {
		if p.v != nil {
			params = append(params, store.Parameter{Name: p.name, Value: boolText(*p.v)})
		}
	}
	return s.change(ctx, c, op{cmdlet: "Set-AuthenticationPolicy", perm: rbac.OrganizationClientAccess, object: identity, params: params, whatIf: r.WhatIf},
		func(tx store.Tx) (mutation, error) {
			p, err := s.authPolicy(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			res := Result{Identity: p.Name}
			narrowed := false
			for _, ch := range []struct {
				name string
				v    *bool
				cur  *bool
			}{{"AllowBasicAuthPop", r.AllowBasicAuthPop, &p.AllowBasicAuthPop}, {"AllowBasicAuthImap", r.AllowBasicAuthImap, &p.AllowBasicAuthImap},
				{"AllowBasicAuthSmtp", r.AllowBasicAuthSmtp, &p.AllowBasicAuthSmtp}} {
				if ch.v == nil || *ch.v == *ch.cur {
					continue
				}
				res.Changes = append(res.Changes, store.PropertyChange{Name: ch.name, OldValue: boolText(*ch.cur), NewValue: boolText(*ch.v)})
				narrowed = narrowed || !*ch.v
				*ch.cur = *ch.v
			}
			res.NoChange = len(res.Changes) == 0
			if res.NoChange || r.WhatIf {
				return mutation{result: res}, nil
			}
			p.WhenChanged = s.now()
			if err := tx.UpdateAuthPolicy(ctx, p); err != nil {
				return mutation{}, err
			}
			mu := mutation{result: res, audit: true}
			if narrowed {
				// The registry re-checks every session against the policies.
				mu.events = []notify.Event{{Kind: notify.AccessChanged}}
			}
			return mu, nil
		})
}

// RemoveAuthenticationPolicy is Remove-AuthenticationPolicy. A policy still
// assigned to users or set as the organization's default is not removed:
// the message says where it is used.
func (s *Service) RemoveAuthenticationPolicy(ctx context.Context, c Caller, identity string, whatIf bool) (Result, error) {
	params := []store.Parameter{{Name: "Identity", Value: identity}}
	return s.change(ctx, c, op{cmdlet: "Remove-AuthenticationPolicy", perm: rbac.OrganizationClientAccess, object: identity, params: params, whatIf: whatIf},
		func(tx store.Tx) (mutation, error) {
			p, err := s.authPolicy(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			org, err := tx.OrgConfig(ctx)
			if err != nil {
				return mutation{}, err
			}
			if strings.EqualFold(org.DefaultAuthenticationPolicy, p.Name) {
				return mutation{}, invalid("Identity", "The authentication policy '%s' is the organization's default (Set-OrganizationConfig -DefaultAuthenticationPolicy); set another default or $null first.", p.Name)
			}
			n, err := tx.AuthPolicyUsers(ctx, p.Name)
			if err != nil {
				return mutation{}, err
			}
			if n > 0 {
				return mutation{}, invalid("Identity", "The authentication policy '%s' is assigned to %d user(s); assign them another policy or $null (Set-User -AuthenticationPolicy) first.", p.Name, n)
			}
			res := Result{Identity: p.Name, Changes: []store.PropertyChange{{Name: "Name", OldValue: p.Name}}}
			if whatIf {
				return mutation{result: res}, nil
			}
			return mutation{result: res, audit: true}, tx.DeleteAuthPolicy(ctx, p.ID)
		})
}

// SetUserAuthenticationPolicy is Set-User -AuthenticationPolicy: policy
// names the policy, "" ($null) removes the mailbox's own so that the
// organization's default applies.
func (s *Service) SetUserAuthenticationPolicy(ctx context.Context, c Caller, identity, policy string, whatIf bool) (Result, error) {
	params := []store.Parameter{{Name: "Identity", Value: identity}, {Name: "AuthenticationPolicy", Value: policy}}
	if policy == "" {
		params[1].Value = "$null"
	}
	return s.change(ctx, c, op{cmdlet: "Set-User", perm: rbac.OrganizationClientAccess, object: identity, params: params, whatIf: whatIf},
		func(tx store.Tx) (mutation, error) {
			m, err := s.resolve(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			name := ""
			if strings.TrimSpace(policy) != "" {
				p, err := s.authPolicy(ctx, tx, policy)
				if err != nil {
					return mutation{}, err
				}
				name = p.Name
			}
			res := Result{Identity: m.Name}
			if strings.EqualFold(m.AuthenticationPolicy, name) {
				res.NoChange = true
				return mutation{result: res}, nil
			}
			old, err := s.policyName(ctx, tx, m.AuthenticationPolicy)
			if err != nil {
				return mutation{}, err
			}
			res.Changes = []store.PropertyChange{{Name: "AuthenticationPolicy", OldValue: old, NewValue: name}}
			if whatIf {
				return mutation{result: res}, nil
			}
			if err := tx.SetMailboxAuthPolicy(ctx, m.ID, name, s.now()); err != nil {
				return mutation{}, err
			}
			return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.AccessChanged, MailboxID: m.ID}}}, nil
		})
}

// policyName returns a stored policy reference as the policy spells its
// name ("" stays "").
func (s *Service) policyName(ctx context.Context, tx store.Tx, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	p, err := tx.AuthPolicy(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return ref, nil
	}
	return p.Name, err
}

// User is what Get-User shows of a mailbox's user: here, the properties
// Gatehouse keeps on the user rather than the mailbox.
type User struct {
	Identity             string
	Name                 string
	DisplayName          string
	UserPrincipalName    string
	AuthenticationPolicy string
}

// GetUser is Get-User for one identity.
func (s *Service) GetUser(ctx context.Context, c Caller, identity string) (User, error) {
	var u User
	err := s.read(ctx, c, "Get-User", rbac.ViewRecipients, func(tx store.Tx) error {
		m, err := s.resolve(ctx, tx, identity)
		if err != nil {
			return err
		}
		pol, err := s.policyName(ctx, tx, m.AuthenticationPolicy)
		u = User{Identity: m.Name, Name: m.Name, DisplayName: m.DisplayName, UserPrincipalName: m.UserPrincipalName,
			AuthenticationPolicy: pol}
		return err
	})
	return u, err
}
