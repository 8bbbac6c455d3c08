package storetest

import (
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// testHasBinary: HasBinary is kept on the message as appended or delivered
// and goes with it through COPY and MOVE; other messages read false.
func testHasBinary(t *testing.T, s store.Store) {
	m := newMailbox(t, s, "Binary User")
	inbox := mustInbox(t, s, m.ID)
	arch, err := s.FolderByName(ctx, m.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	bin := parsedMessage("Content-Transfer-Encoding: binary\r\n\r\n\x00\x01\r\n")
	bin.HasBinary = true
	if _, _, err := s.Append(ctx, inbox, bin); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(ctx, inbox, parsedMessage("Subject: text\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, inbox, []store.UIDRange{{Start: 1, Stop: 2}}, arch.ID); err != nil {
		t.Fatal(err)
	}
	for _, f := range []int64{inbox, arch.ID} {
		got := metas(t, s, f, all(), 0)
		if len(got) != 2 || !got[0].HasBinary || got[1].HasBinary {
			t.Fatalf("folder %d: HasBinary of the two messages %v; want true, false", f, hasBinaries(got))
		}
	}
	if _, err := s.Move(ctx, arch.ID, []store.UIDRange{{Start: 1, Stop: 1}}, inbox); err != nil {
		t.Fatal(err)
	}
	if got := metas(t, s, inbox, all(), 0); len(got) != 3 || !got[2].HasBinary {
		t.Fatalf("after MOVE: %v; want the moved message binary", hasBinaries(got))
	}
}

func hasBinaries(ms []store.MessageMeta) []bool {
	out := make([]bool, len(ms))
	for i, m := range ms {
		out[i] = m.HasBinary
	}
	return out
}
