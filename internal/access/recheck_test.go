package access_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
)

// TestRecheckSparesLaterSessions: a re-check judges the sessions that were
// open when it read the store, not one registered after that read, whose
// own login checked a newer state. Here IMAP4 is disabled, a re-check
// reads that, IMAP4 is enabled again and a new session signs in before the
// re-check judges: the old session is closed, the new one stays.
func TestRecheckSparesLaterSessions(t *testing.T) {
	ctx := context.Background()
	st, m := newChrista(t)
	ps := &gatedStore{Store: st, entered: make(chan struct{}), gate: make(chan struct{})}
	hub := notify.NewLocal()
	reg := access.NewRegistry(access.RegistryOptions{Store: ps, Hub: hub})
	var mu sync.Mutex
	kicked := map[string]string{}
	kick := func(name string) func(string) {
		return func(reason string) {
			mu.Lock()
			kicked[name] = reason
			mu.Unlock()
		}
	}
	reg.Register(m.ID, access.IMAP4, "192.0.2.1:1000", "", kick("old"))
	setIMAP(t, st, m.ID, false)
	if err := hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID}); err != nil {
		t.Fatal(err)
	}
	<-ps.entered // the re-check has read "disabled"
	setIMAP(t, st, m.ID, true)
	reg.Register(m.ID, access.IMAP4, "192.0.2.2:1000", "", kick("new"))
	close(ps.gate)
	reg.Close() // waits for the re-check to finish
	mu.Lock()
	defer mu.Unlock()
	if kicked["old"] == "" {
		t.Errorf("the session open when IMAP4 was disabled was not closed")
	}
	if r, ok := kicked["new"]; ok {
		t.Errorf("the session that signed in after IMAP4 was enabled again was closed: %q", r)
	}
}
