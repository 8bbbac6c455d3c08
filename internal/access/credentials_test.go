package access_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestCredentialsChangedKicks: a password change (CredentialsChanged)
// closes every POP3 and IMAP4 session of that mailbox, although the access
// rule still allows them, with the password text; on the node that made the
// change before Publish returns, on the other through the hub, each session
// once; the sessions of other mailboxes stay. Two registries on one hub
// stand for two nodes on one PostgreSQL.
func TestCredentialsChangedKicks(t *testing.T) {
	hub := notify.NewLocal()
	a := access.NewRegistry(access.RegistryOptions{Hub: hub, Node: "a"})
	b := access.NewRegistry(access.RegistryOptions{Hub: hub, Node: "b"})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	aIMAP, aPOP, bIMAP, other := newKickCounter(), newKickCounter(), newKickCounter(), newKickCounter()
	a.Register(7, access.IMAP4, "192.0.2.1:1", "", aIMAP.kick)
	a.Register(7, access.POP3, "192.0.2.1:2", "", aPOP.kick)
	b.Register(7, access.IMAP4, "192.0.2.2:1", "", bIMAP.kick)
	a.Register(8, access.IMAP4, "192.0.2.1:3", "", other.kick)

	if err := a.Publish(context.Background(), notify.Event{Kind: notify.CredentialsChanged, MailboxID: 7}); err != nil {
		t.Fatal(err)
	}
	// This node's sessions were told before Publish returned.
	for name, k := range map[string]*kickCounter{"IMAP4 on a": aIMAP, "POP3 on a": aPOP} {
		if got := k.n.Load(); got != 1 {
			t.Errorf("%s: got %d kicks when Publish returned; want 1", name, got)
		}
	}
	for name, k := range map[string]*kickCounter{"IMAP4 on a": aIMAP, "POP3 on a": aPOP, "IMAP4 on b": bIMAP} {
		if got := k.wait(t, name); got != access.PasswordChangedText {
			t.Errorf("%s: got reason %q; want %q", name, got, access.PasswordChangedText)
		}
	}
	// An organization-wide CredentialsChanged means nothing: it kicks no one.
	a.Publish(context.Background(), notify.Event{Kind: notify.CredentialsChanged})
	time.Sleep(50 * time.Millisecond)
	for name, k := range map[string]*kickCounter{"IMAP4 on a": aIMAP, "POP3 on a": aPOP, "IMAP4 on b": bIMAP} {
		if got := k.n.Load(); got != 1 {
			t.Errorf("%s: got %d kicks; want 1", name, got)
		}
	}
	if got := other.n.Load(); got != 0 {
		t.Errorf("another mailbox's session: got %d kicks; want 0", got)
	}
}

// TestLostCredentialsChangedCaughtUp: on two nodes over PostgreSQL, a
// password change whose CredentialsChanged event is lost because the other
// node's LISTEN connection dropped still closes that node's sessions signed
// in with the old password: the hub asks for an organization-wide re-check
// when it reconnects, and the registry compares the password hash each
// session signed in with.
func TestLostCredentialsChangedCaughtUp(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := addChrista(t, st, "old-hash")
	hubs := map[string]*notify.Postgres{}
	regs := map[string]*access.Registry{}
	for _, node := range []string{"a", "b"} {
		h, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: dsn, Node: node})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hubs[node] = h
		regs[node] = access.NewRegistry(access.RegistryOptions{Store: st, Hub: h, Node: node})
		t.Cleanup(regs[node].Close)
	}
	onB := newKickCounter()
	regs["b"].Register(m.ID, access.IMAP4, "192.0.2.2:1", "old-hash", onB.kick)
	// A session registered without a known credential is never compared.
	unknown := newKickCounter()
	regs["b"].Register(m.ID, access.POP3, "192.0.2.2:2", "", unknown.kick)

	// Every listener loses its connection; the change is committed and
	// published while they are away, so its event reaches no other node.
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		mb, err := tx.MailboxByID(ctx, m.ID)
		if err != nil {
			return err
		}
		mb.PasswordHash = "new-hash"
		return tx.UpdateMailbox(ctx, mb)
	}); err != nil {
		t.Fatal(err)
	}
	if err := regs["a"].Publish(ctx, notify.Event{Kind: notify.CredentialsChanged, MailboxID: m.ID}); err != nil {
		t.Fatal(err)
	}
	if got := onB.wait(t, "IMAP4 session on b"); got != access.PasswordChangedText {
		t.Fatalf("session on b: reason %q, want %q", got, access.PasswordChangedText)
	}
	time.Sleep(100 * time.Millisecond)
	if n := unknown.n.Load(); n != 0 {
		t.Fatalf("a session without a known credential was kicked %d times", n)
	}
}
