package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
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
	a.Register(7, access.IMAP4, "192.0.2.1:1", aIMAP.kick)
	a.Register(7, access.POP3, "192.0.2.1:2", aPOP.kick)
	b.Register(7, access.IMAP4, "192.0.2.2:1", bIMAP.kick)
	a.Register(8, access.IMAP4, "192.0.2.1:3", other.kick)

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
