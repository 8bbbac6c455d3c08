package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// bootstrap creates the organization and its first administrator on the
// first start. Later starts change nothing here.
func (s *Server) bootstrap(ctx context.Context, out io.Writer) error {
	var exists bool
	if err := s.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.OrgConfig(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		exists = err == nil
		return err
	}); err != nil {
		return fmt.Errorf("read organization: %w", err)
	}
	if exists {
		if s.cfg.AdminPassword != "" {
			s.log.Warn("--admin-password applies to the first start only; the administrator's password was not changed " +
				"(change it with Set-Mailbox -Identity admin -Password ...)")
		}
		return nil
	}
	password := s.cfg.AdminPassword
	generated := password == ""
	if generated {
		password = GeneratePassword()
	} else if err := service.CheckPassword(password); err != nil {
		return fmt.Errorf("--admin-password: %w", err)
	}
	hash, scram, err := s.Checker.Credentials(password)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	admin := store.Mailbox{
		Name: "admin", DisplayName: "Administrator", Alias: "admin",
		PrimarySmtpAddress: "admin@" + s.cfg.Domain, UserPrincipalName: "admin@" + s.cfg.Domain,
		PasswordHash: hash, SCRAMSHA256: scram, PopEnabled: true, ImapEnabled: true, WhenCreated: now, WhenChanged: now,
	}
	created := false
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		// Another node sharing the database may have got here first. Only
		// "not found" means carry on: any other error (a serialization
		// failure on PostgreSQL) must end the transaction as it is, so that
		// it is retried, rather than run more statements in an aborted
		// transaction (25P02, which nothing retries).
		if _, err := tx.OrgConfig(ctx); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		created = true
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: s.cfg.Organization, Domain: s.cfg.Domain, WhenChanged: now}); err != nil {
			return err
		}
		if err := tx.InsertMailbox(ctx, &admin); err != nil {
			return err
		}
		g, err := tx.RoleGroupByName(ctx, "Organization Management")
		if err != nil {
			return err
		}
		if err := tx.AddRoleGroupMember(ctx, g.ID, admin.ID); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, &store.AuditRecord{
			RunDate: now, Caller: "gatehouse serve", Surface: "setup", CmdletName: "New-Mailbox",
			ObjectModified: admin.Name, Succeeded: true,
			CmdletParameters:   []store.Parameter{{Name: "Name", Value: admin.Name}, {Name: "RoleGroup", Value: g.Name}},
			ModifiedProperties: []store.PropertyChange{{Name: "RoleGroup", NewValue: g.Name}},
		})
	})
	if errors.Is(err, store.ErrExists) {
		// Two first starts raced on one database; the other one won.
		created, err = false, nil
	}
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if !created {
		return nil
	}
	if generated {
		s.AdminPassword = password
		fmt.Fprintf(out, "First start: created the organization %s and the administrator 'admin' (Organization Management).\n", s.cfg.Domain)
		fmt.Fprintf(out, "  admin password: %s\n  (shown once; change it with: Set-Mailbox -Identity admin -Password ...)\n", password)
	} else {
		fmt.Fprintf(out, "First start: created the organization %s and the administrator 'admin' with the given password.\n", s.cfg.Domain)
	}
	return nil
}

// GeneratePassword returns a random password of 20 characters that is easy
// to read aloud: no 0/O, 1/l/I. It satisfies the password policy
// (service.CheckPassword): one in twenty draws lacks a digit or a case and
// is drawn again.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for {
		for i := range b {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			b[i] = alphabet[n.Int64()]
		}
		if service.CheckPassword(string(b)) == nil {
			return string(b)
		}
	}
}
