package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// BenchmarkChanges measures a poll of a folder of 200 messages (the
// IMAP4 update after a command, or after a change signal) in which one
// message changed and one was expunged since the MODSEQ asked about: the
// time of one Store.Changes against a real PostgreSQL, round trip
// included.
//
//	go test ./internal/store/postgres -run X -bench Changes -benchtime 5000x
func BenchmarkChanges(b *testing.B) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{MaxConns: 2, BodyGrace: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	m := store.Mailbox{Name: "Bench", DisplayName: "Bench", Alias: "bench", PrimarySmtpAddress: "bench@contoso.com",
		UserPrincipalName: "bench@contoso.com", PasswordHash: "x", ImapEnabled: true}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		b.Fatal(err)
	}
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		msg := store.NewMessage{Raw: []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), Structure: []byte("x")}
		if _, _, err := s.Append(ctx, inbox.ID, msg); err != nil {
			b.Fatal(err)
		}
	}
	before, err := s.FolderByID(ctx, inbox.ID)
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range []store.FlagUpdate{
		{UIDs: []store.UIDRange{{Start: 7, Stop: 7}}, Op: store.FlagsAdd, Flags: store.FlagSeen},
		{UIDs: []store.UIDRange{{Start: 9, Stop: 9}}, Op: store.FlagsAdd, Flags: store.FlagDeleted},
	} {
		if _, _, err := s.StoreFlags(ctx, inbox.ID, u); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		f, changed, expunged, err := s.Changes(ctx, inbox.ID, before.HighestModSeq)
		if err != nil || f.Messages != 199 || len(changed) != 1 || len(expunged) != 1 {
			b.Fatalf("changes: %+v %v %v %v; want 199 messages, one changed, one expunged", f, changed, expunged, err)
		}
	}
}
