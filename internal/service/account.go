package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// SurfaceAccount is the users' own page, /account: its sign-ins are
// sessions of this surface (never an administrator's, see Authenticate),
// and a password a user changes there is audited under it.
const SurfaceAccount = "account"

// AccountUser is the mailbox signed in to /account.
type AccountUser struct {
	MailboxID          int64
	Name               string
	DisplayName        string
	UserPrincipalName  string
	PrimarySmtpAddress string
	// Administrator: the mailbox is also a member of a role group. The
	// /account session gives no administrative right all the same.
	Administrator bool
	// Address is the client's IP address.
	Address string
}

// Caller is the user as the caller of a self-service operation (their own
// app passwords, their own password): no role group, no permission.
func (u AccountUser) Caller() Caller {
	return Caller{MailboxID: u.MailboxID, Name: u.UserPrincipalName, DisplayName: u.DisplayName, Address: u.Address, Surface: SurfaceAccount}
}

// AccountSignIn signs a mailbox user in to /account with the mail
// password, under the throttle of every other sign-in. Every mailbox may,
// administrators' included (their mailboxes are mailboxes too); the
// session it makes is good for /account only. Authentication policies
// govern basic authentication of the mail protocols (POP3, IMAP4,
// authenticated SMTP) and not this page, which is where a user learns
// that a policy blocks them.
func (s *Service) AccountSignIn(ctx context.Context, username, password, address string) (string, AccountUser, error) {
	m, key, err := s.checkPassword(ctx, username, password, address)
	if err != nil {
		return "", AccountUser{}, err
	}
	if s.throttle != nil {
		s.throttle.Succeed(key)
	}
	var token string
	var u AccountUser
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if u, err = accountUser(ctx, tx, m, address); err != nil {
			return err
		}
		token, err = s.newSession(ctx, tx, m, SurfaceAccount, address)
		return err
	})
	if err != nil {
		return "", AccountUser{}, fmt.Errorf("account sign-in: %w", err)
	}
	s.log.Info("user signed in", "user", m.UserPrincipalName, "surface", SurfaceAccount, "remote", address)
	return token, u, nil
}

func accountUser(ctx context.Context, tx store.Tx, m store.Mailbox, address string) (AccountUser, error) {
	groups, err := tx.MemberOf(ctx, m.ID)
	if err != nil {
		return AccountUser{}, err
	}
	return AccountUser{MailboxID: m.ID, Name: m.Name, DisplayName: m.DisplayName, UserPrincipalName: m.UserPrincipalName,
		PrimarySmtpAddress: m.PrimarySmtpAddress, Administrator: len(groups) > 0, Address: address}, nil
}

// AccountAuthenticate returns the user of an /account session cookie;
// ErrUnauthenticated for anything else (an administrator's token too).
func (s *Service) AccountAuthenticate(ctx context.Context, token, address string) (AccountUser, error) {
	if token == "" {
		return AccountUser{}, ErrUnauthenticated
	}
	var u AccountUser
	err := s.st.View(ctx, func(tx store.Tx) error {
		sess, err := tx.AdminSession(ctx, tokenHash(token), s.now())
		if err != nil {
			return err
		}
		if sess.Surface != SurfaceAccount {
			return store.ErrNotFound
		}
		m, err := tx.MailboxByID(ctx, sess.MailboxID)
		if err != nil {
			return err
		}
		u, err = accountUser(ctx, tx, m, address)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return AccountUser{}, ErrUnauthenticated
	}
	return u, err
}

// MailApp is one mail protocol as a user sees it on /account.
type MailApp struct {
	Protocol access.Protocol
	// Name is "POP3", "IMAP4" or "Authenticated SMTP".
	Name    string
	Enabled bool
	Reason  access.Reason
	// Why says who turned it off ("Disabled by your administrator."), and
	// WhatToDo what the user can do about it; both empty when enabled.
	Why      string
	WhatToDo string
}

// accountProtocols are the protocols /account and autoconfiguration
// describe, in the order they are shown.
var accountProtocols = []access.Protocol{access.POP3, access.IMAP4, access.SMTP}

// explain fills in Why and WhatToDo for a protocol a user may not use.
func explain(a *MailApp) {
	switch a.Reason {
	case access.Disabled:
		a.Why = "Disabled by your administrator."
		a.WhatToDo = fmt.Sprintf("Ask your administrator to enable %s for your mailbox if you need it.", a.Name)
	case access.SecurityDefaults:
		a.Why = "Blocked by your organization's security defaults."
		a.WhatToDo = fmt.Sprintf("Your organization blocks %s for everyone. Use another way to read your mail, or ask your administrator.", a.Name)
	case access.OrgDisabled:
		a.Why = "Disabled for your whole organization by your administrator."
		a.WhatToDo = "Ask your administrator to allow authenticated SMTP for your mailbox if you need to send mail from a mail app."
	case access.BasicAuthBlocked:
		a.Why = "Password sign-in is blocked by an authentication policy."
		a.WhatToDo = fmt.Sprintf("Use a mail app that signs in to %s with OAuth (modern authentication) if your organization offers it, or ask your administrator.", a.Name)
	}
}

// decideAll applies access.DecidePassword to every protocol for m.
func decideAll(ctx context.Context, tx store.Tx, org store.OrgConfig, m store.Mailbox) ([]MailApp, error) {
	var pol *store.AuthPolicy
	if name := access.EffectivePolicy(org, m); name != "" {
		p, err := tx.AuthPolicy(ctx, name)
		switch {
		case err == nil:
			pol = &p
		case !errors.Is(err, store.ErrNotFound): // removed meanwhile: no policy, as the login flow
			return nil, err
		}
	}
	var out []MailApp
	for _, p := range accountProtocols {
		a := MailApp{Protocol: p, Name: p.Display(), Reason: access.DecidePassword(org, m, pol, p)}
		a.Enabled = a.Reason == access.Allowed
		explain(&a)
		out = append(out, a)
	}
	return out, nil
}

// AccountMailApps says, for each mail protocol, whether the signed-in user
// may use it right now and if not why: the decision the logins make, read
// fresh.
func (s *Service) AccountMailApps(ctx context.Context, u AccountUser) ([]MailApp, error) {
	var out []MailApp
	err := s.st.View(ctx, func(tx store.Tx) error {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		m, err := tx.MailboxByID(ctx, u.MailboxID)
		if err != nil {
			return err
		}
		out, err = decideAll(ctx, tx, org, m)
		return err
	})
	return out, err
}

// ClientAccess is what autoconfiguration may offer one address.
type ClientAccess struct {
	// Known: the address is a mailbox's. It is for tests and logs only:
	// an answer must not depend on it other than through Apps.
	Known bool
	Apps  []MailApp
}

// Allowed reports whether p is offered.
func (c ClientAccess) Allowed(p access.Protocol) bool {
	for _, a := range c.Apps {
		if a.Protocol == p {
			return a.Enabled
		}
	}
	return false
}

// AutoconfigAccess decides which protocols client autoconfiguration offers
// for an email address, without a password: those the address's mailbox
// may use right now. An address that is no mailbox's gets what a new
// mailbox would (the CAS mailbox plan under the organization's settings
// and default authentication policy), so that the answer for a mailbox
// nobody restricted is the same as for an unknown address, and both cost
// the same reads. address must be a syntactically valid address.
func (s *Service) AutoconfigAccess(ctx context.Context, address string) (ClientAccess, error) {
	var out ClientAccess
	err := s.st.View(ctx, func(tx store.Tx) error {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		plan, err := tx.Plan(ctx)
		if err != nil {
			return err
		}
		m, err := tx.MailboxByAddress(ctx, address)
		switch {
		case err == nil:
			out.Known = true
		case errors.Is(err, store.ErrNotFound):
			m = store.Mailbox{PopEnabled: plan.PopEnabled, ImapEnabled: plan.ImapEnabled}
		default:
			return err
		}
		out.Apps, err = decideAll(ctx, tx, org, m)
		return err
	})
	return out, err
}

// AccountSignIns lists the user's latest sign-in attempts over the mail
// protocols, refusals with their reasons included, newest first: the login
// records the admin center's Recent sign-ins reads.
func (s *Service) AccountSignIns(ctx context.Context, u AccountUser, limit int) ([]SignIn, error) {
	var out []SignIn
	err := s.st.View(ctx, func(tx store.Tx) error {
		recs, err := tx.RecentLogins(ctx, u.MailboxID, store.LoginQuery{Limit: limit})
		for _, r := range recs {
			out = append(out, signInView(r))
		}
		return err
	})
	return out, err
}

// ErrWrongPassword refuses a password change whose current password is
// wrong.
var ErrWrongPassword = &ValidationError{Parameter: "CurrentPassword", Message: "The current password is incorrect."}

// ChangeOwnPassword is a user's change of their own password on /account:
// the current password is checked under the one throttle, the new one
// against the one password policy; then, as an administrator's reset, every
// session of the mailbox ends (POP3, IMAP4, SMTP, admin and /account
// sign-ins) and cached credentials go. It is audited as Set-Mailbox
// -Password by the user on the account surface. It returns a new /account
// session for the browser that made the change.
func (s *Service) ChangeOwnPassword(ctx context.Context, u AccountUser, current, newPassword string) (string, error) {
	c := u.Caller()
	o := op{cmdlet: "Set-Mailbox", object: u.Name, params: []store.Parameter{{Name: "Identity", Value: u.UserPrincipalName},
		{Name: "Password", Value: "********"}}}
	fail := func(err error) (string, error) {
		s.auditFailure(ctx, c, o, err)
		return "", err
	}
	var m store.Mailbox
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByID(ctx, u.MailboxID)
		return err
	}); err != nil {
		return "", err
	}
	key := auth.UserKey(m.ID, "")
	if s.throttle != nil {
		if v := s.throttle.Check(u.Address, key); v.Locked {
			return fail(&SignInError{Message: "Too many failed sign-ins. Try again later.", RetryAfter: v.RetryAfter})
		}
	}
	if !s.checker.Check(m.ID, m.PasswordHash, current) {
		if s.throttle != nil {
			s.throttle.Fail(u.Address, key)
		}
		return fail(ErrWrongPassword)
	}
	if err := CheckPassword(newPassword); err != nil {
		return fail(err)
	}
	hash, scram, err := s.checker.Credentials(newPassword)
	if err != nil {
		return "", err
	}
	var token string
	err = s.st.Update(ctx, func(tx store.Tx) error {
		m, err := tx.MailboxByID(ctx, u.MailboxID)
		if err != nil {
			return err
		}
		m.PasswordHash, m.SCRAMSHA256, m.WhenChanged = hash, scram, s.now()
		if err := tx.UpdateMailbox(ctx, m); err != nil {
			return err
		}
		// As a reset: every sign-in of the mailbox ends, this one too; the
		// browser that made the change gets a new one.
		if err := tx.DeleteAdminSessions(ctx, m.ID, s.now()); err != nil {
			return err
		}
		if token, err = s.newSession(ctx, tx, m, SurfaceAccount, u.Address); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.record(c, o, m.Name,
			[]store.PropertyChange{{Name: "Password", NewValue: "(changed by the user)"}}, nil))
	})
	if err != nil {
		return fail(err)
	}
	if s.throttle != nil {
		s.throttle.Succeed(key)
	}
	s.m.AdminOperation(o.cmdlet, true)
	s.publish(ctx, []notify.Event{{Kind: notify.CredentialsChanged, MailboxID: u.MailboxID}})
	s.log.Info("user changed their password", "user", u.UserPrincipalName, "surface", SurfaceAccount, "remote", u.Address)
	return token, nil
}
