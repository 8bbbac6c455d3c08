package backend

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestAppPasswordLogin: an app password signs in where the password does
// (the record names it and its last use is written), not as another
// mailbox and not through SCRAM; it is basic authentication, so a policy
// that blocks basic authentication blocks it too; revoking it closes its
// sessions and leaves the password's; a password change closes them all.
func TestAppPasswordLogin(t *testing.T) {
	f := newFixture(t, nil)
	secret, hash, err := auth.NewAppPassword()
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, otherHash, _ := auth.NewAppPassword()
	now := time.Now().UTC()
	phone := store.AppPassword{MailboxID: f.ck.ID, Name: "Phone", SecretHash: hash, WhenCreated: now}
	other := store.Mailbox{Name: "Other", DisplayName: "Other", Alias: "other", PrimarySmtpAddress: "other@contoso.com",
		UserPrincipalName: "other@contoso.com", PasswordHash: f.ck.PasswordHash, PopEnabled: true, ImapEnabled: true}
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.InsertAppPassword(f.ctx, &phone); err != nil {
			return err
		}
		if err := tx.InsertMailbox(f.ctx, &other); err != nil {
			return err
		}
		return tx.InsertAppPassword(f.ctx, &store.AppPassword{MailboxID: other.ID, Name: "Phone", SecretHash: otherHash, WhenCreated: now})
	}); err != nil {
		t.Fatal(err)
	}

	app, pw := &kicks{ch: make(chan struct{}, 4)}, &kicks{ch: make(chan struct{}, 4)}
	sa, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: secret, Mechanism: "PLAIN",
		RemoteAddr: "192.0.2.9:4000", Kick: app.kick})
	if err != nil {
		t.Fatalf("login with the app password: %v", err)
	}
	defer sa.Close()
	sp, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Mechanism: "LOGIN", Kick: pw.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	f.rec.Flush()
	var recs []store.LoginRecord
	var used store.AppPassword
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		if recs, err = tx.RecentLogins(f.ctx, f.ck.ID, store.LoginQuery{Limit: 2}); err != nil {
			return err
		}
		used, err = tx.AppPasswordBySecret(f.ctx, hash)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].AppPassword != "Phone" || recs[1].Result != store.LoginSuccess || recs[0].AppPassword != "" {
		t.Errorf("login records: got %+v; want the app password's named Phone, the password's unnamed", recs)
	}
	if used.LastUsed.IsZero() || used.LastUsedProtocol != "imap4" || used.LastUsedAddr != "192.0.2.9:4000" {
		t.Errorf("last use: got %+v", used)
	}

	// Not as another mailbox, not the other mailbox's, not through SCRAM.
	for _, req := range []LoginRequest{
		{Protocol: access.IMAP4, Username: "other", Password: secret, Mechanism: "PLAIN"},
		{Protocol: access.IMAP4, Username: "christa", Password: otherSecret, Mechanism: "PLAIN"},
		{Protocol: access.POP3, Username: "nobody", Password: secret, Mechanism: "USER"},
	} {
		if _, err := f.l.Login(f.ctx, req); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s with %s's app password: got %v; want ErrInvalidCredentials", req.Username, map[string]string{secret: "christa", otherSecret: "other"}[req.Password], err)
		}
	}

	// Basic authentication: a policy that blocks it blocks app passwords.
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.InsertAuthPolicy(f.ctx, &store.AuthPolicy{Name: "No basic POP", AllowBasicAuthImap: true, AllowBasicAuthSmtp: true}); err != nil {
			return err
		}
		return tx.SetMailboxAuthPolicy(f.ctx, f.ck.ID, "No basic POP", now)
	}); err != nil {
		t.Fatal(err)
	}
	var d *access.Denied
	if _, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.POP3, Username: "christa", Password: secret, Mechanism: "USER"}); !errors.As(err, &d) || d.Reason != access.BasicAuthBlocked {
		t.Errorf("POP3 with an app password under a policy without basic POP3: got %v; want BasicAuthBlocked", err)
	}

	// Revoked: its session ends, the password's stays; it signs in no more.
	if err := f.st.Update(f.ctx, func(tx store.Tx) error {
		_, err := tx.DeleteAppPasswords(f.ctx, f.ck.ID, []int64{phone.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Publish(f.ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: f.ck.ID}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-app.ch:
		if app.r[0] != access.AppPasswordRevokedText {
			t.Errorf("kick reason: got %q; want %q", app.r[0], access.AppPasswordRevokedText)
		}
	default:
		t.Fatal("the app password's session was not ended when it was revoked")
	}
	select {
	case <-pw.ch:
		t.Fatalf("the password's session was ended by the revocation: %v", pw.r)
	default:
	}
	if _, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: secret, Mechanism: "PLAIN"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("revoked app password: got %v; want ErrInvalidCredentials", err)
	}
}

// TestAppPasswordRevokedDuringSignIn: an app password revoked between the
// check and the registration does not sign in (the revocation's kick may
// have gone out before the session was registered).
func TestAppPasswordRevokedDuringSignIn(t *testing.T) {
	f := newFixture(t, nil)
	secret, hash, _ := auth.NewAppPassword()
	p := store.AppPassword{MailboxID: f.ck.ID, Name: "Phone", SecretHash: hash, WhenCreated: time.Now()}
	if err := f.st.Update(f.ctx, func(tx store.Tx) error { return tx.InsertAppPassword(f.ctx, &p) }); err != nil {
		t.Fatal(err)
	}
	f.l.checked = func() {
		if err := f.st.Update(f.ctx, func(tx store.Tx) error {
			_, err := tx.DeleteAppPasswords(f.ctx, f.ck.ID, nil)
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: secret, Mechanism: "PLAIN"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("got %v; want ErrInvalidCredentials", err)
	}
	if n := f.reg.Count(f.ck.ID, ""); n != 0 {
		t.Errorf("%d sessions left registered", n)
	}
}
