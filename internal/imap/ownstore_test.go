package imap_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// changesCounter counts the Changes reads of every folder opened through it.
type changesCounter struct {
	imap.Backend
	n *atomic.Int32
}

func (b changesCounter) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	u, err := b.Backend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return changesCounterUser{u, b.n}, nil
}

type changesCounterUser struct {
	imap.User
	n *atomic.Int32
}

func (u changesCounterUser) Open(ctx context.Context, name string, changed func()) (imap.Folder, error) {
	f, err := u.User.Open(ctx, name, changed)
	if err != nil {
		return nil, err
	}
	return changesCounterFolder{f, u.n}, nil
}

type changesCounterFolder struct {
	imap.Folder
	n *atomic.Int32
}

func (f changesCounterFolder) Changes(ctx context.Context, since uint64) (imap.FolderStatus, []imap.MessageFlags, []uint32, error) {
	f.n.Add(1)
	return f.Folder.Changes(ctx, since)
}

var (
	highestModSeqRE = regexp.MustCompile(`^\* OK \[HIGHESTMODSEQ (\d+)\]`)
	fetchModSeqRE   = regexp.MustCompile(`^\* \d+ FETCH \(.*MODSEQ \((\d+)\)`)
)

// folderModSeq is the store's HIGHESTMODSEQ of alice's INBOX.
func (e *env) folderModSeq(t *testing.T) uint64 {
	t.Helper()
	f, err := e.st.FolderByName(context.Background(), e.boxes["alice"], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return f.HighestModSeq
}

func (e *env) inboxID(t *testing.T) int64 {
	t.Helper()
	f, err := e.st.FolderByName(context.Background(), e.boxes["alice"], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// TestOwnStoreHighestModSeq: a session takes its own STORE's MODSEQ as its
// HIGHESTMODSEQ only when no other change of the folder came in between,
// and then reads no changes for it. After each sequence of STOREs, the
// first CONDSTORE-enabling command announces the session's HIGHESTMODSEQ
// (RFC 7162 §3.1.2.1): it must be the folder's, exactly, and every change
// made by someone else must have been reported.
func TestOwnStoreHighestModSeq(t *testing.T) {
	for _, rev2 := range []bool{false, true} {
		for _, tc := range []struct {
			name string
			cmds []string
			// other is a change by someone else made before cmds[i]
			// (index other.at), published or not (its event delayed).
			other *otherChange
			// reads is whether the session must read changes (Changes)
			// during cmds.
			reads bool
			// want are the starts of lines the commands' responses must
			// include, in order (\Recent follows in IMAP4rev1).
			want []string
		}{
			{name: "one STORE", cmds: []string{`STORE 1 +FLAGS (\Flagged)`}},
			{name: "two STOREs", cmds: []string{`STORE 1 +FLAGS (\Flagged)`, `STORE 1 -FLAGS (\Flagged)`}},
			{name: "silent", cmds: []string{`STORE 1:2 +FLAGS.SILENT (\Deleted)`}},
			{name: "seen and replace", cmds: []string{`STORE 2 +FLAGS (\Seen)`, `UID STORE 1:* FLAGS (\Answered)`}},
			{name: "new keyword", cmds: []string{`STORE 2 +FLAGS ($Label1)`, `STORE 3 +FLAGS ($Label1 \Flagged)`},
				want: []string{`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)`}},
			{name: "no change", cmds: []string{`STORE 1 -FLAGS (\Draft)`, `STORE 1 +FLAGS (\Flagged)`, `STORE 1 +FLAGS (\Flagged)`}},
			{name: "other change first, event delayed",
				other: &otherChange{at: 1, uid: 2, flags: store.FlagAnswered},
				cmds:  []string{`STORE 1 +FLAGS (\Flagged)`, `STORE 1 -FLAGS (\Flagged)`}, reads: true,
				want: []string{`* 2 FETCH (UID 2 FLAGS (\Answered`}},
			{name: "other change first, published",
				other: &otherChange{at: 0, uid: 3, flags: store.FlagDraft, publish: true},
				cmds:  []string{`STORE 1 +FLAGS (\Flagged)`}, reads: true,
				want: []string{`* 3 FETCH (UID 3 FLAGS (\Draft`}},
			{name: "expunge by another, event delayed",
				other: &otherChange{at: 1, uid: 3, expunge: true},
				cmds:  []string{`STORE 1 +FLAGS (\Flagged)`, `STORE 2 +FLAGS (\Flagged)`, `NOOP`}, reads: true,
				want: []string{`* 3 EXPUNGE`}},
		} {
			name := tc.name
			if rev2 {
				name += " rev2"
			}
			t.Run(name, func(t *testing.T) {
				var reads atomic.Int32
				e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return changesCounter{b, &reads} }})
				for i := range 3 {
					e.deliver(t, []byte(fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i)), "alice")
				}
				c := dialRaw(t, e.addr)
				c.login("alice")
				if rev2 {
					c.cmd("e", "ENABLE IMAP4rev2")
				}
				c.cmd("s", "SELECT INBOX")
				reads.Store(0)
				var got []string
				for i, cmd := range tc.cmds {
					if tc.other != nil && tc.other.at == i {
						tc.other.make(t, e)
					}
					lines := c.cmd("c", cmd)
					if !strings.HasPrefix(lines[len(lines)-1], "c OK") {
						t.Fatalf("%s: %q", cmd, lines)
					}
					got = append(got, lines...)
				}
				if n := reads.Load(); (n > 0) != tc.reads {
					t.Errorf("changes read %d times; want reads %v", n, tc.reads)
				}
				checkIncludes(t, got, tc.want)
				// The first CONDSTORE-enabling command says the session's
				// HIGHESTMODSEQ before its own responses.
				lines := c.cmd("f", "FETCH 1:* (MODSEQ)")
				m := highestModSeqRE.FindStringSubmatch(lines[0])
				if m == nil {
					t.Fatalf("FETCH MODSEQ: %q; want HIGHESTMODSEQ first", lines)
				}
				announced, _ := strconv.ParseUint(m[1], 10, 64)
				if want := e.folderModSeq(t); announced != want {
					t.Errorf("HIGHESTMODSEQ %d after %q; want the folder's %d", announced, tc.cmds, want)
				}
				var top uint64
				for _, l := range lines[1:] {
					if m := fetchModSeqRE.FindStringSubmatch(l); m != nil {
						ms, _ := strconv.ParseUint(m[1], 10, 64)
						top = max(top, ms)
					}
				}
				if tc.other == nil || !tc.other.expunge {
					if top != announced {
						t.Errorf("highest MODSEQ of a message %d; HIGHESTMODSEQ %d", top, announced)
					}
				}
				// A delayed event comes at last: nothing more to report.
				if tc.other != nil && !tc.other.publish {
					e.hub.Publish(context.Background(), notify.Event{Kind: notify.FolderChanged,
						MailboxID: e.boxes["alice"], FolderID: e.inboxID(t), ModSeq: tc.other.modSeq})
				}
				if lines := c.cmd("n", "NOOP"); len(lines) != 1 {
					t.Errorf("NOOP: %q; want nothing new", lines)
				}
			})
		}
	}
}

// otherChange is a change of alice's INBOX by someone else, made on the
// store directly; its event is published only when publish is set (else
// the test publishes it at the end, late, as a change on another node
// whose event arrives after this session's own).
type otherChange struct {
	at      int
	uid     uint32
	flags   store.Flags
	expunge bool
	publish bool
	modSeq  uint64 // set by make
}

func (o *otherChange) make(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	id := e.inboxID(t)
	r := []store.UIDRange{{Start: o.uid, Stop: o.uid}}
	if o.expunge {
		if _, err := e.st.Expunge(ctx, id, r, false); err != nil {
			t.Fatal(err)
		}
		o.modSeq = e.folderModSeq(t)
	} else {
		changed, _, err := e.st.StoreFlags(ctx, id, store.FlagUpdate{UIDs: r, Op: store.FlagsAdd, Flags: o.flags})
		if err != nil || len(changed) != 1 {
			t.Fatalf("store: %v, %v", changed, err)
		}
		o.modSeq = changed[0].ModSeq
	}
	if o.publish {
		e.hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: e.boxes["alice"], FolderID: id, ModSeq: o.modSeq})
	}
}

// checkIncludes fails unless lines starting with want appear in got, in
// order.
func checkIncludes(t *testing.T, got, want []string) {
	t.Helper()
	i := 0
	for _, l := range got {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("responses %q; want %q among them", got, want[i])
	}
}
