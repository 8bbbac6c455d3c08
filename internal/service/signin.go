package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// SignInError refuses an admin sign-in; its text never says whether the
// user exists.
type SignInError struct {
	Message    string
	RetryAfter time.Duration
}

func (e *SignInError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *SignInError) Is(target error) bool { return target == ErrUnauthenticated }

var errBadCredentials = &SignInError{Message: "The user name or password is incorrect."}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// SignIn checks an administrator's user name and password and returns a
// new bearer token (also used as the admin center's session cookie). Only
// members of a role group may sign in; every refusal but a lock reads the
// same (errBadCredentials), so that the answer tells neither whether the
// user exists nor whether a right password belongs to a non-administrator.
//
// The throttle is the one the mail protocols use (auth.Throttle), keyed on
// the mailbox the name resolves to, so that guesses at one user add up
// whatever spelling and surface they use.
func (s *Service) SignIn(ctx context.Context, username, password, surface, address string) (string, Caller, error) {
	m, key, err := s.checkPassword(ctx, username, password, address)
	if err != nil {
		return "", Caller{}, err
	}
	c, err := s.caller(ctx, m, surface, address)
	if err != nil {
		return "", Caller{}, err
	}
	if len(c.Groups) == 0 {
		// A right password, but no administrator: refused like a wrong
		// one, and counted like one, so that the admin sign-in is no
		// oracle for the passwords of ordinary mailboxes.
		if s.throttle != nil {
			s.throttle.Fail(address, key)
		}
		s.log.Info("admin sign-in refused: not a member of any role group", "user", c.Name, "surface", surface, "remote", address)
		return "", Caller{}, errBadCredentials
	}
	if s.throttle != nil {
		s.throttle.Succeed(key)
	}
	var token string
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		token, err = s.newSession(ctx, tx, m, surface, address)
		return err
	})
	if err != nil {
		return "", Caller{}, err
	}
	s.log.Info("admin signed in", "user", c.Name, "surface", surface, "remote", address)
	return token, c, nil
}

// checkPassword checks a user name and password for a sign-in to a web
// surface (the admin center, the REST API, /account) under the one
// throttle, and returns the mailbox and its throttle key. Every refusal but
// a lock reads the same (errBadCredentials).
func (s *Service) checkPassword(ctx context.Context, username, password, address string) (store.Mailbox, string, error) {
	var m store.Mailbox
	var found bool
	if _, ok := auth.CanonicalName(username); ok {
		if err := s.st.View(ctx, func(tx store.Tx) error {
			ms, err := tx.FindMailboxes(ctx, username, 2)
			if err == nil && len(ms) == 1 {
				m, found = ms[0], true
			}
			return err
		}); err != nil {
			return store.Mailbox{}, "", fmt.Errorf("sign in %q: %w", auth.CapName(username), err)
		}
	}
	key := auth.UserKey(m.ID, username)
	if s.throttle != nil {
		v := s.throttle.Check(address, key)
		if v.Locked {
			return store.Mailbox{}, "", &SignInError{Message: fmt.Sprintf("Too many failed sign-ins. Try again in %s.",
				v.RetryAfter.Round(time.Second)), RetryAfter: v.RetryAfter}
		}
		if v.Delay > 0 {
			t := time.NewTimer(v.Delay)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	hash := ""
	if found {
		hash = m.PasswordHash
	}
	if !s.checker.Check(m.ID, hash, password) || !found {
		if s.throttle != nil {
			s.throttle.Fail(address, key)
		}
		return store.Mailbox{}, "", errBadCredentials
	}
	return m, key, nil
}

// newSession records a sign-in of mailbox m on surface and returns its
// token; tx's expired sessions of everyone go with it.
func (s *Service) newSession(ctx context.Context, tx store.Tx, m store.Mailbox, surface, address string) (string, error) {
	var raw [32]byte
	rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	// Expired sessions of everyone go at each sign-in; cheap and enough.
	if err := tx.DeleteAdminSessions(ctx, 0, now); err != nil {
		return "", err
	}
	err := tx.InsertAdminSession(ctx, store.AdminSession{TokenHash: tokenHash(token), MailboxID: m.ID, Surface: surface,
		ClientAddress: address, Created: now, Expires: now.Add(s.ttl)})
	return token, err
}

// caller reads the role groups of m, fresh: a membership change applies to
// the next request.
func (s *Service) caller(ctx context.Context, m store.Mailbox, surface, address string) (Caller, error) {
	c := Caller{MailboxID: m.ID, Name: m.UserPrincipalName, DisplayName: m.DisplayName, Surface: surface, Address: address}
	err := s.st.View(ctx, func(tx store.Tx) error {
		groups, err := tx.MemberOf(ctx, m.ID)
		for _, g := range groups {
			c.Groups = append(c.Groups, g.Name)
		}
		return err
	})
	c.Permissions = rbac.For(c.Groups)
	return c, err
}

// Authenticate returns the caller of a bearer token or session cookie.
func (s *Service) Authenticate(ctx context.Context, token, surface, address string) (Caller, error) {
	if token == "" {
		return Caller{}, ErrUnauthenticated
	}
	var m store.Mailbox
	err := s.st.View(ctx, func(tx store.Tx) error {
		sess, err := tx.AdminSession(ctx, tokenHash(token), s.now())
		if err != nil {
			return err
		}
		if sess.Surface == SurfaceAccount {
			// A user's own sign-in to /account is no administrator's,
			// even when the user is one: it proved the password on a
			// page for users only.
			return store.ErrNotFound
		}
		m, err = tx.MailboxByID(ctx, sess.MailboxID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, ErrUnauthenticated
	}
	if err != nil {
		return Caller{}, err
	}
	c, err := s.caller(ctx, m, surface, address)
	if err != nil {
		return Caller{}, err
	}
	if len(c.Groups) == 0 {
		return Caller{}, ErrUnauthenticated
	}
	return c, nil
}

// SignOut ends a sign-in.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.st.Update(ctx, func(tx store.Tx) error { return tx.DeleteAdminSession(ctx, tokenHash(token)) })
}
