package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// App passwords: generated secrets for the clients of a mailbox that cannot
// sign in with OAuth. An app password signs in wherever the mailbox's
// password does (PLAIN and LOGIN on IMAP4, POP3 and submission, IMAP4
// LOGIN, POP3 USER/PASS), under the same access rule and authentication
// policy (it is basic authentication); not with SCRAM-SHA-256, whose keys
// are made from one password and one salt per mailbox. It is shown once,
// when it is made; only its SHA-256 is kept (auth.AppPasswordHash says why
// that suffices). Revoking one closes the sessions that signed in with it. A
// password reset (Set-Mailbox -Password) revokes them all, as Google's app
// passwords go with a password change and Microsoft's with an MFA reset: a
// reset usually follows a compromise, and an app password made by whoever
// held the old password must not outlive it.
//
// An administrator manages them with the Reset Password role, within the
// write scope (scope.go): making one is making a credential, so an
// administrator's mailbox needs Role Management, as its password does;
// revoking one needs only the mailbox in scope. The mailbox's own user
// manages them through the Own* methods (the /account page), which need no
// role.

// MaxAppPasswords bounds the app passwords of one mailbox (Microsoft's limit
// is 40 too).
const MaxAppPasswords = 40

// maxAppPasswordName bounds an app password's name, in characters.
const maxAppPasswordName = 64

// AppPassword is what Get-AppPassword shows of one app password: never the
// secret.
type AppPassword struct {
	// Identity is "<mailbox>\<name>".
	Identity string
	Mailbox  string
	Name     string
	// WhenCreated is when it was made; LastUsed the last successful sign-in
	// with it (zero: never), over LastUsedProtocol ("IMAP4", "POP3",
	// "Authenticated SMTP") from LastUsedAddress.
	WhenCreated      time.Time
	LastUsed         time.Time
	LastUsedProtocol string
	LastUsedAddress  string
}

// NewAppPasswordResult is what New-AppPassword answers: the secret, shown
// this once, and what was made.
type NewAppPasswordResult struct {
	Result
	AppPassword AppPassword
	// Password is the secret; empty for a WhatIf.
	Password string
}

func appPasswordView(mailbox string, p store.AppPassword) AppPassword {
	v := AppPassword{Identity: mailbox + `\` + p.Name, Mailbox: mailbox, Name: p.Name, WhenCreated: p.WhenCreated,
		LastUsed: p.LastUsed, LastUsedAddress: p.LastUsedAddr}
	if p.LastUsedProtocol != "" {
		v.LastUsedProtocol = access.Protocol(p.LastUsedProtocol).Display()
	}
	return v
}

// GetAppPasswords is Get-AppPassword: a mailbox's app passwords by name,
// all of them (at most MaxAppPasswords), with their last use.
func (s *Service) GetAppPasswords(ctx context.Context, c Caller, identity string) ([]AppPassword, error) {
	var out []AppPassword
	err := s.read(ctx, c, "Get-AppPassword", rbac.ViewRecipients, func(tx store.Tx) error {
		m, err := s.resolve(ctx, tx, identity)
		if err != nil {
			return err
		}
		out, err = listAppPasswords(ctx, tx, m)
		return err
	})
	return out, err
}

// OwnAppPasswords lists the caller's own app passwords (self-service; no
// role needed).
func (s *Service) OwnAppPasswords(ctx context.Context, c Caller) ([]AppPassword, error) {
	var out []AppPassword
	err := s.st.View(ctx, func(tx store.Tx) error {
		m, err := tx.MailboxByID(ctx, c.MailboxID)
		if err != nil {
			return err
		}
		out, err = listAppPasswords(ctx, tx, m)
		return err
	})
	return out, err
}

func listAppPasswords(ctx context.Context, tx store.Tx, m store.Mailbox) ([]AppPassword, error) {
	ps, err := tx.AppPasswords(ctx, m.ID)
	out := make([]AppPassword, 0, len(ps))
	for _, p := range ps {
		out = append(out, appPasswordView(m.Name, p))
	}
	return out, err
}

// NewAppPassword is New-AppPassword -Identity <mailbox> -Name <name>: it
// makes an app password and returns its secret, which is shown this once
// and never stored, logged or audited.
func (s *Service) NewAppPassword(ctx context.Context, c Caller, identity, name string, whatIf bool) (NewAppPasswordResult, error) {
	name = strings.TrimSpace(name)
	o := op{cmdlet: "New-AppPassword", perm: rbac.ResetPassword, object: identity, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: identity}, {Name: "Name", Value: name}}}
	return s.newAppPassword(ctx, c, o, name, func(tx store.Tx) (store.Mailbox, error) {
		m, err := s.resolve(ctx, tx, identity)
		if err != nil {
			return m, err
		}
		return m, s.inScope(ctx, tx, c, o, m, true)
	})
}

// NewOwnAppPassword makes an app password for the caller's own mailbox
// (self-service; audited as New-AppPassword by the caller).
func (s *Service) NewOwnAppPassword(ctx context.Context, c Caller, name string, whatIf bool) (NewAppPasswordResult, error) {
	name = strings.TrimSpace(name)
	o := op{cmdlet: "New-AppPassword", self: true, object: c.Name, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: c.Name}, {Name: "Name", Value: name}}}
	return s.newAppPassword(ctx, c, o, name, func(tx store.Tx) (store.Mailbox, error) { return tx.MailboxByID(ctx, c.MailboxID) })
}

func (s *Service) newAppPassword(ctx context.Context, c Caller, o op, name string, target func(tx store.Tx) (store.Mailbox, error)) (NewAppPasswordResult, error) {
	var out NewAppPasswordResult
	res, err := s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		m, err := target(tx)
		if err != nil {
			return mutation{}, err
		}
		if err := validName("Name", name, maxAppPasswordName); err != nil {
			return mutation{}, err
		}
		if strings.Contains(name, `\`) {
			return mutation{}, invalid("Name", `The name of an app password can't contain a backslash (\): it separates the mailbox from the name in its Identity.`)
		}
		have, err := tx.AppPasswords(ctx, m.ID)
		if err != nil {
			return mutation{}, err
		}
		for _, p := range have {
			if strings.EqualFold(p.Name, name) {
				return mutation{}, &ConflictError{Message: fmt.Sprintf("The mailbox '%s' already has an app password named '%s'. Choose another name, or remove it first (Remove-AppPassword).", m.Name, p.Name)}
			}
		}
		if len(have) >= MaxAppPasswords {
			return mutation{}, invalid("Name", "The mailbox '%s' already has %d app passwords, the most it may have. Remove one it no longer needs first (Remove-AppPassword).", m.Name, len(have))
		}
		res := Result{Identity: m.Name, Changes: []store.PropertyChange{{Name: "AppPassword", NewValue: name}}}
		now := s.now()
		out.AppPassword = AppPassword{Identity: m.Name + `\` + name, Mailbox: m.Name, Name: name, WhenCreated: now}
		if o.whatIf {
			return mutation{result: res}, nil
		}
		secret, hash, err := auth.NewAppPassword()
		if err != nil {
			return mutation{}, err
		}
		p := store.AppPassword{MailboxID: m.ID, Name: name, SecretHash: hash, WhenCreated: now}
		if err := tx.InsertAppPassword(ctx, &p); err != nil {
			if errors.Is(err, store.ErrExists) {
				// A racing New-AppPassword of the same name (the chance of
				// two equal secrets is nil).
				return mutation{}, &ConflictError{Message: fmt.Sprintf("The mailbox '%s' already has an app password named '%s'.", m.Name, name)}
			}
			return mutation{}, err
		}
		out.Password = secret
		return mutation{result: res, audit: true}, nil
	})
	out.Result = res
	if err != nil {
		return NewAppPasswordResult{}, err
	}
	return out, nil
}

// RemoveAppPassword is Remove-AppPassword -Identity <mailbox> -Name <name>:
// it revokes the app password and closes, at once and on every node, the
// sessions that signed in with it.
func (s *Service) RemoveAppPassword(ctx context.Context, c Caller, identity, name string, whatIf bool) (Result, error) {
	o := op{cmdlet: "Remove-AppPassword", perm: rbac.ResetPassword, object: identity, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: identity}, {Name: "Name", Value: name}}}
	return s.removeAppPassword(ctx, c, o, name, func(tx store.Tx) (store.Mailbox, error) {
		m, err := s.resolve(ctx, tx, identity)
		if err != nil {
			return m, err
		}
		return m, s.inScope(ctx, tx, c, o, m, false)
	})
}

// RemoveOwnAppPassword revokes one of the caller's own app passwords
// (self-service; audited as Remove-AppPassword by the caller).
func (s *Service) RemoveOwnAppPassword(ctx context.Context, c Caller, name string, whatIf bool) (Result, error) {
	o := op{cmdlet: "Remove-AppPassword", self: true, object: c.Name, whatIf: whatIf,
		params: []store.Parameter{{Name: "Identity", Value: c.Name}, {Name: "Name", Value: name}}}
	return s.removeAppPassword(ctx, c, o, name, func(tx store.Tx) (store.Mailbox, error) { return tx.MailboxByID(ctx, c.MailboxID) })
}

func (s *Service) removeAppPassword(ctx context.Context, c Caller, o op, name string, target func(tx store.Tx) (store.Mailbox, error)) (Result, error) {
	return s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		m, err := target(tx)
		if err != nil {
			return mutation{}, err
		}
		have, err := tx.AppPasswords(ctx, m.ID)
		if err != nil {
			return mutation{}, err
		}
		var p *store.AppPassword
		for i := range have {
			if strings.EqualFold(have[i].Name, strings.TrimSpace(name)) {
				p = &have[i]
			}
		}
		if p == nil {
			return mutation{}, &NotFoundError{Identity: m.Name + `\` + name, Server: s.server}
		}
		res := Result{Identity: m.Name, Changes: []store.PropertyChange{{Name: "AppPassword", OldValue: p.Name}}}
		res.Sessions = s.appPasswordSessions(m, p.ID)
		res.OtherNodes = s.clustered()
		if o.whatIf {
			return mutation{result: res}, nil
		}
		if _, err := tx.DeleteAppPasswords(ctx, m.ID, []int64{p.ID}); err != nil {
			return mutation{}, err
		}
		// The registries re-read the mailbox's app passwords and close the
		// sessions of the revoked one.
		return mutation{result: res, audit: true, events: []notify.Event{{Kind: notify.AccessChanged, MailboxID: m.ID}}}, nil
	})
}

// appPasswordSessions lists this node's sessions signed in with app
// password id.
func (s *Service) appPasswordSessions(m store.Mailbox, id int64) []OpenSession {
	if s.reg == nil {
		return nil
	}
	var out []OpenSession
	for _, ss := range s.reg.Sessions(m.ID) {
		if ss.AppPasswordID() == id {
			out = append(out, OpenSession{Mailbox: m.Name, Protocol: ss.Protocol.Display(), RemoteAddr: ss.RemoteAddr, Since: ss.Since})
		}
	}
	return out
}

// revokeAllAppPasswords revokes every app password of a mailbox whose
// password is reset, and returns the change to show and audit (none when it
// had none). With whatIf it only says what it would do.
func revokeAllAppPasswords(ctx context.Context, tx store.Tx, m store.Mailbox, whatIf bool) ([]store.PropertyChange, error) {
	var gone []store.AppPassword
	var err error
	if whatIf {
		gone, err = tx.AppPasswords(ctx, m.ID)
	} else {
		gone, err = tx.DeleteAppPasswords(ctx, m.ID, nil)
	}
	if err != nil || len(gone) == 0 {
		return nil, err
	}
	names := make([]string, len(gone))
	for i, p := range gone {
		names[i] = p.Name
	}
	return []store.PropertyChange{{Name: "AppPasswords", OldValue: strings.Join(names, ", "), NewValue: "(revoked with the password reset)"}}, nil
}
