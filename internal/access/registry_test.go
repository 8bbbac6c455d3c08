package access_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// TestClusterSessions: every registry on the hub answers a sessions query
// through the store; the asker gets the sessions of all of them.
func TestClusterSessions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := notify.NewLocal()
	// Two registries on one hub stand for two nodes.
	a := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub})
	defer a.Close()
	b := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub})
	defer b.Close()
	a.Register(7, access.IMAP4, "192.0.2.1:1000", "", func(string) {})
	b.Register(7, access.POP3, "192.0.2.2:1000", "", func(string) {})
	_, end := b.Register(8, access.IMAP4, "192.0.2.3:1000", "", func(string) {})

	got, err := access.ClusterSessions(ctx, hub, st, 7, 300*time.Millisecond)
	if err != nil || len(got) != 2 {
		t.Fatalf("sessions of mailbox 7: %+v, %v; want 2", got, err)
	}
	if got[0].Node == got[1].Node {
		t.Errorf("both answers from one node: %+v", got)
	}
	all, err := access.ClusterSessions(ctx, hub, st, 0, 300*time.Millisecond)
	if err != nil || len(all) != 3 {
		t.Fatalf("all sessions: %+v, %v; want 3", all, err)
	}
	end()
	all, err = access.ClusterSessions(ctx, hub, st, 0, 300*time.Millisecond)
	if err != nil || len(all) != 2 {
		t.Errorf("after a session ended: %+v, %v; want 2", all, err)
	}
}
