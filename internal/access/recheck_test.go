package access_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// pausingStore holds its first View after the read, until resume is
// closed: a re-check that has read the store and not yet judged.
type pausingStore struct {
	store.Store
	once         sync.Once
	read, resume chan struct{}
}

func (p *pausingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	err := p.Store.View(ctx, fn)
	p.once.Do(func() {
		close(p.read)
		<-p.resume
	})
	return err
}

// TestRecheckSparesLaterSessions: a re-check judges the sessions that were
// open when it read the store, not one registered after that read, whose
// own login checked a newer state. Here IMAP4 is disabled, a re-check
// reads that, IMAP4 is enabled again and a new session signs in before the
// re-check judges: the old session is closed, the new one stays.
func TestRecheckSparesLaterSessions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := store.Mailbox{Name: "alice", DisplayName: "alice", Alias: "alice", PrimarySmtpAddress: "alice@example.com",
		UserPrincipalName: "alice@example.com", ImapEnabled: true}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Example", Domain: "example.com"}); err != nil {
			return err
		}
		return tx.InsertMailbox(ctx, &m)
	}); err != nil {
		t.Fatal(err)
	}
	setIMAP := func(on bool) {
		t.Helper()
		if err := st.Update(ctx, func(tx store.Tx) error {
			mb, err := tx.MailboxByID(ctx, m.ID)
			if err != nil {
				return err
			}
			mb.ImapEnabled = on
			return tx.UpdateMailbox(ctx, mb)
		}); err != nil {
			t.Fatal(err)
		}
	}
	ps := &pausingStore{Store: st, read: make(chan struct{}), resume: make(chan struct{})}
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
	setIMAP(false)
	if err := hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: m.ID}); err != nil {
		t.Fatal(err)
	}
	<-ps.read // the re-check has read "disabled"
	setIMAP(true)
	reg.Register(m.ID, access.IMAP4, "192.0.2.2:1000", "", kick("new"))
	close(ps.resume)
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
