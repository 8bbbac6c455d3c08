package migration_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// TestSourceSecurity signs in at Dovecot over implicit TLS (Ssl, its imaps
// listener) and STARTTLS (Tls) with a certificate that only the given
// roots trust, refuses both when the certificate is not trusted (no
// silent skip of verification), and copies a mailbox over Ssl.
func TestSourceSecurity(t *testing.T) {
	dovecot.Need(t)
	src := dovecot.StartSource(t, []string{"tina"}, sourcePassword)
	src.Seed(t, "tina", 24, 0, false)
	ctx := context.Background()
	trust := &tls.Config{RootCAs: src.RootCAs}
	for _, tc := range []struct {
		security string
		port     int
	}{{migration.SecuritySsl, src.TLSPort}, {migration.SecurityTls, src.Port}} {
		s := migration.Source{Server: "127.0.0.1", Port: tc.port, Security: tc.security, TLS: trust}
		caps, err := s.Probe(ctx, "tina", sourcePassword)
		if err != nil {
			t.Errorf("%s: sign-in with the trusted certificate: %v", tc.security, err)
			continue
		}
		t.Logf("%s on port %d: signed in; capabilities %v", tc.security, tc.port, caps)
		s.TLS = nil // the system roots do not trust the test certificate
		if _, err := s.Probe(ctx, "tina", sourcePassword); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s with an untrusted certificate: got %v; want a certificate error", tc.security, err)
		}
	}

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ep := store.MigrationEndpoint{Name: "Old", EndpointType: "IMAP", RemoteServer: "127.0.0.1", Port: src.TLSPort, Security: migration.SecuritySsl,
		Authentication: "Basic", MaxConcurrentMigrations: 1}
	m, b, u := oneUserBatch(t, st, &ep, "tina", "tina")
	eng := migration.New(migration.Options{Store: st})
	s := migration.Source{Server: "127.0.0.1", Port: src.TLSPort, Security: migration.SecuritySsl, TLS: trust}
	res, err := eng.SyncUser(ctx, s, b, u, sourcePassword)
	if err != nil {
		t.Fatal(err)
	}
	c := src.Dial(t, "tina")
	snap := dovecot.Take(t, c)
	c.Logout().Wait()
	if n := dovecot.Compare(t, "tina", snap, gatehouseSnapshot(t, st, m.ID), dovecot.FolderMap(), 0); n != 24 || res.Copied != 24 {
		t.Errorf("over Ssl: copied %d, compared %d; want 24", res.Copied, n)
	}
}

// TestSourceTrustedCertificate signs in at Dovecot, whose certificate a
// private CA signed, over Ssl and Tls with only the system roots and the
// endpoint's trusted CA (PEM, as -TrustedCertificate takes it); a CA that
// did not sign the server's certificate fails with the TLS reason, and a
// sync copies a mailbox trusting the CA.
func TestSourceTrustedCertificate(t *testing.T) {
	dovecot.Need(t)
	src := dovecot.StartSource(t, []string{"tina"}, sourcePassword)
	src.Seed(t, "tina", 12, 0, false)
	ctx := context.Background()
	now := time.Now()
	otherCA, _ := testCA(t, "Some Other CA", now.Add(-time.Hour), now.Add(time.Hour))
	for _, tc := range []struct {
		security string
		port     int
	}{{migration.SecuritySsl, src.TLSPort}, {migration.SecurityTls, src.Port}} {
		s := migration.Source{Server: "127.0.0.1", Port: tc.port, Security: tc.security, Trusted: src.CAPEM}
		if _, err := s.Probe(ctx, "tina", sourcePassword); err != nil {
			t.Errorf("%s trusting the source's CA: %v", tc.security, err)
		}
		s.Trusted = otherCA
		_, err := s.Probe(ctx, "tina", sourcePassword)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("%s trusting another CA: got %v; want the TLS reason (certificate signed by unknown authority)", tc.security, err)
		}
		t.Logf("%s trusting another CA: %v", tc.security, err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ep := store.MigrationEndpoint{Name: "Old", EndpointType: "IMAP", RemoteServer: "127.0.0.1", Port: src.Port, Security: migration.SecurityTls,
		Authentication: "Basic", MaxConcurrentMigrations: 1, TrustedCertificates: src.CAPEM}
	_, b, u := oneUserBatch(t, st, &ep, "tina", "tina")
	// The endpoint as stored: its certificates come back byte for byte.
	var got store.MigrationEndpoint
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.MigrationEndpoint(ctx, "Old", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(got.TrustedCertificates) != string(src.CAPEM) {
		t.Fatalf("stored trusted certificates %q; want %q", got.TrustedCertificates, src.CAPEM)
	}
	eng := migration.New(migration.Options{Store: st})
	s := migration.Source{Server: got.RemoteServer, Port: got.Port, Security: got.Security, Trusted: got.TrustedCertificates}
	res, err := eng.SyncUser(ctx, s, b, u, sourcePassword)
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 12 {
		t.Errorf("over Tls trusting the CA: copied %d; want 12", res.Copied)
	}
}

// oneUserBatch stores ep (unless it has an ID already), a mailbox
// name@contoso.com and a batch of that mailbox alone, named name, whose
// user signs in at the source as userName.
func oneUserBatch(tb testing.TB, st interface {
	Update(context.Context, func(store.Tx) error) error
}, ep *store.MigrationEndpoint, name, userName string) (store.Mailbox, store.MigrationBatch, store.MigrationUser) {
	tb.Helper()
	ctx := context.Background()
	m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: name + "@contoso.com", UserPrincipalName: name + "@contoso.com", PasswordHash: "x"}
	u := store.MigrationUser{EmailAddress: m.PrimarySmtpAddress, UserName: userName}
	b := store.MigrationBatch{Name: name, Status: store.MigrationCreated}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if ep.ID == 0 {
			if err := tx.InsertMigrationEndpoint(ctx, ep); err != nil {
				return err
			}
		}
		if err := tx.InsertMailbox(ctx, &m); err != nil {
			return err
		}
		b.EndpointID, u.MailboxID = ep.ID, m.ID
		users := []store.MigrationUser{u}
		err := tx.InsertMigrationBatch(ctx, &b, users)
		u = users[0]
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return m, b, u
}
