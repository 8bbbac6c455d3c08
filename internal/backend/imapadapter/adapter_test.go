package imapadapter

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// env is the IMAP server over the real login flow and a SQLite store.
type env struct {
	st    store.Store
	hub   *notify.Local
	addr  string
	boxes map[string]int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st)
}

// newEnvOn is newEnv over a store the test opened.
func newEnvOn(t *testing.T, st store.Store) *env { t.Helper(); return newEnvMail(t, st, st) }

// newEnvMail is newEnvOn with the IMAP backend reading mail through mail
// (a wrapper of st that counts or fails calls).
func newEnvMail(t *testing.T, st store.Store, mail store.Mail) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{st: st, hub: notify.NewLocal(), boxes: map[string]int64{}}
	// Cheap argon2id parameters: the tests log in often.
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}, CacheTTL: time.Minute})
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Example", Domain: "example.com"})
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		hash, err := checker.Hash("pw-" + name)
		if err != nil {
			t.Fatal(err)
		}
		m := store.Mailbox{Name: name, DisplayName: name, Alias: name,
			PrimarySmtpAddress: name + "@example.com", UserPrincipalName: name + "@example.com",
			PasswordHash: hash, PopEnabled: true, ImapEnabled: true}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
		e.boxes[name] = m.ID
	}
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: e.hub})
	t.Cleanup(reg.Close)
	rec := backend.NewRecorder(st, backend.RecorderOptions{})
	t.Cleanup(rec.Close)
	logins := backend.NewLogins(backend.LoginsOptions{Store: st, Checker: checker, Registry: reg, Recorder: rec})
	be := New(Options{Mail: mail, Hub: e.hub, Login: LoginFlow{logins}})
	srv := imap.NewServer(imap.Options{Backend: be})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	e.addr = l.Addr().String()
	return e
}

// set changes a mailbox and the organization as the service layer does,
// then tells the hub.
func (e *env) set(t *testing.T, user string, fn func(m *store.Mailbox, o *store.OrgConfig)) {
	t.Helper()
	ctx := context.Background()
	err := e.st.Update(ctx, func(tx store.Tx) error {
		m, err := tx.MailboxByID(ctx, e.boxes[user])
		if err != nil {
			return err
		}
		o, err := tx.OrgConfig(ctx)
		if err != nil {
			return err
		}
		fn(&m, &o)
		if err := tx.UpdateMailbox(ctx, m); err != nil {
			return err
		}
		return tx.SetOrgConfig(ctx, o)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: e.boxes[user]}); err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func (e *env) dial(t *testing.T) *client {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	c.line() // greeting
	return c
}

// login dials and logs in as user (alice or bob).
func (e *env) login(t *testing.T, user string) *client {
	t.Helper()
	c := e.dial(t)
	if got := last(c.cmd("a", "LOGIN "+user+"@example.com pw-"+user)); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("LOGIN %s: %s", user, got)
	}
	return c
}

func (c *client) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the lines up to its tagged response.
func (c *client) cmd(tag, cmd string) []string {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(tag + " " + cmd + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

func last(ls []string) string { return ls[len(ls)-1] }

// TestLoginRefusals checks what a client sees for each outcome of the
// login flow (docs/ARCHITECTURE.md, The access rule).
func TestLoginRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	tests := []struct {
		name  string
		setup func(m *store.Mailbox, o *store.OrgConfig)
		user  string
		pass  string
		want  string
	}{
		{"wrong password", nil, "alice@example.com", "nope", "a NO [AUTHENTICATIONFAILED] Invalid credentials"},
		{"unknown user", nil, "nobody@example.com", "pw-alice", "a NO [AUTHENTICATIONFAILED] Invalid credentials"},
		{"disabled", func(m *store.Mailbox, o *store.OrgConfig) { m.ImapEnabled = false }, "alice@example.com", "pw-alice",
			"a NO [CONTACTADMIN] IMAP4 access is disabled for this mailbox. Contact your administrator."},
		{"disabled, wrong password", nil, "alice@example.com", "nope", "a NO [AUTHENTICATIONFAILED] Invalid credentials"},
		{"security defaults", func(m *store.Mailbox, o *store.OrgConfig) { m.ImapEnabled = true; o.SecurityDefaultsEnabled = true },
			"alice@example.com", "pw-alice",
			"a NO [CONTACTADMIN] IMAP4 is blocked by your organization's security defaults. Contact your administrator."},
		{"allowed again", func(m *store.Mailbox, o *store.OrgConfig) { o.SecurityDefaultsEnabled = false },
			"alice@example.com", "pw-alice", "a OK [CAPABILITY"},
	}
	for _, tt := range tests {
		if tt.setup != nil {
			e.set(t, "alice", tt.setup)
		}
		got := last(c.cmd("a", "LOGIN "+tt.user+" "+tt.pass))
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestKickOnAccessChange disables IMAP4 for a mailbox with sessions open,
// one idling and one between commands: both end with the reason at once.
func TestKickOnAccessChange(t *testing.T) {
	e := newEnv(t)
	idler, waiter, other := e.dial(t), e.dial(t), e.dial(t)
	for _, c := range []*client{idler, waiter} {
		if got := last(c.cmd("a", "LOGIN alice@example.com pw-alice")); !strings.HasPrefix(got, "a OK") {
			t.Fatalf("login: %s", got)
		}
	}
	if got := last(other.cmd("a", "LOGIN bob@example.com pw-bob")); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("login: %s", got)
	}
	idler.cmd("b", "SELECT INBOX")
	idler.nc.Write([]byte("c IDLE\r\n"))
	if l := idler.line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	start := time.Now()
	e.set(t, "alice", func(m *store.Mailbox, o *store.OrgConfig) { m.ImapEnabled = false })
	for name, c := range map[string]*client{"idling": idler, "waiting": waiter} {
		if got, want := c.line(), "* BYE IMAP4 access was disabled by your administrator."; got != want {
			t.Errorf("%s session: got %q; want %q", name, got, want)
		}
		if _, err := c.r.ReadString('\n'); err == nil {
			t.Errorf("%s session still open after BYE", name)
		}
	}
	// The latency is a figure, not an assertion (machines here are shared).
	t.Logf("sessions closed %v after the change", time.Since(start))
	// Another mailbox's session is not touched.
	if got := last(other.cmd("d", "NOOP")); got != "d OK NOOP completed" {
		t.Errorf("bob's session: %q", got)
	}
}
