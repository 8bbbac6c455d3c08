package storetest

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// RunMailboxWordsMigration checks migration 0020 on an engine: the rows its
// recursive query makes in mailbox_words for the mailboxes there are equal
// those the store writes with each mailbox (sqlstore.searchWords), for
// values with every kind of word start, repeated separators, letters
// outside ASCII and texts longer than the table keeps; and the search finds
// by them after the upgrade. open opens the store (again) on one database;
// raw reaches it directly.
func RunMailboxWordsMigration(t *testing.T, open func(t *testing.T) store.Store, raw *sql.DB) {
	s := open(t)
	newMailbox(t, s, "Zoë  Ünal", "ZOE+lists@Fabrikam.example", "-zoe_u@tailspin.example")
	newMailbox(t, s, "Maximilian Alexander Wolfeschlegelsteinhausen-Bergerdorff.")
	renamed := newMailbox(t, s, "Old Name")
	renamed.Name, renamed.DisplayName, renamed.Alias = "Pilar Ackerman", "Pilar  Ackerman (Sales)", "pilar"
	renamed.PrimarySmtpAddress, renamed.EmailAddresses = "pilar@contoso.com", []string{"p.a@contoso.com", "PILAR@contoso.com"}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, renamed) }); err != nil {
		t.Fatal(err)
	}
	gone := newMailbox(t, s, "Gone Soon")
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, gone.ID) }); err != nil {
		t.Fatal(err)
	}
	written := mailboxWords(t, raw)
	if len(written) == 0 {
		t.Fatal("no rows in mailbox_words after creating mailboxes")
	}
	s.Close()
	for _, q := range []string{`DROP TABLE mailbox_words`, `DELETE FROM schema_migrations WHERE version = 20`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s = open(t)
	if migrated := mailboxWords(t, raw); !slices.Equal(migrated, written) {
		t.Errorf("mailbox_words made by the migration:\n%q\nwant what the store wrote:\n%q", migrated, written)
	}
	// Repair's own query agrees with both.
	if missing, extra, err := s.RepairSearchWords(ctx, false); err != nil || missing != 0 || extra != 0 {
		t.Errorf("RepairSearchWords after the migration: %d missing, %d extra, %v; want none", missing, extra, err)
	}
	for text, want := range map[string][]string{
		"ackerman (s": {"Pilar Ackerman"},
		"lists@fab":   {"Zoë  Ünal"},
		"zoe_u":       {"Zoë  Ünal"},
		"u@tailspin":  {"Zoë  Ünal"},
		"old":         nil,
		"gone":        nil,
		"bergerdorff": {"Maximilian Alexander Wolfeschlegelsteinhausen-Bergerdorff."},
	} {
		if got, _ := list(t, s, store.MailboxQuery{Search: text}); !slices.Equal(got, want) {
			t.Errorf("search %q after the migration: got %v; want %v", text, got, want)
		}
	}
}

// mailboxWords returns mailbox_words' rows as "mailbox id: word", sorted.
func mailboxWords(t *testing.T, raw *sql.DB) []string {
	t.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT word, mailbox_id FROM mailbox_words`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		var id int64
		if err := rows.Scan(&w, &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d: %s", id, w))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// RunSearchWordsRepair checks Store.RepairSearchWords on an engine: a
// healthy store has nothing to repair; rows removed and added behind the
// store's back (raw) are counted, left alone by a check, and set right by
// a repair, after which the search finds by them again.
func RunSearchWordsRepair(t *testing.T, s store.Store, raw *sql.DB) {
	m := newMailbox(t, s, "Repair Words", "rw.extra@fabrikam.example")
	newMailbox(t, s, "Other Words")
	if missing, extra, err := s.RepairSearchWords(ctx, false); err != nil || missing != 0 || extra != 0 {
		t.Fatalf("check of a healthy store: %d missing, %d extra, %v; want none", missing, extra, err)
	}
	for _, q := range []string{
		fmt.Sprintf(`DELETE FROM mailbox_words WHERE mailbox_id = %d AND word IN ('fabrikam.example', 'words')`, m.ID),
		fmt.Sprintf(`INSERT INTO mailbox_words (word, mailbox_id) VALUES ('stale name', %d)`, m.ID),
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got, _ := list(t, s, store.MailboxQuery{Search: "fabrikam"}); got != nil {
		t.Fatalf("search with the words removed: got %v; want nothing (the setup did not take)", got)
	}
	for _, fix := range []bool{false, false, true} {
		missing, extra, err := s.RepairSearchWords(ctx, fix)
		if err != nil || missing != 2 || extra != 1 {
			t.Errorf("RepairSearchWords(fix=%v): %d missing, %d extra, %v; want 2 and 1", fix, missing, extra, err)
		}
	}
	if missing, extra, err := s.RepairSearchWords(ctx, false); err != nil || missing != 0 || extra != 0 {
		t.Errorf("check after the repair: %d missing, %d extra, %v; want none", missing, extra, err)
	}
	for text, want := range map[string][]string{
		"fabrikam": {"Repair Words"},
		"words":    {"Other Words", "Repair Words"},
		"stale":    nil,
	} {
		if got, _ := list(t, s, store.MailboxQuery{Search: text}); !slices.Equal(got, want) {
			t.Errorf("search %q after the repair: got %v; want %v", text, got, want)
		}
	}
}
