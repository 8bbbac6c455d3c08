package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// roundTrips records what the engine sends to the server: a statement sent
// alone is one round trip, and so is a batch.
type roundTrips struct {
	mu   sync.Mutex
	sent []string
}

func (r *roundTrips) add(s string) {
	r.mu.Lock()
	r.sent = append(r.sent, strings.Join(strings.Fields(s), " "))
	r.mu.Unlock()
}

// take returns what was sent since the last take.
func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sent
	r.sent = nil
	return out
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var qs []string
	for _, q := range d.Batch.QueuedQueries {
		qs = append(qs, q.SQL)
	}
	r.add("batch: " + strings.Join(qs, "; "))
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestWriteRoundTrips counts the round trips of each kind of STORE and
// EXPUNGE: each is one pipelined transaction sent with its COMMIT
// (docs/performance.md, changes 25 and 26), and what it wrote is checked
// against the folder.
func TestWriteRoundTrips(t *testing.T) {
	ctx := context.Background()
	trace := &roundTrips{}
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 4, BodyGrace: -1, Tracer: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := store.Mailbox{Name: "Trips", DisplayName: "Trips", Alias: "trips", PrimarySmtpAddress: "trips@contoso.com",
		UserPrincipalName: "trips@contoso.com", PasswordHash: "x", ImapEnabled: true}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		raw := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, _, err := s.Append(ctx, inbox.ID, store.NewMessage{Raw: []byte(raw), Structure: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	one := func(lo, hi uint32) []store.UIDRange { return []store.UIDRange{{Start: lo, Stop: hi}} }
	before, _ := s.FolderByID(ctx, inbox.ID)
	steps := []struct {
		name string
		do   func() (string, error)
		want string // what the step returned
	}{
		{"STORE +FLAGS \\Flagged", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: one(1, 2), Op: store.FlagsAdd, Flags: store.FlagFlagged})
			return changes(ch, ref), err
		}, "1:1/4 2:1/4"},
		{"STORE +FLAGS \\Seen", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: one(2, 4), Op: store.FlagsAdd, Flags: store.FlagSeen})
			return changes(ch, ref), err
		}, "2:2/5 3:2/1 4:2/1"},
		{"STORE -FLAGS \\Seen \\Flagged", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: one(1, 3), Op: store.FlagsRemove, Flags: store.FlagSeen | store.FlagFlagged})
			return changes(ch, ref), err
		}, "1:3/0 2:3/0 3:3/0"},
		{"STORE FLAGS (\\Seen \\Answered)", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 4, Stop: 4}, {Start: 6, Stop: 6}},
				Op: store.FlagsReplace, Flags: store.FlagSeen | store.FlagAnswered})
			return changes(ch, ref), err
		}, "4:4/3 6:4/3"},
		{"STORE +FLAGS \\Seen, nothing to change", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: one(4, 4), Op: store.FlagsAdd, Flags: store.FlagSeen})
			return changes(ch, ref), err
		}, ""},
		{"STORE (UNCHANGEDSINCE) +FLAGS \\Deleted", func() (string, error) {
			ch, ref, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: one(3, 8), Op: store.FlagsAdd, Flags: store.FlagDeleted,
				UnchangedSince: before.HighestModSeq + 3})
			return changes(ch, ref), err
		}, "3:5/8 5:5/8 7:5/8 8:5/8 refused 4 6"},
		{"EXPUNGE", func() (string, error) {
			gone, err := s.Expunge(ctx, inbox.ID, nil, true)
			return fmt.Sprint(gone), err
		}, "[3 5 7 8]"},
		{"UID EXPUNGE 1,3", func() (string, error) {
			gone, err := s.Expunge(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 1}, {Start: 3, Stop: 3}}, false)
			return fmt.Sprint(gone), err
		}, "[1]"},
		{"EXPUNGE, nothing to expunge", func() (string, error) {
			gone, err := s.Expunge(ctx, inbox.ID, nil, true)
			return fmt.Sprint(gone), err
		}, "[]"},
	}
	for _, st := range steps {
		trace.take()
		got, err := st.do()
		sent := trace.take()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// MODSEQs are written relative to the folder's before the steps.
		if want := relative(st.want, before.HighestModSeq); got != want {
			t.Errorf("%s: got %q; want %q", st.name, got, want)
		}
		if len(sent) != 1 {
			t.Errorf("%s: %d round trips; want 1:\n%s", st.name, len(sent), strings.Join(sent, "\n"))
		}
	}
	f, idx, err := s.FolderIndex(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	unseen := 0
	for _, x := range idx {
		if x.Flags&store.FlagSeen == 0 {
			unseen++
		}
	}
	if f.Messages != 3 || int(f.Unseen) != unseen || unseen != 1 || f.HighestModSeq != before.HighestModSeq+7 {
		t.Errorf("folder after the steps: %d messages, %d unseen (index: %d), HIGHESTMODSEQ %d; want 3, 1, %d",
			f.Messages, f.Unseen, unseen, f.HighestModSeq, before.HighestModSeq+7)
	}
	_, _, expunged, err := s.Changes(ctx, inbox.ID, before.HighestModSeq+5)
	if err != nil || !slices.Equal(expunged, []uint32{1, 3, 5, 7, 8}) {
		t.Errorf("expunged since the STOREs: %v, %v; want [1 3 5 7 8]", expunged, err)
	}
}

// changes writes a STORE's result as "uid:modseq/flags ... refused uid ...".
func changes(ch []store.MessageFlags, refused []uint32) string {
	var parts []string
	for _, m := range ch {
		parts = append(parts, fmt.Sprintf("%d:%d/%d", m.UID, m.ModSeq, m.Flags))
	}
	if len(refused) > 0 {
		parts = append(parts, "refused")
		for _, u := range refused {
			parts = append(parts, fmt.Sprint(u))
		}
	}
	return strings.Join(parts, " ")
}

// relative adds base to each MODSEQ (the number after a colon) of s.
func relative(s string, base uint64) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		uid, rest, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		var n uint64
		var flags string
		if _, err := fmt.Sscanf(rest, "%d/%s", &n, &flags); err == nil {
			fields[i] = fmt.Sprintf("%s:%d/%s", uid, base+n, flags)
		}
	}
	return strings.Join(fields, " ")
}
