package storetest

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// checkFolder checks the invariants of one folder against its rows:
// counters = rows, UIDNEXT above every UID (present or expunged),
// HIGHESTMODSEQ at least every MODSEQ, and Repair finding nothing.
func checkFolder(t *testing.T, s store.Store, folderID int64) {
	t.Helper()
	f, idx, err := s.FolderIndex(ctx, folderID)
	if err != nil {
		t.Fatalf("folder %d: %v", folderID, err)
	}
	var size int64
	unseen := 0
	maxUID, maxModSeq := uint32(0), uint64(0)
	for _, m := range idx {
		if m.Flags&store.FlagSeen == 0 {
			unseen++
		}
		maxUID = max(maxUID, m.UID)
		maxModSeq = max(maxModSeq, m.ModSeq)
	}
	err = s.Messages(ctx, folderID, all(), 0, func(m store.MessageMeta) error {
		size += m.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, expunged, err := s.Changes(ctx, folderID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range expunged {
		maxUID = max(maxUID, u)
	}
	if int(f.Messages) != len(idx) || int(f.Unseen) != unseen || f.Size != size {
		t.Errorf("folder %s: counters messages=%d unseen=%d size=%d; rows say %d, %d, %d",
			f.Name, f.Messages, f.Unseen, f.Size, len(idx), unseen, size)
	}
	if f.UIDNext <= maxUID {
		t.Errorf("folder %s: UIDNEXT %d not above UID %d", f.Name, f.UIDNext, maxUID)
	}
	if f.HighestModSeq < maxModSeq {
		t.Errorf("folder %s: HIGHESTMODSEQ %d below a message's MODSEQ %d", f.Name, f.HighestModSeq, maxModSeq)
	}
	for _, m := range idx {
		if slices.Contains(expunged, m.UID) {
			t.Errorf("folder %s: UID %d both present and expunged", f.Name, m.UID)
		}
	}
}

// writerModel is what the writers of testConcurrentWriters learned from the
// store: every UID a folder ever gave out and every UID reported removed.
type writerModel struct {
	mu       sync.Mutex
	given    map[int64][]uint32 // folder → UIDs given out (APPEND, delivery, COPY, MOVE)
	removed  map[int64][]uint32 // folder → UIDs reported removed (EXPUNGE, MOVE source)
	failures []string
}

func (m *writerModel) add(where map[int64][]uint32, folder int64, uids ...uint32) {
	m.mu.Lock()
	where[folder] = append(where[folder], uids...)
	m.mu.Unlock()
}

func (m *writerModel) fail(format string, args ...any) {
	m.mu.Lock()
	m.failures = append(m.failures, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// testConcurrentWriters races deliveries, APPEND, STORE (+\Deleted, \Seen,
// keywords), EXPUNGE, UID EXPUNGE, COPY and MOVE (both ways) on two folders
// of one mailbox, in rounds, and checks after each round that the counters
// equal the rows, that every UID that was given out is either present or
// recorded as expunged, that no UID was reported removed twice, and that
// every removal reported is recorded (QRESYNC VANISHED and other sessions'
// EXPUNGE come from those records).
func testConcurrentWriters(t *testing.T, s store.Store) {
	mb := newMailbox(t, s, "Race Folder")
	inbox := mustInbox(t, s, mb.ID)
	other, err := s.CreateFolder(ctx, mb.ID, "Race Other", "")
	if err != nil {
		t.Fatal(err)
	}
	folders := []int64{inbox, other.ID}
	model := &writerModel{given: map[int64][]uint32{}, removed: map[int64][]uint32{}}
	const workers, rounds, ops = 6, 4, 25
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(seed, uint64(round)))
				for i := 0; i < ops; i++ {
					raceOp(s, model, rnd, mb.ID, folders)
				}
			}(uint64(w))
		}
		wg.Wait()
		for _, f := range model.failures {
			t.Error(f)
		}
		if len(model.failures) > 0 {
			t.FailNow()
		}
		for _, f := range folders {
			checkFolder(t, s, f)
			checkModel(t, s, model, f)
		}
		if t.Failed() {
			t.Fatalf("invariants broken after round %d", round)
		}
	}
	rep, err := s.Repair(ctx, false)
	if err != nil || !rep.OK() {
		t.Errorf("Repair after the race: %+v, %v; want nothing wrong", rep, err)
	}
}

// raceOp does one random write, recording what the store answered.
func raceOp(s store.Store, m *writerModel, rnd *rand.Rand, mailbox int64, folders []int64) {
	f := folders[rnd.IntN(len(folders))]
	g := folders[1-slices.Index(folders, f)]
	some := func() []store.UIDRange {
		lo := uint32(rnd.IntN(40) + 1)
		return []store.UIDRange{{Start: lo, Stop: lo + uint32(rnd.IntN(8))}}
	}
	switch op := rnd.IntN(10); op {
	case 0, 1:
		d, err := s.Deliver(ctx, []int64{mailbox}, parsedMessage(fmt.Sprintf("Subject: delivered %d\r\n\r\nbody\r\n", rnd.Int())))
		if err != nil {
			m.fail("deliver: %v", err)
			return
		}
		m.add(m.given, d[0].FolderID, d[0].UID)
	case 2:
		_, uid, err := s.Append(ctx, f, parsedMessage(fmt.Sprintf("Subject: appended %d\r\n\r\nbody\r\n", rnd.Int())))
		if err != nil {
			m.fail("append: %v", err)
			return
		}
		m.add(m.given, f, uid)
	case 3, 4:
		if _, _, err := s.StoreFlags(ctx, f, store.FlagUpdate{UIDs: all(), Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
			m.fail("store +deleted: %v", err)
		}
	case 5:
		fl := store.FlagSeen
		op := store.FlagsAdd
		if rnd.IntN(2) == 0 {
			op = store.FlagsRemove
		}
		if _, _, err := s.StoreFlags(ctx, f, store.FlagUpdate{UIDs: some(), Op: op, Flags: fl, Keywords: []string{"$Label1"}}); err != nil {
			m.fail("store seen: %v", err)
		}
	case 6, 7:
		var uids []store.UIDRange
		if op == 7 {
			uids = some() // UID EXPUNGE
		}
		gone, err := s.Expunge(ctx, f, uids, true)
		if err != nil {
			m.fail("expunge: %v", err)
			return
		}
		m.add(m.removed, f, gone...)
	case 8:
		res, err := s.Move(ctx, f, some(), g)
		if err != nil {
			m.fail("move: %v", err)
			return
		}
		if len(res.SrcUIDs) != len(res.DstUIDs) {
			m.fail("move answered %d source and %d destination UIDs", len(res.SrcUIDs), len(res.DstUIDs))
		}
		m.add(m.removed, f, res.SrcUIDs...)
		m.add(m.given, g, res.DstUIDs...)
	case 9:
		res, err := s.Copy(ctx, f, some(), g)
		if err != nil {
			m.fail("copy: %v", err)
			return
		}
		m.add(m.given, g, res.DstUIDs...)
	}
}

// checkModel compares the folder with what the writers were told.
func checkModel(t *testing.T, s store.Store, m *writerModel, folderID int64) {
	t.Helper()
	_, idx, err := s.FolderIndex(ctx, folderID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, expunged, err := s.Changes(ctx, folderID, 0)
	if err != nil {
		t.Fatal(err)
	}
	present := map[uint32]bool{}
	for _, x := range idx {
		present[x.UID] = true
	}
	recorded := map[uint32]bool{}
	for _, u := range expunged {
		recorded[u] = true
	}
	given := map[uint32]bool{}
	for _, u := range m.given[folderID] {
		if given[u] {
			t.Errorf("folder %d: UID %d given out twice", folderID, u)
		}
		given[u] = true
		if present[u] == recorded[u] {
			t.Errorf("folder %d: UID %d given out is present=%v, recorded expunged=%v; want exactly one", folderID, u, present[u], recorded[u])
		}
	}
	for u := range present {
		if !given[u] {
			t.Errorf("folder %d: UID %d present but never given out", folderID, u)
		}
	}
	removed := map[uint32]bool{}
	for _, u := range m.removed[folderID] {
		if removed[u] {
			t.Errorf("folder %d: UID %d reported removed twice", folderID, u)
		}
		removed[u] = true
		if !recorded[u] {
			t.Errorf("folder %d: UID %d reported removed but not recorded as expunged", folderID, u)
		}
	}
	for u := range recorded {
		if !removed[u] {
			t.Errorf("folder %d: UID %d recorded as expunged but no writer was told it removed it", folderID, u)
		}
	}
}

// testConcurrentExpunges is the reproduction of the bug that bricked
// mailboxes on PostgreSQL: sessions mark all messages \Deleted and EXPUNGE
// at the same instant; each message must be removed (and counted) once.
func testConcurrentExpunges(t *testing.T, s store.Store) {
	mb := newMailbox(t, s, "Expunge Race")
	inbox := mustInbox(t, s, mb.ID)
	const sessions = 4
	for round := 0; round < 5; round++ {
		for i := 0; i < 10; i++ {
			deliverTo(t, s, inbox, fmt.Sprintf("Subject: %d/%d\r\n\r\n", round, i))
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		removed := make([][]uint32, sessions)
		errs := make([]error, sessions)
		for k := 0; k < sessions; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				<-start
				if _, _, err := s.StoreFlags(ctx, inbox, store.FlagUpdate{UIDs: all(), Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
					errs[k] = err
					return
				}
				removed[k], errs[k] = s.Expunge(ctx, inbox, nil, true)
			}(k)
		}
		close(start)
		wg.Wait()
		total := 0
		seen := map[uint32]bool{}
		for k := range removed {
			if errs[k] != nil {
				t.Fatalf("round %d session %d: %v", round, k, errs[k])
			}
			for _, u := range removed[k] {
				if seen[u] {
					t.Errorf("round %d: UID %d removed by two sessions", round, u)
				}
				seen[u] = true
				total++
			}
		}
		if total != 10 {
			t.Errorf("round %d: %d messages removed in all; want 10", round, total)
		}
		checkFolder(t, s, inbox)
		if f, err := s.FolderByID(ctx, inbox); err != nil || f.Messages != 0 {
			t.Fatalf("round %d: folder %+v, %v; want 0 messages", round, f, err)
		}
	}
}

// testSweepKeepsSharedBodies checks that the sweep deletes a body only when
// no message references it: one delivery to two mailboxes shares a body,
// and a COPY shares it within a mailbox.
func testSweepKeepsSharedBodies(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Sweep A")
	b := newMailbox(t, s, "Sweep B")
	raw := "Subject: shared\r\n\r\nshared body\r\n"
	d := deliver(t, s, []int64{a.ID, b.ID}, raw)
	ma := metas(t, s, d[0].FolderID, all(), 0)
	if _, err := s.Expunge(ctx, d[0].FolderID, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, ma[0].BodyID, ma[0].Size); string(got) != raw {
		t.Fatalf("body still used by B after A's copy was expunged and swept: got %q", got)
	}
	if _, err := s.Expunge(ctx, d[1].FolderID, nil, false); err != nil {
		t.Fatal(err)
	}
	// Within its grace period a body stays, marked.
	if n, err := s.SweepBodies(ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
		t.Errorf("sweep of bodies marked before a minute ago: got %d, %v; want 0 (marked just now)", n, err)
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair within the grace period: %+v, %v; want nothing wrong (the body still marked)", rep, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("sweep after the last copy went: got %d, %v; want 1", n, err)
	}
	rep, err := s.Repair(ctx, false)
	if err != nil || !rep.OK() {
		t.Errorf("Repair: %+v, %v; want nothing wrong", rep, err)
	}

	// Many at once (markOrphanBodies' batches on SQLite), a COPY among
	// them: its body is marked once and swept once.
	inbox := d[1].FolderID
	for i := range 12 {
		deliverTo(t, s, inbox, fmt.Sprintf("Subject: batch %d\r\n\r\nbody %d\r\n", i, i))
	}
	f, err := s.FolderByID(ctx, inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, inbox, []store.UIDRange{{Start: f.UIDNext - 1, Stop: f.UIDNext - 1}}, inbox); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.Expunge(ctx, inbox, nil, false); err != nil || len(gone) != 13 {
		t.Fatalf("expunge of 13 messages: %v, %v", gone, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil || n != 12 {
		t.Errorf("sweep of 12 bodies (13 messages, one a copy): got %d, %v; want 12", n, err)
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair after the batch: %+v, %v; want nothing wrong", rep, err)
	}
}

// testSweepSparesBodiesBeingRead: a body read in part (a literal or a RETR
// streamed chunk by chunk) stays through a sweep that would take it, so that
// the reads that finish it find it; a body read whole in one call, or one
// not read, is swept; the heads of a POP3 read-ahead hold as a part does.
func testSweepSparesBodiesBeingRead(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Sweep Reading")
	inbox := mustInbox(t, s, m.ID)
	var b strings.Builder
	b.WriteString("Subject: streamed\r\n\r\n")
	for i := 0; b.Len() < 700<<10; i++ {
		fmt.Fprintf(&b, "line %08d of a body read chunk by chunk\r\n", i)
	}
	large := b.String()
	deliverTo(t, s, inbox, large)
	deliverTo(t, s, inbox, "Subject: whole\r\n\r\nread whole\r\n")
	deliverTo(t, s, inbox, "Subject: unread\r\n\r\nnever read\r\n")
	deliverTo(t, s, inbox, large+"and a head read ahead\r\n")
	ms := metas(t, s, inbox, all(), 0)
	if len(ms) != 4 {
		t.Fatalf("%d messages; want 4", len(ms))
	}
	p := make([]byte, 1000)
	if n, err := s.ReadBody(ctx, ms[0].BodyID, 0, p); err != nil || string(p[:n]) != large[:1000] {
		t.Fatalf("first part of the large body: %d, %v", n, err)
	}
	if got := readAll(t, s, ms[1].BodyID, ms[1].Size); len(got) != int(ms[1].Size) {
		t.Fatalf("whole small body: %d octets; want %d", len(got), ms[1].Size)
	}
	if n, err := s.ReadBodyHeads(ctx, []int64{ms[3].BodyID}, [][]byte{make([]byte, 32<<10)}); err != nil || n[0] != 32<<10 {
		t.Fatalf("head of the other large body: %v, %v", n, err)
	}
	if gone, err := s.Expunge(ctx, inbox, nil, false); err != nil || len(gone) != 4 {
		t.Fatalf("expunge of the 4 messages: %v, %v", gone, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil || n != 2 {
		t.Errorf("sweep while two bodies are being read: got %d, %v; want 2 (the one read whole and the one not read)", n, err)
	}
	for _, off := range []int64{1000, 256<<10 + 7, int64(len(large)) - 20} {
		p := make([]byte, 20)
		n, err := s.ReadBody(ctx, ms[0].BodyID, off, p)
		if err != nil && !errors.Is(err, io.EOF) || string(p[:n]) != large[off:min(off+20, int64(len(large)))] {
			t.Errorf("read of the large body at %d after the sweep: %q, %v; want its octets", off, p[:n], err)
		}
	}
	rest := make([]byte, 64<<10)
	if n, err := s.ReadBody(ctx, ms[3].BodyID, 32<<10, rest); err != nil || n != len(rest) {
		t.Errorf("rest of the body whose head was read ahead, after the sweep: %d, %v", n, err)
	}
	for _, m := range ms[1:3] {
		if _, err := s.ReadBody(ctx, m.BodyID, 0, make([]byte, 10)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("body %d after the sweep: %v; want ErrNotFound", m.BodyID, err)
		}
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair with bodies held from the sweep: %+v, %v; want nothing wrong (still marked)", rep, err)
	}
}

// RunSweepMarkedAgain checks the sweep against a body marked again between
// its listing and its delete: the last message that referenced it is
// expunged just then, so a session told of that expunge may still read it
// for the grace period. The body stays, marked, and a later sweep takes it.
// open opens a store whose SweepBodies runs listed after each listing and
// whose background sweep is off.
func RunSweepMarkedAgain(t *testing.T, open func(t *testing.T, listed func()) store.Store) {
	var hook func()
	s := open(t, func() {
		if h := hook; h != nil {
			hook = nil
			h()
		}
	})
	a := newMailbox(t, s, "Sweep Again A")
	b := newMailbox(t, s, "Sweep Again B")
	raw := "Subject: shared\r\n\r\nread after its expunge\r\n"
	d := deliver(t, s, []int64{a.ID, b.ID}, raw)
	m := metas(t, s, d[1].FolderID, all(), 0)[0]
	if _, err := s.Expunge(ctx, d[0].FolderID, nil, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(2 * time.Millisecond)
	hook = func() {
		if _, err := s.Expunge(ctx, d[1].FolderID, nil, false); err != nil {
			t.Errorf("expunge while the sweep runs: %v", err)
		}
	}
	if n, err := s.SweepBodies(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("sweep whose body was marked again after its listing: got %d, %v; want 0", n, err)
	}
	if hook != nil {
		t.Fatal("the sweep listed nothing: the body was not marked by the first expunge")
	}
	if got := readAll(t, s, m.BodyID, m.Size); string(got) != raw {
		t.Errorf("body within the grace period of its last expunge: got %q; want it whole", got)
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair after the sweep: %+v, %v; want nothing wrong (the body still marked)", rep, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("sweep after the grace period: got %d, %v; want 1", n, err)
	}
}

// testRepair is in Run for what needs no raw access: a healthy store has
// nothing to repair, and Repair with fix on it changes nothing.
func testRepair(t *testing.T, s store.Store) {
	mb := newMailbox(t, s, "Healthy")
	inbox := mustInbox(t, s, mb.ID)
	for i := 0; i < 3; i++ {
		deliverTo(t, s, inbox, fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	for _, fix := range []bool{false, true} {
		rep, err := s.Repair(ctx, fix)
		if err != nil || !rep.OK() || rep.Checked == 0 {
			t.Errorf("Repair(fix=%v) of a healthy store: %+v, %v; want checked > 0 and nothing wrong", fix, rep, err)
		}
	}
}

// OpenRaw returns a new store and a second handle on the same database,
// for damaging it behind the store's back.
type OpenRaw func(t *testing.T) (store.Store, *sql.DB)

// RunIntegrity checks that the database refuses impossible states and that
// Repair sets counters damaged behind the store's back right again.
func RunIntegrity(t *testing.T, open OpenRaw) {
	s, raw := open(t)
	mb := newMailbox(t, s, "Damaged")
	inbox := mustInbox(t, s, mb.ID)
	for i := 0; i < 4; i++ {
		deliverTo(t, s, inbox, fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	f, _ := s.FolderByID(ctx, inbox)
	exec := func(q string) error {
		_, err := raw.ExecContext(ctx, q)
		return err
	}
	refused := []string{
		fmt.Sprintf(`UPDATE folders SET messages = -34 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE folders SET unseen = messages + 1 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE folders SET size = -1 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE folders SET uid_next = 2 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE folders SET highest_modseq = 1 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE folders SET uid_validity = uid_validity + 1 WHERE id = %d`, inbox),
		fmt.Sprintf(`UPDATE messages SET uid = %d WHERE folder_id = %d AND uid = 1`, f.UIDNext+5, inbox),
		fmt.Sprintf(`UPDATE messages SET modseq = %d WHERE folder_id = %d AND uid = 1`, f.HighestModSeq+5, inbox),
		fmt.Sprintf(`INSERT INTO expunged (folder_id, uid, modseq) VALUES (%d, %d, 1)`, inbox, f.UIDNext+1),
	}
	for _, q := range refused {
		if err := exec(q); err == nil {
			t.Errorf("%s: accepted; want the database to refuse it", q)
		}
	}
	// Damage the database may not see (a count that is possible but wrong),
	// as a crash of an earlier version could leave.
	if err := exec(fmt.Sprintf(`UPDATE folders SET messages = 40, unseen = 0, size = 7 WHERE id = %d`, inbox)); err != nil {
		t.Fatal(err)
	}
	if err := exec(`INSERT INTO bodies (size, data) VALUES (3, 'abc')`); err != nil {
		t.Fatal(err)
	}
	// The read path still works with a wrong counter.
	if _, err := s.FolderByID(ctx, inbox); err != nil {
		t.Fatalf("folder with a wrong counter unreadable: %v", err)
	}
	rep, err := s.Repair(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Wrong) != 1 || rep.Wrong[0].FolderID != inbox || rep.Wrong[0].Stored.Messages != 40 ||
		rep.Wrong[0].Actual.Messages != 4 || rep.UnmarkedBodies != 1 || rep.Fixed {
		t.Fatalf("check: got %+v; want folder %d with 40 stored, 4 actual, 1 unmarked body, not fixed", rep, inbox)
	}
	if f2, _ := s.FolderByID(ctx, inbox); f2.Messages != 40 {
		t.Errorf("a check without fix changed the folder: %+v", f2)
	}
	rep, err = s.Repair(ctx, true)
	if err != nil || !rep.Fixed || len(rep.Wrong) != 1 {
		t.Fatalf("repair: got %+v, %v", rep, err)
	}
	checkFolder(t, s, inbox)
	if n, err := s.SweepBodies(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Errorf("sweep of the unreferenced body Repair marked: got %d, %v; want 1", n, err)
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("check after repair: %+v, %v; want nothing wrong", rep, err)
	}
}

// testConcurrentRemovals removes many mailboxes at once, each in a
// directory transaction that also reads the role group members (as the
// service's "last Organization Management member" check does). On
// PostgreSQL these serializable transactions conflict with each other;
// every removal must still succeed (the engine retries), none may fail.
func testConcurrentRemovals(t *testing.T, s store.Store) {
	const n = 24
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = newMailbox(t, s, fmt.Sprintf("Removed %d", i)).ID
		deliver(t, s, []int64{ids[i]}, "Subject: x\r\n\r\nx\r\n")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if _, err := tx.RoleGroupMembers(ctx, 1); err != nil {
					return err
				}
				if _, err := tx.MemberOf(ctx, id); err != nil {
					return err
				}
				return tx.DeleteMailbox(ctx, id)
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("removal %d of %d at once: %v", i, n, err)
		}
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair after the removals: %+v, %v", rep, err)
	}
}

// RunOrphansMigration checks migration 0019 on an engine: bodies marked
// orphaned in bodies.orphaned_at before it keep their mark (in
// body_orphans) and are swept. open opens the store (again) on one
// database; raw reaches it directly; downgrade takes the schema back to
// before 0019 (the engine's own statements; the mark itself is set here).
func RunOrphansMigration(t *testing.T, open func(t *testing.T) store.Store, raw *sql.DB, downgrade []string) {
	s := open(t)
	m := newMailbox(t, s, "Orphans")
	inbox := mustInbox(t, s, m.ID)
	deliverTo(t, s, inbox, "Subject: kept\r\n\r\nkept\r\n")
	deliverTo(t, s, inbox, "Subject: gone\r\n\r\ngone\r\n")
	gone := metas(t, s, inbox, []store.UIDRange{{Start: 2, Stop: 2}}, 0)[0]
	if _, err := s.Expunge(ctx, inbox, []store.UIDRange{{Start: 2, Stop: 2}}, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, q := range append(downgrade,
		fmt.Sprintf(`UPDATE bodies SET orphaned_at = 1 WHERE id = %d`, gone.BodyID),
		`DELETE FROM schema_migrations WHERE version = 19`) {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s = open(t)
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Repair after the migration: %+v, %v; want nothing wrong (the old mark carried over)", rep, err)
	}
	if n, err := s.SweepBodies(ctx, time.Now()); err != nil || n != 1 {
		t.Errorf("sweep after the migration: got %d, %v; want the body marked before it", n, err)
	}
	kept := metas(t, s, inbox, all(), 0)
	if len(kept) != 1 || string(readAll(t, s, kept[0].BodyID, kept[0].Size)) != "Subject: kept\r\n\r\nkept\r\n" {
		t.Errorf("after the sweep: %+v; want the other message whole", kept)
	}
}
