package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// testAppendMany checks the all-or-nothing append of several messages
// (IMAP MULTIAPPEND): UIDs in order, counters from the rows written, and a
// failure at any message leaving the folder exactly as it was.
func testAppendMany(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Multi Append")
	inbox, err := s.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	deliverTo(t, s, inbox.ID, "Subject: before\r\n\r\nx\r\n")
	before, _ := s.FolderByID(ctx, inbox.ID)

	raws := []string{"Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n22\r\n", "Subject: three\r\n\r\n333\r\n"}
	var msgs []store.NewMessage
	for i, r := range raws {
		nm := parsedMessage(r)
		nm.InternalDate = time.Date(2024, 3, 14, 10, i, 0, 0, time.UTC)
		msgs = append(msgs, nm)
	}
	msgs[1].Flags = store.FlagSeen
	msgs[2].Keywords = []string{"$Work"}
	validity, uids, err := s.AppendMany(ctx, inbox.ID, msgs)
	if err != nil {
		t.Fatalf("append many: %v", err)
	}
	if validity != before.UIDValidity || !slices.Equal(uids, []uint32{before.UIDNext, before.UIDNext + 1, before.UIDNext + 2}) {
		t.Fatalf("append many: validity %d uids %v; want %d and three from %d", validity, uids, before.UIDValidity, before.UIDNext)
	}
	after, idx, err := s.FolderIndex(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	size := before.Size
	for _, r := range raws {
		size += int64(len(r))
	}
	if after.Messages != before.Messages+3 || after.Unseen != before.Unseen+2 || after.UIDNext != before.UIDNext+3 ||
		after.Size != size || after.HighestModSeq <= before.HighestModSeq || len(idx) != 4 {
		t.Errorf("folder after append many: %+v (before %+v), index %v", after, before, idx)
	}
	if idx[2].Flags != store.FlagSeen || !slices.Equal(idx[3].Keywords, []string{"$Work"}) || after.HighestModSeq != idx[3].ModSeq {
		t.Errorf("appended state: %+v", idx)
	}
	ms := metas(t, s, inbox.ID, []store.UIDRange{{Start: uids[0], Stop: uids[2]}}, store.MetaSummary)
	if len(ms) != 3 {
		t.Fatalf("appended messages: %d", len(ms))
	}
	for i, mm := range ms {
		if got := readAll(t, s, mm.BodyID, mm.Size); string(got) != raws[i] || mm.Subject != msgs[i].Summary.Subject ||
			!mm.InternalDate.Equal(msgs[i].InternalDate) {
			t.Errorf("message %d: body %q subject %q date %v", i+1, got, mm.Subject, mm.InternalDate)
		}
	}

	// The second (or third) message fails: none is stored, UIDNEXT and the
	// counters stay as they were, and the next append takes the next UID.
	for _, bad := range []int{1, 2} {
		good := []store.NewMessage{parsedMessage("Subject: a\r\n\r\na\r\n"), parsedMessage("Subject: b\r\n\r\nb\r\n"), parsedMessage("Subject: c\r\n\r\nc\r\n")}
		good[bad].Raw = nil
		_, got, err := s.AppendMany(ctx, inbox.ID, good)
		if !errors.Is(err, store.ErrInvalid) || got != nil {
			t.Errorf("message %d empty: got %v %v; want ErrInvalid and no UIDs", bad+1, got, err)
		}
		now, idx2, _ := s.FolderIndex(ctx, inbox.ID)
		if now != after || len(idx2) != len(idx) {
			t.Errorf("failed append many changed the folder: %+v -> %+v, %d -> %d messages", after, now, len(idx), len(idx2))
		}
	}
	if _, _, err := s.AppendMany(ctx, 999999, msgs[:1]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing folder: got %v; want ErrNotFound", err)
	}
	if _, _, err := s.AppendMany(ctx, inbox.ID, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no messages: got %v; want ErrInvalid", err)
	}
	if uid := deliverTo(t, s, inbox.ID, "Subject: later\r\n\r\n"); uid != after.UIDNext {
		t.Errorf("append after the failed ones took UID %d; want %d", uid, after.UIDNext)
	}
}
