package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
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
// EXPUNGE, and checks what each wrote. A STORE without keywords and an
// EXPUNGE are one pipeline sent with its COMMIT (changes 25, 26 and 51 of
// docs/performance.md); a STORE that adds or removes flags other than
// \Seen over more UID ranges than that pipeline takes is a pipeline and
// its COMMIT (change 15). pgx prepares a
// statement text on a connection the first time it sends it, a round trip
// of its own that the tracer does not see.
func TestWriteRoundTrips(t *testing.T) {
	ctx := context.Background()
	trace := &roundTrips{}
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 4, BodyGrace: -1, Tracer: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, inbox := newMailbox(t, s, "Trips")
	for i := range 8 {
		raw := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, _, err := s.Append(ctx, inbox.ID, store.NewMessage{Raw: []byte(raw), Structure: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	one := func(lo, hi uint32) []store.UIDRange { return []store.UIDRange{{Start: lo, Stop: hi}} }
	before, _ := s.FolderByID(ctx, inbox.ID)
	store1 := func(up store.FlagUpdate) *store.FlagUpdate { return &up }
	steps := []struct {
		name        string
		store       *store.FlagUpdate // a STORE; nil: an EXPUNGE
		uids        []store.UIDRange  // of the EXPUNGE; nil: all
		deletedOnly bool
		want        string // what the step returned
		trips       int
	}{
		{name: "STORE +FLAGS \\Flagged", store: store1(store.FlagUpdate{UIDs: one(1, 2), Op: store.FlagsAdd, Flags: store.FlagFlagged}),
			want: "1:1/4 2:1/4", trips: 1},
		{name: "STORE +FLAGS \\Flagged, nothing to change", store: store1(store.FlagUpdate{UIDs: one(1, 2), Op: store.FlagsAdd, Flags: store.FlagFlagged}),
			want: "", trips: 1},
		{name: "STORE +FLAGS \\Seen", store: store1(store.FlagUpdate{UIDs: one(2, 4), Op: store.FlagsAdd, Flags: store.FlagSeen}),
			want: "2:2/5 3:2/1 4:2/1", trips: 1},
		{name: "STORE -FLAGS \\Seen \\Flagged", store: store1(store.FlagUpdate{UIDs: one(1, 3), Op: store.FlagsRemove, Flags: store.FlagSeen | store.FlagFlagged}),
			want: "1:3/0 2:3/0 3:3/0", trips: 1},
		{name: "STORE FLAGS (\\Seen \\Answered)", store: store1(store.FlagUpdate{UIDs: []store.UIDRange{{Start: 4, Stop: 4}, {Start: 6, Stop: 6}},
			Op: store.FlagsReplace, Flags: store.FlagSeen | store.FlagAnswered}),
			want: "4:4/3 6:4/3", trips: 1},
		{name: "STORE +FLAGS \\Seen, nothing to change", store: store1(store.FlagUpdate{UIDs: one(4, 4), Op: store.FlagsAdd, Flags: store.FlagSeen}),
			want: "", trips: 1},
		{name: "STORE (UNCHANGEDSINCE) +FLAGS \\Deleted", store: store1(store.FlagUpdate{UIDs: one(3, 8), Op: store.FlagsAdd, Flags: store.FlagDeleted,
			UnchangedSince: before.HighestModSeq + 3}),
			want: "3:5/8 5:5/8 7:5/8 8:5/8 refused 4 6", trips: 1},
		{name: "EXPUNGE", deletedOnly: true, want: "[3 5 7 8]", trips: 1},
		{name: "UID EXPUNGE 1,3", uids: []store.UIDRange{{Start: 1, Stop: 1}, {Start: 3, Stop: 3}}, want: "[1]", trips: 1},
		{name: "EXPUNGE, nothing to expunge", deletedOnly: true, want: "[]", trips: 1},
	}
	for _, st := range steps {
		trace.take()
		var got string
		var err error
		if st.store != nil {
			var ch []store.MessageFlags
			var refused []uint32
			ch, refused, err = s.StoreFlags(ctx, inbox.ID, *st.store)
			got = changes(ch, refused)
		} else {
			var gone []uint32
			gone, err = s.Expunge(ctx, inbox.ID, st.uids, st.deletedOnly)
			got = fmt.Sprint(gone)
		}
		sent := trace.take()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// MODSEQs are written relative to the folder's before the steps.
		if want := relative(st.want, before.HighestModSeq); got != want {
			t.Errorf("%s: got %q; want %q", st.name, got, want)
		}
		if len(sent) != st.trips {
			t.Errorf("%s: %d round trips; want %d:\n%s", st.name, len(sent), st.trips, strings.Join(sent, "\n"))
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
	// Flags added to more UID ranges than one pipeline takes.
	many := []store.UIDRange{{Start: 2, Stop: 2}}
	for u := uint32(10_000); len(many) < 9*200+1; u += 2 {
		many = append(many, store.UIDRange{Start: u, Stop: u})
	}
	trace.take()
	ch, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: many, Op: store.FlagsAdd, Flags: store.FlagAnswered})
	sent := trace.take()
	if want := fmt.Sprintf("2:%d/%d", before.HighestModSeq+8, store.FlagAnswered); err != nil || changes(ch, nil) != want {
		t.Errorf("STORE +FLAGS \\Answered over %d ranges: %q, %v; want %q", len(many), changes(ch, nil), err, want)
	}
	if len(sent) != 2 {
		t.Errorf("STORE +FLAGS \\Answered over %d ranges: %d round trips; want 2", len(many), len(sent))
	}
}

// newMailbox makes a mailbox named name in s and returns it with its
// INBOX.
func newMailbox(t *testing.T, s store.Store, name string) (store.Mailbox, store.Folder) {
	t.Helper()
	ctx := context.Background()
	alias := strings.ToLower(name)
	m := store.Mailbox{Name: name, DisplayName: name, Alias: alias, PrimarySmtpAddress: alias + "@contoso.com",
		UserPrincipalName: alias + "@contoso.com", PasswordHash: "x", ImapEnabled: true}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return m, inbox
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

// TestTwoNodesChangeOneFolder races the pipelined STORE (\Seen both ways,
// FLAGS replace, +\Deleted) and EXPUNGE of sessions on two nodes (two
// engines on one database) on one folder. Every STORE that changed
// something took a MODSEQ of its own, the folder's HIGHESTMODSEQ moved by
// exactly one per STORE or EXPUNGE that changed something, each message
// was expunged once and recorded, and the counters equal the rows after
// each round.
func TestTwoNodesChangeOneFolder(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	var nodes [2]store.Store
	for i := range nodes {
		s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 6, BodyGrace: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[i] = s
	}
	m := store.Mailbox{Name: "Race", DisplayName: "Race", Alias: "race", PrimarySmtpAddress: "race@contoso.com",
		UserPrincipalName: "race@contoso.com", PasswordHash: "x", ImapEnabled: true}
	if err := nodes[0].Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	inbox, err := nodes[0].FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const perNode, ops, msgs = 3, 12, 12
	removed := map[uint32]bool{}
	for round := range 4 {
		for i := range msgs {
			raw := fmt.Sprintf("Subject: %d/%d\r\n\r\nbody\r\n", round, i)
			if _, _, err := nodes[i%2].Append(ctx, inbox.ID, store.NewMessage{Raw: []byte(raw), Structure: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		before, err := nodes[0].FolderByID(ctx, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		modseqs := map[uint64]string{}
		var gone []uint32
		var errs []error
		expunges := 0
		took := func(modseq uint64, what string) {
			if other, dup := modseqs[modseq]; dup {
				errs = append(errs, fmt.Errorf("MODSEQ %d taken by %s and by %s", modseq, other, what))
			}
			modseqs[modseq] = what
		}
		var wg sync.WaitGroup
		for w := range 2 * perNode {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				s := nodes[w%2]
				for i := range ops {
					lo := uint32(1 + (w*7+i*5)%(msgs*(round+1)))
					up := store.FlagUpdate{UIDs: []store.UIDRange{{Start: lo, Stop: lo + 3}}}
					what := fmt.Sprintf("session %d op %d", w, i)
					switch (w + i) % 4 {
					case 0:
						up.Op, up.Flags = store.FlagsAdd, store.FlagSeen
					case 1:
						up.Op, up.Flags = store.FlagsRemove, store.FlagSeen|store.FlagFlagged
					case 2:
						up.Op, up.Flags = store.FlagsReplace, store.FlagSeen|store.FlagAnswered
					case 3:
						up.Op, up.Flags = store.FlagsAdd, store.FlagDeleted
						up.UIDs = []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}
					}
					ch, _, err := s.StoreFlags(ctx, inbox.ID, up)
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: store: %w", what, err))
					} else if len(ch) > 0 {
						for _, c := range ch[1:] {
							if c.ModSeq != ch[0].ModSeq {
								errs = append(errs, fmt.Errorf("%s: one STORE, MODSEQs %d and %d", what, ch[0].ModSeq, c.ModSeq))
							}
						}
						took(ch[0].ModSeq, what)
					}
					mu.Unlock()
					if (w+i)%4 != 3 {
						continue
					}
					out, err := s.Expunge(ctx, inbox.ID, nil, true)
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: expunge: %w", what, err))
					} else if len(out) > 0 {
						gone = append(gone, out...)
						expunges++
					}
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
		for _, u := range gone {
			if removed[u] {
				t.Errorf("round %d: UID %d expunged twice", round, u)
			}
			removed[u] = true
		}
		f, idx, err := nodes[1].FolderIndex(ctx, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := f.HighestModSeq-before.HighestModSeq, uint64(len(modseqs)+expunges); got != want {
			t.Errorf("round %d: HIGHESTMODSEQ moved by %d; want %d, one per STORE or EXPUNGE that changed something", round, got, want)
		}
		unseen := 0
		for _, x := range idx {
			if x.Flags&store.FlagSeen == 0 {
				unseen++
			}
		}
		var size int64
		if err := nodes[1].Messages(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, 0, func(mm store.MessageMeta) error {
			size += mm.Size
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if int(f.Messages) != len(idx) || int(f.Unseen) != unseen || f.Size != size {
			t.Fatalf("round %d: counters messages %d, unseen %d, size %d; rows say %d, %d, %d",
				round, f.Messages, f.Unseen, f.Size, len(idx), unseen, size)
		}
		_, _, expunged, err := nodes[0].Changes(ctx, inbox.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(expunged) != len(removed) {
			t.Errorf("round %d: %d expunged records; %d messages expunged", round, len(expunged), len(removed))
		}
	}
}

// openTraced opens a store on a new database, with what it sends recorded
// in trace, and a connection of the test's own to that database.
func openTraced(t *testing.T, maxConns int) (*sqlstore.DB, *roundTrips, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	trace := &roundTrips{}
	s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: maxConns, BodyGrace: -1, Tracer: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.WithoutCancel(ctx)) })
	return s, trace, db
}

// TestNewMailRoundTrips checks how APPEND and delivery commit
// (postgres.durablePipeline, migration 0016): one round trip, whose first
// transaction commits without waiting for the disk and whose second,
// synchronous, writes the server process's own barrier row; and that what
// must stop the commit, checked in SQL since the COMMIT goes with the
// statements, leaves nothing behind: a folder that is gone, a recipient
// that is not there, a quota that the message would exceed.
func TestNewMailRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, trace, db := openTraced(t, 4)
	count := func(q string) (n int64) {
		t.Helper()
		if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	m, inbox := newMailbox(t, s, "New")
	msg := func(i int) store.NewMessage {
		return store.NewMessage{Raw: []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), Structure: []byte("x")}
	}
	oneBatch := func(what string) {
		t.Helper()
		sent := trace.take()
		if len(sent) != 1 || !strings.HasPrefix(sent[0], "batch: BEGIN; SET LOCAL synchronous_commit TO OFF;") ||
			!strings.Contains(sent[0], "; COMMIT; BEGIN; INSERT INTO commit_barriers") || !strings.HasSuffix(sent[0], "; COMMIT") {
			t.Errorf("%s: sent %d round trips; want one batch of a relaxed transaction and a barrier:\n%s", what, len(sent), strings.Join(sent, "\n"))
		}
	}
	// Warm up: pgx prepares a statement text on a connection the first
	// time it sends it, a round trip that the tracer does not see.
	for i := range 4 {
		if _, _, err := s.Append(ctx, inbox.ID, msg(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Deliver(ctx, []int64{m.ID}, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	trace.take()
	if _, uid, err := s.Append(ctx, inbox.ID, msg(10)); err != nil || uid != 9 {
		t.Fatalf("append: UID %d, %v; want 9", uid, err)
	}
	oneBatch("APPEND")
	if d, err := s.Deliver(ctx, []int64{m.ID}, msg(11)); err != nil || len(d) != 1 || d[0].UID != 10 {
		t.Fatalf("deliver: %+v, %v; want UID 10", d, err)
	}
	oneBatch("delivery")
	if n := count(`SELECT count(*) FROM commit_barriers WHERE n > 0`); n == 0 {
		t.Errorf("no barrier row written")
	}

	bodies := count(`SELECT count(*) FROM bodies`)
	after := func(what string) {
		t.Helper()
		if n := count(`SELECT count(*) FROM bodies`); n != bodies {
			t.Errorf("%s left %d bodies; want %d", what, n, bodies)
		}
		if f, err := s.FolderByID(ctx, inbox.ID); err != nil || f.Messages != 10 || f.UIDNext != 11 {
			t.Errorf("%s: INBOX %+v, %v; want 10 messages, UIDNEXT 11", what, f, err)
		}
	}
	if _, _, err := s.Append(ctx, 1<<40, msg(12)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("append to a folder that is not there: %v; want ErrNotFound", err)
	}
	after("an APPEND to a folder that is not there")
	if _, err := s.Deliver(ctx, []int64{m.ID, 1 << 40}, msg(13)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delivery with a recipient that is not there: %v; want ErrNotFound", err)
	}
	after("a delivery with a recipient that is not there")
	if _, err := db.Exec(ctx, `UPDATE mailboxes SET prohibit_send_receive_quota = (SELECT sum(size) + 10 FROM folders WHERE mailbox_id = $1) WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	big := store.NewMessage{Raw: []byte("Subject: big\r\n\r\n" + strings.Repeat("x", 100) + "\r\n"), Structure: []byte("x")}
	var over *sqlstore.OverQuotaError
	if _, _, err := s.Append(ctx, inbox.ID, big); !errors.As(err, &over) || over.MailboxID != m.ID || over.Add != int64(len(big.Raw)) {
		t.Errorf("append beyond the quota: %v; want an OverQuotaError of mailbox %d adding %d", err, m.ID, len(big.Raw))
	}
	after("an APPEND beyond the quota")
	if _, err := s.Deliver(ctx, []int64{m.ID}, big); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("delivery beyond the quota: %v; want ErrOverQuota", err)
	}
	after("a delivery beyond the quota")
}

// TestAppendReadsChanges checks that an APPEND that claims \Recent reads
// the changes its session is to be told of in its own round trip: the
// durable pipeline, then a read-only snapshot taken after the commit
// (postgres.durablePipelineRead); that a failure of that read leaves
// the APPEND stored and answered, with no changes, and the connection
// usable; and that an EXPUNGE reads them in its round trip too
// (postgres.pipelineRead).
func TestAppendReadsChanges(t *testing.T) {
	ctx := context.Background()
	s, trace, db := openTraced(t, 2)
	_, inbox := newMailbox(t, s, "Poll")
	msg := func(i int) store.NewMessage {
		return store.NewMessage{Raw: []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), Structure: []byte("x")}
	}
	for i := range 3 { // warm up: pgx prepares each text once, unseen by the tracer
		if _, err := s.AppendClaimingRecent(ctx, inbox.ID, msg(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 1, Stop: 1}}, Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	before, err := s.FolderByID(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	trace.take()
	r, err := s.AppendClaimingRecent(ctx, inbox.ID, msg(3), before.HighestModSeq)
	if err != nil || r.UID != 4 || r.First != 4 || r.Next != 5 {
		t.Fatalf("append: %+v, %v; want UID 4, claim 4..5", r, err)
	}
	sent := trace.take()
	if len(sent) != 1 || !strings.Contains(sent[0], "; COMMIT; BEGIN; INSERT INTO commit_barriers") ||
		!strings.Contains(sent[0], "; COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT") || !strings.HasSuffix(sent[0], "; COMMIT") {
		t.Errorf("sent %d round trips; want one batch: the APPEND, its barrier, the read:\n%s", len(sent), strings.Join(sent, "\n"))
	}
	if r.Changes == nil {
		t.Fatal("no changes read with the APPEND")
	}
	if got := r.Changes; got.Folder.UIDNext != 5 || got.Folder.Messages != 3 || len(got.Changed) != 1 || got.Changed[0].UID != 4 ||
		!slices.Equal(got.Expunged, []uint32{1}) {
		t.Errorf("changes read with the APPEND: %+v; want UIDNEXT 5, 3 messages, UID 4 new, UID 1 expunged", *got)
	}

	// The read fails (a table it reads is gone): the APPEND stands.
	if _, err := db.Exec(ctx, `ALTER TABLE expunged RENAME TO expunged_away`); err != nil {
		t.Fatal(err)
	}
	r, err = s.AppendClaimingRecent(ctx, inbox.ID, msg(4), 0)
	if err != nil || r.UID != 5 || r.Changes != nil {
		t.Errorf("append whose read fails: %+v, %v; want UID 5 and no changes", r, err)
	}
	if _, err := db.Exec(ctx, `ALTER TABLE expunged_away RENAME TO expunged`); err != nil {
		t.Fatal(err)
	}
	if f, err := s.FolderByID(ctx, inbox.ID); err != nil || f.Messages != 4 || f.UIDNext != 6 {
		t.Errorf("INBOX after the APPENDs: %+v, %v; want 4 messages, UIDNEXT 6", f, err)
	}
	// The pool still works.
	if r, err := s.AppendClaimingRecent(ctx, inbox.ID, msg(5), 0); err != nil || r.UID != 6 || r.Changes == nil {
		t.Errorf("append after the failed read: %+v, %v; want UID 6 with changes", r, err)
	}

	// An EXPUNGE reads them the same way, after its relaxed commit.
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 6, Stop: 6}}, Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first sends its texts once to prepare them
		trace.take()
		removed, ch, err := s.ExpungeChanges(ctx, inbox.ID, nil, 0)
		if err != nil || ch == nil || !slices.Contains(ch.Expunged, 6) || ch.Folder.Messages != 4 {
			t.Fatalf("expunge: %v, %+v, %v; want UID 6 expunged, read with it", removed, ch, err)
		}
	}
	sent = trace.take()
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "batch: BEGIN;") ||
		!strings.Contains(sent[0], "; COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT") || !strings.HasSuffix(sent[0], "; COMMIT") {
		t.Errorf("EXPUNGE: sent %d round trips; want one batch: the EXPUNGE, the read:\n%s", len(sent), strings.Join(sent, "\n"))
	}
}

// TestCopyRoundTrips checks that a COPY and a MOVE are each one durable
// pipeline (sqlstore.copyPipelined, movePipelined): one round trip, with what copyMessages checks
// between its statements checked in SQL, each refusal leaving nothing
// behind (a folder that is gone, a quota the copy would exceed); and that a
// UID set of more ranges than one statement takes is still copied whole,
// statement by statement.
func TestCopyRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, trace, db := openTraced(t, 4)
	m, inbox := newMailbox(t, s, "Copier")
	arch, err := s.FolderByName(ctx, m.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		raw := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, _, err := s.Append(ctx, inbox.ID, store.NewMessage{Raw: []byte(raw), Structure: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 2}}, Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	folders := func() (store.Folder, store.Folder) {
		t.Helper()
		fi, err := s.FolderByID(ctx, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		fa, err := s.FolderByID(ctx, arch.ID)
		if err != nil {
			t.Fatal(err)
		}
		return fi, fa
	}
	_, a0 := folders()
	for i := range 2 { // the first sends its texts once to prepare them
		trace.take()
		res, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 3}}, arch.ID)
		sent := trace.take()
		first := uint32(1 + 3*i)
		if err != nil || res.UIDValidity != arch.UIDValidity || !slices.Equal(res.SrcUIDs, []uint32{1, 2, 3}) ||
			!slices.Equal(res.DstUIDs, []uint32{first, first + 1, first + 2}) {
			t.Fatalf("copy %d: %+v, %v; want UIDs 1:3 as %d:%d", i, res, err, first, first+2)
		}
		if i == 1 && (len(sent) != 1 || !strings.HasPrefix(sent[0], "batch: BEGIN;") || !strings.HasSuffix(sent[0], "; COMMIT")) {
			t.Errorf("COPY: sent %d round trips; want one batch:\n%s", len(sent), strings.Join(sent, "\n"))
		}
	}
	_, fa := folders()
	if fa.Messages != 6 || fa.Unseen != 4 || fa.UIDNext != 7 || fa.HighestModSeq != a0.HighestModSeq+2 {
		t.Errorf("Archive after two COPYs: %+v; want 6 messages, 4 unseen, UIDNEXT 7, HIGHESTMODSEQ %d", fa, a0.HighestModSeq+2)
	}
	var rows, sum int64
	if err := db.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE folder_id = $1`, arch.ID).Scan(&rows, &sum); err != nil {
		t.Fatal(err)
	}
	if rows != 6 || sum != fa.Size {
		t.Errorf("Archive holds %d messages of %d octets; its row says %d of %d", rows, sum, fa.Messages, fa.Size)
	}
	// Into the folder itself, and a set that matches nothing.
	if res, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 6, Stop: 6}}, inbox.ID); err != nil || !slices.Equal(res.DstUIDs, []uint32{7}) {
		t.Errorf("copy into the INBOX itself: %+v, %v; want UID 7", res, err)
	}
	_, before := folders()
	if res, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 100, Stop: 200}}, arch.ID); err != nil || len(res.SrcUIDs) != 0 {
		t.Errorf("copy of no message: %+v, %v; want nothing copied", res, err)
	}
	if _, fa := folders(); fa != before {
		t.Errorf("a copy of no message changed the Archive: %+v; was %+v", fa, before)
	}
	// Refusals leave nothing behind.
	if _, err := db.Exec(ctx, `UPDATE mailboxes SET prohibit_send_receive_quota = (SELECT sum(size) + 10 FROM folders WHERE mailbox_id = $1) WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	var over *sqlstore.OverQuotaError
	if _, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 3}}, arch.ID); !errors.As(err, &over) || over.MailboxID != m.ID || over.Add != 3*int64(len("Subject: 0\r\n\r\nbody 0\r\n")) {
		t.Errorf("copy beyond the quota: %v; want an OverQuotaError of mailbox %d", err, m.ID)
	}
	if _, fa := folders(); fa != before {
		t.Errorf("a refused copy changed the Archive: %+v; was %+v", fa, before)
	}
	if _, err := db.Exec(ctx, `UPDATE mailboxes SET prohibit_send_receive_quota = NULL WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 1}}, arch.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("copy to a folder that is not there: %v; want ErrNotFound", err)
	}
	// A MOVE is one round trip too: the rows keep their IDs, the source
	// records them expunged, both folders' counters follow.
	_, a1 := folders()
	var ids []int64
	for _, uid := range []uint32{1, 2} {
		var id int64
		if err := db.QueryRow(ctx, `SELECT id FROM messages WHERE folder_id = $1 AND uid = $2`, arch.ID, uid).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := range 2 {
		trace.take()
		res, err := s.Move(ctx, arch.ID, []store.UIDRange{{Start: uint32(1 + 2*i), Stop: uint32(2 + 2*i)}}, inbox.ID)
		sent := trace.take()
		if err != nil || len(res.DstUIDs) != 2 || res.DstUIDs[0] != uint32(8+2*i) || res.UIDValidity != inbox.UIDValidity {
			t.Fatalf("move %d: %+v, %v; want two messages as UIDs %d, %d", i, res, err, 8+2*i, 9+2*i)
		}
		if i == 1 && len(sent) != 1 {
			t.Errorf("MOVE: sent %d round trips; want one batch:\n%s", len(sent), strings.Join(sent, "\n"))
		}
	}
	for i, id := range ids {
		var folder int64
		var uid uint32
		if err := db.QueryRow(ctx, `SELECT folder_id, uid FROM messages WHERE id = $1`, id).Scan(&folder, &uid); err != nil || folder != inbox.ID || uid != uint32(8+i) {
			t.Errorf("moved message %d: folder %d, UID %d, %v; want the INBOX's UID %d", id, folder, uid, err, 8+i)
		}
	}
	fi, fa := folders()
	if fa.Messages != a1.Messages-4 || fa.HighestModSeq != a1.HighestModSeq+2 || fi.UIDNext != 12 {
		t.Errorf("after two MOVEs: Archive %+v (was %+v), INBOX %+v; want 4 messages fewer, HIGHESTMODSEQ +2, INBOX UIDNEXT 12", fa, a1, fi)
	}
	if _, _, expunged, err := s.Changes(ctx, arch.ID, a1.HighestModSeq); err != nil || !slices.Equal(expunged, []uint32{1, 2, 3, 4}) {
		t.Errorf("expunged from the Archive by the MOVEs: %v, %v; want 1:4", expunged, err)
	}
	for _, f := range []store.Folder{fi, fa} {
		var rows, sum, unseen int64
		if err := db.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0), count(*) FILTER (WHERE flags & $2 = 0) FROM messages WHERE folder_id = $1`, f.ID, int64(store.FlagSeen)).Scan(&rows, &sum, &unseen); err != nil {
			t.Fatal(err)
		}
		if rows != int64(f.Messages) || sum != f.Size || unseen != int64(f.Unseen) {
			t.Errorf("%s holds %d messages of %d octets, %d unseen; its row says %+v", f.Name, rows, sum, unseen, f)
		}
	}

	// More ranges than one statement takes: every other UID of 1..450 of
	// a folder whose messages are 1..11.
	var many []store.UIDRange
	for u := uint32(1); u <= 450; u += 2 {
		many = append(many, store.UIDRange{Start: u, Stop: u})
	}
	if res, err := s.Copy(ctx, inbox.ID, many, arch.ID); err != nil || !slices.Equal(res.SrcUIDs, []uint32{1, 3, 5, 7, 9, 11}) || len(res.DstUIDs) != 6 {
		t.Errorf("copy over %d ranges: %+v, %v; want UIDs 1, 3, 5, 7, 9, 11", len(many), res, err)
	}
	if res, err := s.Move(ctx, inbox.ID, many, arch.ID); err != nil || !slices.Equal(res.SrcUIDs, []uint32{1, 3, 5, 7, 9, 11}) || len(res.DstUIDs) != 6 {
		t.Errorf("move over %d ranges: %+v, %v; want UIDs 1, 3, 5, 7, 9, 11", len(many), res, err)
	}
	// Within one folder a MOVE goes statement by statement too.
	if res, err := s.Move(ctx, inbox.ID, []store.UIDRange{{Start: 2, Stop: 2}}, inbox.ID); err != nil || !slices.Equal(res.DstUIDs, []uint32{12}) {
		t.Errorf("move within the INBOX: %+v, %v; want UID 12", res, err)
	}
}
