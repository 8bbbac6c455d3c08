package backend

import (
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// BenchmarkLoginSecret compares a login with the mailbox's password
// (argon2id at the default parameters, no credential cache: a first or
// uncached login) with a login with an app password (one SHA-256 and one
// indexed read), through the whole flow on SQLite.
func BenchmarkLoginSecret(b *testing.B) {
	f := newFixture(b, nil)
	f.l.checker = auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams})
	hash, err := f.l.checker.Hash("Bench-Pass-2026")
	if err != nil {
		b.Fatal(err)
	}
	f.set(b, func(m *store.Mailbox, _ *store.OrgConfig) { m.PasswordHash = hash })
	secret, sh, _ := auth.NewAppPassword()
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		return tx.InsertAppPassword(f.ctx, &store.AppPassword{MailboxID: f.ck.ID, Name: "Bench", SecretHash: sh, WhenCreated: time.Now()})
	}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, pw string }{{"password", "Bench-Pass-2026"}, {"apppassword", secret}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				s, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: tc.pw, Mechanism: "PLAIN"})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
