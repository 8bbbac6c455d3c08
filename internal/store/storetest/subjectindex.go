package storetest

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// RunSubjectIndexMigration checks migration 0016 (the index of subjects
// for SEARCH SUBJECT) on a database that already holds messages: undo
// takes the database back to before it (run on raw, the store closed),
// the store is opened again, and the messages stored before are found.
// indexed then checks, on raw, that the engine's index holds them.
func RunSubjectIndexMigration(t *testing.T, open func(t *testing.T) store.Store, raw *sql.DB, undo []string, indexed func(t *testing.T, raw *sql.DB)) {
	s := open(t)
	m := newMailbox(t, s, "Indexed Later")
	inbox := mustInbox(t, s, m.ID)
	var want []uint32
	for i := range 41 {
		subj := fmt.Sprintf("filler %d", i)
		if i%20 == 0 {
			subj = fmt.Sprintf("Old NEEDLE %d", i)
		}
		uid := deliverTo(t, s, inbox, "Subject: "+subj+"\r\n\r\nx\r\n")
		if i%20 == 0 {
			want = append(want, uid)
		}
	}
	s.Close()
	for _, q := range append(undo, `DELETE FROM schema_migrations WHERE version = 16`) {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s = open(t)
	indexed(t, raw)
	if got, err := s.SearchSummary(ctx, inbox, all(), "subject", "needle"); err != nil || !slices.Equal(got, want) {
		t.Errorf("search after the migration: got %v, %v; want %v", got, err, want)
	}
	// and the index follows new deliveries after the migration
	want = append(want, deliverTo(t, s, inbox, "Subject: new needle\r\n\r\nx\r\n"))
	if got, err := s.SearchSummary(ctx, inbox, all(), "subject", "needle"); err != nil || !slices.Equal(got, want) {
		t.Errorf("search after a delivery: got %v, %v; want %v", got, err, want)
	}
}
