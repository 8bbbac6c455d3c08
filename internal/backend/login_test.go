package backend

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

type fixture struct {
	st   store.Store
	hub  *notify.Local
	l    *Logins
	rec  *Recorder
	reg  *access.Registry
	ck   store.Mailbox
	ctx  context.Context
	fast auth.Params
}

func newFixture(t testing.TB, th *auth.Throttle) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fast := auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}
	checker := auth.NewChecker(auth.CheckerOptions{Params: fast, CacheTTL: time.Minute})
	hash, _ := checker.Hash("secret")
	ck := store.Mailbox{Name: "Christa Knapp", DisplayName: "Christa Knapp", Alias: "christa", PrimarySmtpAddress: "christa@contoso.com",
		UserPrincipalName: "christa@contoso.com", PasswordHash: hash, PopEnabled: true, ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com"}); err != nil {
			return err
		}
		return tx.InsertMailbox(ctx, &ck)
	}); err != nil {
		t.Fatal(err)
	}
	hub := notify.NewLocal()
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub})
	t.Cleanup(reg.Close)
	rec := NewRecorder(st, RecorderOptions{})
	t.Cleanup(rec.Close)
	l := NewLogins(LoginsOptions{Store: st, Checker: checker, Throttle: th, Registry: reg, Recorder: rec})
	l.sleep = func(context.Context, time.Duration) {}
	return &fixture{st: st, hub: hub, l: l, rec: rec, reg: reg, ck: ck, ctx: ctx, fast: fast}
}

func (f *fixture) set(t testing.TB, fn func(m *store.Mailbox, o *store.OrgConfig)) {
	t.Helper()
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		m, err := tx.MailboxByID(f.ctx, f.ck.ID)
		if err != nil {
			return err
		}
		o, err := tx.OrgConfig(f.ctx)
		if err != nil {
			return err
		}
		fn(&m, &o)
		if err := tx.SetOrgConfig(f.ctx, o); err != nil {
			return err
		}
		return tx.UpdateMailbox(f.ctx, m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoginOutcomes(t *testing.T) {
	f := newFixture(t, nil)
	login := func(user, pw string, p access.Protocol) error {
		s, err := f.l.Login(f.ctx, LoginRequest{Protocol: p, Username: user, Password: pw, RemoteAddr: "127.0.0.1:5000"})
		if err == nil {
			if s.Mailbox.ID != f.ck.ID {
				t.Errorf("session of the wrong mailbox: %+v", s.Mailbox)
			}
			s.Close()
		}
		return err
	}
	for _, user := range []string{"christa@contoso.com", "CHRISTA@contoso.com", "christa", "Christa Knapp"} {
		if err := login(user, "secret", access.IMAP4); err != nil {
			t.Errorf("login as %q: %v", user, err)
		}
	}
	if err := login("christa", "wrong", access.IMAP4); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("wrong password: got %v", err)
	}
	if err := login("nobody", "secret", access.IMAP4); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("unknown user: got %v", err)
	}
	f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.PopEnabled = false })
	var d *access.Denied
	if err := login("christa", "secret", access.POP3); !errors.As(err, &d) || d.Reason != access.Disabled ||
		d.Text() != "POP3 access is disabled for this mailbox. Contact your administrator." {
		t.Errorf("POP3 disabled: got %v", err)
	}
	// A wrong password never reveals that POP3 is disabled.
	if err := login("christa", "wrong", access.POP3); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("wrong password on disabled protocol: got %v", err)
	}
	if err := login("christa", "secret", access.IMAP4); err != nil {
		t.Errorf("IMAP4 still allowed: %v", err)
	}
	f.set(t, func(m *store.Mailbox, o *store.OrgConfig) { m.PopEnabled = true; o.SecurityDefaultsEnabled = true })
	for _, p := range []access.Protocol{access.POP3, access.IMAP4} {
		if err := login("christa", "secret", p); !errors.As(err, &d) || d.Reason != access.SecurityDefaults ||
			d.Text() != p.Display()+" is blocked by your organization's security defaults. Contact your administrator." {
			t.Errorf("%s under security defaults: got %v", p, err)
		}
	}
	// A plaintext attempt the protocol server refused for want of TLS is
	// a refusal of its own, attached to the mailbox it names.
	f.l.RefusedPlaintext(f.ctx, LoginRequest{Protocol: access.POP3, Username: "christa", RemoteAddr: "192.0.2.7:5000"})
	f.rec.Flush()
	var rows []store.UsageRow
	f.st.View(f.ctx, func(tx store.Tx) error {
		rows, _ = tx.UsageReport(f.ctx, time.Now().Add(-time.Hour))
		return nil
	})
	if len(rows) != 1 || rows[0].ImapLogins != 5 || rows[0].PopRefused != 3 || rows[0].ImapRefused != 1 || rows[0].Failed != 2 {
		t.Errorf("usage after logins: %+v", rows)
	}
	var mb store.Mailbox
	f.st.View(f.ctx, func(tx store.Tx) error { mb, _ = tx.MailboxByID(f.ctx, f.ck.ID); return nil })
	if mb.LastImapLogon.IsZero() || !mb.LastPopLogon.IsZero() {
		t.Errorf("last logon: imap %v pop %v", mb.LastImapLogon, mb.LastPopLogon)
	}
}

type kicks struct {
	mu sync.Mutex
	r  []string
	ch chan struct{}
}

func (k *kicks) kick(reason string) {
	k.mu.Lock()
	k.r = append(k.r, reason)
	k.mu.Unlock()
	k.ch <- struct{}{}
}

func TestOpenSessionsClosed(t *testing.T) {
	f := newFixture(t, nil)
	pop, imap := &kicks{ch: make(chan struct{}, 4)}, &kicks{ch: make(chan struct{}, 4)}
	sp, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.POP3, Username: "christa", Password: "secret", Kick: pop.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	si, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Kick: imap.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer si.Close()
	if n := f.reg.Count(f.ck.ID, ""); n != 2 {
		t.Fatalf("registered sessions: %d; want 2", n)
	}
	// A change that keeps access allowed closes nothing.
	f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.DisplayName = "C. Knapp" })
	f.hub.Publish(f.ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: f.ck.ID})
	f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.PopEnabled = false })
	f.hub.Publish(f.ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: f.ck.ID})
	select {
	case <-pop.ch:
	case <-time.After(time.Second):
		t.Fatal("POP3 session not kicked within a second")
	}
	if pop.r[0] != "POP3 access was disabled by your administrator." {
		t.Errorf("kick reason: %q", pop.r[0])
	}
	select {
	case <-imap.ch:
		t.Fatalf("IMAP4 session kicked although IMAP4 stays allowed: %v", imap.r)
	case <-time.After(100 * time.Millisecond):
	}
	f.set(t, func(_ *store.Mailbox, o *store.OrgConfig) { o.SecurityDefaultsEnabled = true })
	f.hub.Publish(f.ctx, notify.Event{Kind: notify.AccessChanged})
	select {
	case <-imap.ch:
	case <-time.After(time.Second):
		t.Fatal("IMAP4 session not kicked by security defaults")
	}
	if imap.r[0] != "IMAP4 was blocked by your organization's security defaults." {
		t.Errorf("kick reason: %q", imap.r[0])
	}
	select {
	case <-pop.ch:
		t.Fatal("a kicked session is not kicked twice")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestThrottledLogin(t *testing.T) {
	th := auth.NewThrottle(auth.ThrottleOptions{Window: time.Minute, Free: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		LockAfter: 3, LockUserAfter: 10, LockFor: time.Minute})
	f := newFixture(t, th)
	for i := 0; i < 3; i++ {
		f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "bad", RemoteAddr: "10.0.0.1:1"})
	}
	_, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", RemoteAddr: "10.0.0.1:2"})
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("locked address: got %v", err)
	}
	s, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", RemoteAddr: "10.0.0.2:2"})
	if err != nil {
		t.Fatalf("another address still logs in: %v", err)
	}
	s.Close()
}

// A password change committed after the credentials were checked and before
// the session was registered must not leave a session open on the old
// password: its kick went out before there was a session to kick.
func TestPasswordChangeDuringLogin(t *testing.T) {
	f := newFixture(t, nil)
	checker := auth.NewChecker(auth.CheckerOptions{Params: f.fast})
	newHash, err := checker.Hash("another secret")
	if err != nil {
		t.Fatal(err)
	}
	f.l.checked = func() {
		f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.PasswordHash = newHash })
	}
	_, err = f.l.Login(f.ctx, LoginRequest{Username: "christa", Password: "secret", Protocol: access.IMAP4, RemoteAddr: "192.0.2.1:1"})
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("login on the old password after a change: err = %v, want invalid credentials", err)
	}
	if n := f.reg.Count(f.ck.ID, access.IMAP4); n != 0 {
		t.Fatalf("%d sessions registered after the refusal", n)
	}
	f.rec.Flush()
	var rows []store.UsageRow
	if err := f.st.View(f.ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.UsageReport(f.ctx, time.Now().Add(-time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Failed != 1 || rows[0].ImapLogins != 0 {
		t.Fatalf("usage after the refused login: %+v, want one failure and no sign-in", rows)
	}

	// The new password signs in, even when it is set again (a new hash of
	// the same password) in the window.
	sameAgain, _ := checker.Hash("another secret")
	f.l.checked = func() {
		f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.PasswordHash = sameAgain })
	}
	s, err := f.l.Login(f.ctx, LoginRequest{Username: "christa", Password: "another secret", Protocol: access.IMAP4, RemoteAddr: "192.0.2.1:1"})
	if err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	s.Close()
}

// tokens is a TokenVerifier over a fixed table: token → claim, or refused.
type tokens map[string]string

func (tk tokens) Verify(ctx context.Context, token string) (string, error) {
	if c, ok := tk[token]; ok {
		return c, nil
	}
	return "", errors.New("signature does not verify")
}

// TestTokenLogin: a bearer token names its mailbox; a user name the client
// gives must name the same one; a refused token is invalid credentials with
// the reason recorded; the auth method is recorded; and a password change
// ends token sessions too (an administrator's reset signs everyone out),
// but not a session signed in with the new password before the change's
// event came.
func TestTokenLogin(t *testing.T) {
	f := newFixture(t, nil)
	f.l.tokens = tokens{"good": "christa@contoso.com", "ghost": "nobody@contoso.com"}
	var got []store.LoginRecord
	for _, tc := range []struct {
		name, user, token string
		ok                bool
		reason            string
	}{
		{"token alone", "", "good", true, ""},
		{"token and the same mailbox by alias", "christa", "good", true, ""},
		{"token and another name", "kim@contoso.com", "good", false, "not the user"},
		{"refused token", "christa", "forged", false, "OAuth token refused: signature does not verify"},
		{"token naming no mailbox", "", "ghost", false, "names no mailbox"},
	} {
		s, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: tc.user, Token: tc.token, Mechanism: "XOAUTH2"})
		if tc.ok {
			if err != nil || s.Mailbox.ID != f.ck.ID {
				t.Errorf("%s: got %v, %v; want christa's session", tc.name, s, err)
			}
			s.Close()
		} else if !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s: got %v; want ErrInvalidCredentials", tc.name, err)
		}
		f.rec.Flush()
		f.st.View(f.ctx, func(tx store.Tx) error {
			got, _ = tx.RecentLogins(f.ctx, f.ck.ID, store.LoginQuery{Limit: 1})
			return nil
		})
		if tc.ok && (len(got) != 1 || got[0].AuthMethod != "XOAUTH2" || got[0].Result != store.LoginSuccess) {
			t.Errorf("%s: record %+v", tc.name, got)
		}
		if tc.reason != "" && tc.user == "christa" && (len(got) != 1 || !strings.Contains(got[0].Reason, tc.reason)) {
			t.Errorf("%s: record %+v; want reason %q", tc.name, got, tc.reason)
		}
	}

	tok, pw := &kicks{ch: make(chan struct{}, 4)}, &kicks{ch: make(chan struct{}, 4)}
	st, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Token: "good", Mechanism: "OAUTHBEARER", Kick: tok.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sp, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Mechanism: "PLAIN", Kick: pw.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	hash, _ := auth.Hash("new secret", f.fast)
	f.set(t, func(m *store.Mailbox, _ *store.OrgConfig) { m.PasswordHash = hash })
	// Signed in with the new password after the change's commit and before
	// its event: that session stays.
	fresh := &kicks{ch: make(chan struct{}, 4)}
	sf, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.POP3, Username: "christa", Password: "new secret", Mechanism: "USER", Kick: fresh.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	// Registry.Publish enforces the change on this node before it returns:
	// every kick it makes has been called by then.
	if err := f.reg.Publish(f.ctx, notify.Event{Kind: notify.CredentialsChanged, MailboxID: f.ck.ID}); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*kicks{"password": pw, "token": tok} {
		select {
		case <-k.ch:
			if k.r[0] != access.PasswordChangedText {
				t.Errorf("the %s session was ended with %q; want %q", name, k.r[0], access.PasswordChangedText)
			}
		default:
			t.Errorf("the %s session was not ended by the password change", name)
		}
	}
	select {
	case <-fresh.ch:
		t.Errorf("the session signed in with the new password was ended: %q", fresh.r)
	default:
	}
}

// TestAuthPolicyLogin: a policy that blocks basic authentication for IMAP4
// refuses a right password with the reason (a wrong one gets the usual
// answer), lets a token in, follows the organization's default when the
// mailbox has none, and ends the open password sessions it now blocks while
// token sessions stay.
func TestAuthPolicyLogin(t *testing.T) {
	f := newFixture(t, nil)
	f.l.tokens = tokens{"good": "christa@contoso.com"}
	now := time.Now().UTC()
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		return tx.InsertAuthPolicy(f.ctx, &store.AuthPolicy{Name: "No basic IMAP", AllowBasicAuthPop: true, WhenCreated: now, WhenChanged: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	pw, tok := &kicks{ch: make(chan struct{}, 4)}, &kicks{ch: make(chan struct{}, 4)}
	sp, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Mechanism: "LOGIN", Kick: pw.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	st, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Token: "good", Mechanism: "XOAUTH2", Kick: tok.kick})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// The organization's default applies to a mailbox without a policy.
	f.set(t, func(_ *store.Mailbox, o *store.OrgConfig) { o.DefaultAuthenticationPolicy = "no basic imap" })
	if err := f.reg.Publish(f.ctx, notify.Event{Kind: notify.AccessChanged}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pw.ch:
		if pw.r[0] != "Basic authentication for IMAP4 was blocked by your administrator." {
			t.Errorf("kick reason: %q", pw.r[0])
		}
	default:
		t.Fatal("the password session was not ended by the policy")
	}
	select {
	case <-tok.ch:
		t.Fatalf("the token session was ended by the policy: %v", tok.r)
	default:
	}

	_, err = f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Mechanism: "PLAIN"})
	var d *access.Denied
	if !errors.As(err, &d) || d.Reason != access.BasicAuthBlocked ||
		d.Text() != "Basic authentication for IMAP4 is blocked by your organization's authentication policy. Use a client that signs in with OAuth, or contact your administrator." {
		t.Errorf("password login under the policy: got %v", err)
	}
	if _, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "wrong", Mechanism: "PLAIN"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("wrong password under the policy: got %v; want ErrInvalidCredentials", err)
	}
	s, err := f.l.Login(f.ctx, LoginRequest{Protocol: access.POP3, Username: "christa", Password: "secret", Mechanism: "USER"})
	if err != nil {
		t.Errorf("POP3 password login (allowed by the policy): %v", err)
	} else {
		s.Close()
	}
	s, err = f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Token: "good", Mechanism: "OAUTHBEARER"})
	if err != nil {
		t.Errorf("token login under the policy: %v", err)
	} else {
		s.Close()
	}
	// The mailbox's own policy wins over the default.
	err = f.st.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.InsertAuthPolicy(f.ctx, &store.AuthPolicy{Name: "Allow all", AllowBasicAuthPop: true, AllowBasicAuthImap: true,
			AllowBasicAuthSmtp: true, WhenCreated: now, WhenChanged: now}); err != nil {
			return err
		}
		return tx.SetMailboxAuthPolicy(f.ctx, f.ck.ID, "Allow all", now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = f.l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: "christa", Password: "secret", Mechanism: "PLAIN"}); err != nil {
		t.Errorf("password login under the mailbox's own policy: %v", err)
	} else {
		s.Close()
	}
}

// readCounter counts a store's read transactions and its reads outside
// one that a login makes.
type readCounter struct {
	store.Store
	views, finds, states int
}

func (c *readCounter) View(ctx context.Context, fn func(tx store.Tx) error) error {
	c.views++
	return c.Store.View(ctx, fn)
}

func (c *readCounter) FindMailboxes(ctx context.Context, identity string, limit int) ([]store.Mailbox, error) {
	c.finds++
	return c.Store.FindMailboxes(ctx, identity, limit)
}

func (c *readCounter) SignInState(ctx context.Context, mailboxID int64) (store.OrgConfig, store.Mailbox, error) {
	c.states++
	return c.Store.SignInState(ctx, mailboxID)
}

// TestLoginReads: a password login looks its name up in one query outside
// any transaction (a read transaction is two more round trips on
// PostgreSQL), and once its session is registered reads the organization
// and the mailbox afresh in one more; only an app password or an
// authentication policy costs a read transaction. A login refused for its
// password or its name stops after the lookup.
func TestLoginReads(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		user, password string
		ok             bool
	}{
		{"christa@contoso.com", "secret", true},
		{"Christa Knapp", "secret", true},
		{"christa", "wrong", false},
		{"nobody@contoso.com", "secret", false},
	} {
		rc := &readCounter{Store: f.st}
		l := *f.l
		l.st = rc
		s, err := l.Login(f.ctx, LoginRequest{Protocol: access.IMAP4, Username: c.user, Password: c.password, RemoteAddr: "127.0.0.1:5000"})
		if err == nil {
			if s.Mailbox.ID != f.ck.ID || s.Mailbox.PasswordHash != f.ck.PasswordHash {
				t.Errorf("login as %q: session of %+v", c.user, s.Mailbox)
			}
			s.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("login as %q with %q: %v", c.user, c.password, err)
		}
		states := 0
		if c.ok {
			states = 1
		}
		if rc.finds != 1 || rc.states != states || rc.views != 0 {
			t.Errorf("login as %q with %q: %d name lookups, %d sign-in reads, %d read transactions; want 1, %d, 0",
				c.user, c.password, rc.finds, rc.states, rc.views, states)
		}
	}
}
