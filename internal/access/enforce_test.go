package access_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// countingStore counts the read transactions a registry runs: one per
// re-evaluation of its sessions.
type countingStore struct {
	store.Store
	views atomic.Int32
}

func (c *countingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

// kickCounter is one registered session's kick count.
type kickCounter struct {
	n  atomic.Int32
	ch chan string
}

func newKickCounter() *kickCounter { return &kickCounter{ch: make(chan string, 10)} }

func (k *kickCounter) kick(reason string) {
	k.n.Add(1)
	k.ch <- reason
}

func (k *kickCounter) wait(t *testing.T, what string) string {
	t.Helper()
	select {
	case r := <-k.ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not kicked within 5 s; want a kick", what)
	}
	return ""
}

// TestEnforceOnce: an access change made on one node kicks each session
// it concerns exactly once, on that node before Publish returns and on the
// other node through the hub, and each node re-evaluates its sessions
// once; a change made on the other node still kicks this node's sessions.
// Two registries on one hub stand for two nodes on one PostgreSQL.
func TestEnforceOnce(t *testing.T) {
	ctx := context.Background()
	st, m := newChrista(t)

	hub := notify.NewLocal()
	sa, sb := &countingStore{Store: st}, &countingStore{Store: st}
	a := access.NewRegistry(access.RegistryOptions{Store: sa, Hub: hub, Node: "a"})
	b := access.NewRegistry(access.RegistryOptions{Store: sb, Hub: hub, Node: "b"})
	aIMAP1, aIMAP2, aPOP, bIMAP := newKickCounter(), newKickCounter(), newKickCounter(), newKickCounter()
	a.Register(m.ID, access.IMAP4, "192.0.2.1:1000", "", aIMAP1.kick)
	a.Register(m.ID, access.IMAP4, "192.0.2.1:1001", "", aIMAP2.kick)
	a.Register(m.ID, access.POP3, "192.0.2.1:1002", "", aPOP.kick)
	b.Register(m.ID, access.IMAP4, "192.0.2.2:1000", "", bIMAP.kick)

	// Node a turns IMAP4 off, as the service does: commit, then Publish.
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxProtocols(ctx, m.ID, true, false, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID}); err != nil {
		t.Fatal(err)
	}
	// Node a's sessions are told before Publish returns.
	for name, k := range map[string]*kickCounter{"a imap 1": aIMAP1, "a imap 2": aIMAP2} {
		if got := k.n.Load(); got != 1 {
			t.Errorf("%s: kicked %d times when Publish returned; want 1", name, got)
		}
	}
	if got, want := bIMAP.wait(t, "b imap"), "IMAP4 access was disabled by your administrator."; got != want {
		t.Errorf("b imap kicked with %q; want %q", got, want)
	}

	// Node b turns on security defaults: node a's POP3 session ends too.
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com", SecurityDefaultsEnabled: true})
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, notify.Event{Kind: notify.AccessChanged}); err != nil {
		t.Fatal(err)
	}
	if got, want := aPOP.wait(t, "a pop3 after node b's change"), "POP3 was blocked by your organization's security defaults."; got != want {
		t.Errorf("a pop3 kicked with %q; want %q", got, want)
	}

	// Close waits for whatever the hub queued; only then are the counts final.
	a.Close()
	b.Close()
	for _, tc := range []struct {
		name string
		k    *kickCounter
	}{{"a imap 1", aIMAP1}, {"a imap 2", aIMAP2}, {"a pop3", aPOP}, {"b imap", bIMAP}} {
		if got := tc.k.n.Load(); got != 1 {
			t.Errorf("%s: kicked %d times; want 1", tc.name, got)
		}
	}
	// Each node re-read the store once per change, its own and the other's
	// (kicked sessions stay registered until their connections end).
	for _, tc := range []struct {
		node string
		s    *countingStore
	}{{"a", sa}, {"b", sb}} {
		if got := tc.s.views.Load(); got != 2 {
			t.Errorf("node %s re-evaluated its sessions %d times for 2 changes; want 2", tc.node, got)
		}
	}
}

// newChrista opens a SQLite store in a temporary directory with the
// Contoso organization and Christa Knapp's mailbox (addChrista).
func newChrista(t *testing.T) (store.Store, store.Mailbox) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, addChrista(t, st, "")
}

// addChrista sets the Contoso organization in st and adds Christa Knapp's
// mailbox, POP3 and IMAP4 on, with passwordHash.
func addChrista(t *testing.T, st store.Store, passwordHash string) store.Mailbox {
	t.Helper()
	ctx := context.Background()
	m := store.Mailbox{Name: "Christa Knapp", DisplayName: "Christa Knapp", Alias: "christa", PrimarySmtpAddress: "christa@contoso.com",
		UserPrincipalName: "christa@contoso.com", PasswordHash: passwordHash, PopEnabled: true, ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com"}); err != nil {
			return err
		}
		return tx.InsertMailbox(ctx, &m)
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// setIMAP turns IMAP4 on or off for mailbox id in st.
func setIMAP(t *testing.T, st store.Store, id int64, on bool) {
	t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error {
		mb, err := tx.MailboxByID(ctx, id)
		if err != nil {
			return err
		}
		mb.ImapEnabled = on
		return tx.UpdateMailbox(ctx, mb)
	}); err != nil {
		t.Fatal(err)
	}
}

// gatedStore runs the first read transaction, then holds it until the gate
// opens: the registry is busy while the test fills its queue.
type gatedStore struct {
	store.Store
	first   sync.Once
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	err := g.Store.View(ctx, fn)
	g.first.Do(func() {
		close(g.entered)
		<-g.gate
	})
	return err
}

// TestQueueOverflowRechecksAll: events that arrive while the registry's
// queue is full are not lost without trace: one organization-wide re-check
// runs once the queue drains, and it closes the session whose access was
// turned off by a dropped event.
func TestQueueOverflowRechecksAll(t *testing.T) {
	ctx := context.Background()
	st, m := newChrista(t)
	hub := notify.NewLocal()
	g := &gatedStore{Store: st, entered: make(chan struct{}), gate: make(chan struct{})}
	r := access.NewRegistry(access.RegistryOptions{Store: g, Hub: hub, Node: "a"})
	t.Cleanup(r.Close)
	k := newKickCounter()
	r.Register(m.ID, access.IMAP4, "192.0.2.1:1", "", k.kick)

	// The first event keeps the registry busy (it read IMAP4 as allowed).
	hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID})
	<-g.entered
	setIMAP(t, st, m.ID, false)
	// Fill the queue with events about a mailbox without sessions, then
	// the one that matters, which finds the queue full.
	for i := 0; i < 2000; i++ {
		hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID + 1000})
	}
	hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID})
	close(g.gate)
	if got := k.wait(t, "the session whose event was dropped"); got != access.KickText(access.IMAP4, access.Disabled) {
		t.Fatalf("reason %q", got)
	}
}
