package imapadapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// countingMail counts what the IMAP backend asks of the store, method by
// method, for the tests that check which commands need a store read.
type countingMail struct {
	store.Mail
	bodyReads, usageReads, guidReads, recentReads, metaReads atomic.Int64
	targetReads, folderReads, recentClaims, changesReads     atomic.Int64
}

func (m *countingMail) Changes(ctx context.Context, folderID int64, since uint64) (store.Folder, []store.MessageFlags, []uint32, error) {
	m.changesReads.Add(1)
	return m.Mail.Changes(ctx, folderID, since)
}

func (m *countingMail) ClaimRecent(ctx context.Context, folderID int64) (uint32, uint32, error) {
	m.recentClaims.Add(1)
	return m.Mail.ClaimRecent(ctx, folderID)
}

// newCountingEnv is newEnv over a SQLite store whose mail reads and
// writes the IMAP backend makes are counted.
func newCountingEnv(t *testing.T) (*env, store.Store, *countingMail) {
	t.Helper()
	st := sqlitetest.Open(t, sqlite.Options{})
	mail := &countingMail{Mail: st}
	return newEnvMail(t, st, mail), st, mail
}

func (m *countingMail) AppendTarget(ctx context.Context, mailboxID int64, name string) (store.Folder, bool, store.MailboxUsage, error) {
	m.targetReads.Add(1)
	return m.Mail.AppendTarget(ctx, mailboxID, name)
}

func (m *countingMail) FolderByName(ctx context.Context, mailboxID int64, name string) (store.Folder, error) {
	m.folderReads.Add(1)
	return m.Mail.FolderByName(ctx, mailboxID, name)
}

func (m *countingMail) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	m.bodyReads.Add(1)
	return m.Mail.ReadBody(ctx, bodyID, off, p)
}

func (m *countingMail) ReadBodyHeads(ctx context.Context, bodyIDs []int64, heads [][]byte) ([]int, error) {
	m.bodyReads.Add(1)
	return m.Mail.ReadBodyHeads(ctx, bodyIDs, heads)
}

func (m *countingMail) MailboxUsage(ctx context.Context, mailboxID int64) (store.MailboxUsage, error) {
	m.usageReads.Add(1)
	return m.Mail.MailboxUsage(ctx, mailboxID)
}

func (m *countingMail) MailboxGUID(ctx context.Context, mailboxID int64) (string, error) {
	m.guidReads.Add(1)
	return m.Mail.MailboxGUID(ctx, mailboxID)
}

func (m *countingMail) RecentFrom(ctx context.Context, folderID int64) (uint32, error) {
	m.recentReads.Add(1)
	return m.Mail.RecentFrom(ctx, folderID)
}

func (m *countingMail) Messages(ctx context.Context, folderID int64, uids []store.UIDRange, want store.MetaFields, fn func(store.MessageMeta) error) error {
	m.metaReads.Add(1)
	return m.Mail.Messages(ctx, folderID, uids, want, fn)
}

// TestLongFetchReadsHeads: a FETCH of many messages (a message list's
// header fields, a client downloading the folder) sends each message whose
// items fit in its head prefix (store.HeadPrefixSize) without a body read
// of its own; only a message with a longer header, or a whole message
// longer than the prefix, is read again. What is sent is each message's
// exact content, whichever way it was read.
func TestLongFetchReadsHeads(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	const n = 300 // more than one batch of heads (headPrefixBatch)
	raws := make([][]byte, n)
	for i := range raws {
		hdr := fmt.Sprintf("Subject: message %d\r\nFrom: a@example.com\r\n", i)
		body := strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), 1+i%50)
		switch i {
		case 7: // a header longer than the head prefix
			hdr += "X-Long: " + strings.Repeat("h", store.HeadPrefixSize) + "\r\n"
		case 11, 250: // a body longer than the head prefix, a short header
			body = strings.Repeat("b", 3*store.HeadPrefixSize) + "\r\n"
		}
		raws[i] = []byte(hdr + "\r\n" + body)
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage(raws[i], 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.com", "pw-alice").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var all goimap.SeqSet
	all.AddRange(1, n)
	fetch := func(name string, sec *goimap.FetchItemBodySection, wantReads int64, want func(raw []byte) []byte) {
		t.Helper()
		before := mail.bodyReads.Load()
		msgs, err := c.Fetch(all, &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := mail.bodyReads.Load() - before; got != wantReads {
			t.Errorf("%s: %d body reads besides the metadata; want %d", name, got, wantReads)
		}
		if len(msgs) != n {
			t.Fatalf("%s: %d messages; want %d", name, len(msgs), n)
		}
		for _, m := range msgs {
			i := m.SeqNum - 1
			if got := m.FindBodySection(sec); !bytes.Equal(got, want(raws[i])) {
				t.Errorf("%s: message %d: got %d octets %.60q; want %d octets %.60q", name, i, len(got), got, len(want(raws[i])), want(raws[i]))
			}
		}
	}
	fetch("HEADER.FIELDS (SUBJECT)", &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}, 1,
		func(raw []byte) []byte {
			s := string(raw)
			return []byte(s[:strings.Index(s, "\r\n")+2] + "\r\n")
		})
	fetch("BODY[]", &goimap.FetchItemBodySection{Peek: true}, 3, func(raw []byte) []byte { return raw })
}

// TestAppendReadsUsageOnce: an APPEND reads the mailbox's usage once (the
// hard limit's room and the warning limit together) in the same query as
// its target folder (imap.AppendUsageReader, store.Mail.AppendTarget),
// reads no folder after the message, and reads the usage again only when
// the message may take the mailbox to its warning limit, to warn with the
// exact figure.
func TestAppendReadsUsageOnce(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	c := e.dial(t)
	if got := last(c.cmd("a", "LOGIN alice@example.com pw-alice")); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("LOGIN: %s", got)
	}
	appendMsg := func(name string, wantReads int64, wantWarning bool) {
		t.Helper()
		mail.checkUsageReads(t, name, "p OK [APPENDUID", wantReads, wantWarning, func() []string {
			return c.cmd("p", "APPEND INBOX {21+}\r\nSubject: 0123456789\r\n")
		})
	}
	appendMsg("no quota", 1, false)
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxQuota(ctx, e.boxes["alice"], store.MailboxQuota{IssueWarning: 50, ProhibitSend: 1000, ProhibitSendReceive: 1000}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	appendMsg("21 + 21 of 50", 1, false)
	appendMsg("42 + 21 of 50: reaches the warning", 2, true)
	appendMsg("over the warning", 2, true)
}

// checkUsageReads runs a command that adds mail (run returns its response
// lines, the last starting with ok) and checks what it read: the target
// folder with the usage in one query (AppendTarget), no folder by name,
// wantReads usage reads in all, and a warning quota response or not.
func (mail *countingMail) checkUsageReads(t *testing.T, name, ok string, wantReads int64, wantWarning bool, run func() []string) {
	t.Helper()
	before, targets, folders := mail.usageReads.Load(), mail.targetReads.Load(), mail.folderReads.Load()
	got := run()
	if !strings.HasPrefix(last(got), ok) {
		t.Fatalf("%s: %q", name, got)
	}
	if n := mail.usageReads.Load() - before + mail.targetReads.Load() - targets; n != wantReads {
		t.Errorf("%s: %d usage reads; want %d", name, n, wantReads)
	}
	if n, f := mail.targetReads.Load()-targets, mail.folderReads.Load()-folders; n != 1 || f != 0 {
		t.Errorf("%s: %d AppendTarget and %d FolderByName reads; want 1 and 0", name, n, f)
	}
	if warned := strings.Contains(strings.Join(got, "\n"), "NO [OVERQUOTA]"); warned != wantWarning {
		t.Errorf("%s: %q; want a warning: %v", name, got, wantWarning)
	}
}

// TestCopyReadsUsageOnce: a COPY reads its destination with the mailbox's
// usage in one query (as an APPEND does), no folder by name after it, and
// the usage again only when the copy may take the mailbox to its warning
// limit, to warn with the exact figure.
func TestCopyReadsUsageOnce(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	c := e.login(t, "alice")
	for range 2 {
		if got := last(c.cmd("p", "APPEND INBOX {21+}\r\nSubject: 0123456789\r\n")); !strings.HasPrefix(got, "p OK [APPENDUID") {
			t.Fatalf("APPEND: %s", got)
		}
	}
	c.cmd("s", "SELECT INBOX")
	copyTo := func(name, dest string, wantReads int64, wantWarning bool) {
		t.Helper()
		mail.checkUsageReads(t, name, "c OK [COPYUID", wantReads, wantWarning, func() []string {
			return c.cmd("c", "COPY 1 "+dest)
		})
	}
	copyTo("no quota, to Archive", "Archive", 1, false)
	copyTo("no quota, into INBOX", "INBOX", 1, false)
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxQuota(ctx, e.boxes["alice"], store.MailboxQuota{IssueWarning: 120, ProhibitSend: 1000, ProhibitSendReceive: 1000}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	copyTo("84 + 21 of 120", "Archive", 1, false)
	copyTo("105 + 21 of 120: reaches the warning", "INBOX", 2, true)
}

// TestMoveReadsItsDestination: a MOVE goes to the folder that has the name
// now, not to one an earlier APPEND that failed read under that name.
func TestMoveReadsItsDestination(t *testing.T) {
	e, _, _ := newCountingEnv(t)
	c := e.login(t, "alice")
	ok := func(tag, cmd string) {
		t.Helper()
		if got := last(c.cmd(tag, cmd)); !strings.HasPrefix(got, tag+" OK") {
			t.Fatalf("%s: %s", cmd, got)
		}
	}
	ok("a", "APPEND INBOX {21+}\r\nSubject: 0123456789\r\n")
	ok("b", "CREATE Projects")
	if got := last(c.cmd("c", "APPEND Projects {70000000}")); !strings.HasPrefix(got, "c NO [TOOBIG]") {
		t.Fatalf("APPEND beyond APPENDLIMIT: %s", got)
	}
	ok("d", "RENAME Projects Old")
	ok("e", "CREATE Projects")
	ok("f", "SELECT INBOX")
	ok("g", "MOVE 1 Projects")
	for name, want := range map[string]string{"Projects": "1", "Old": "0"} {
		if got := c.cmd("s", "STATUS "+name+" (MESSAGES)"); !slices.Contains(got, "* STATUS "+name+" (MESSAGES "+want+")") {
			t.Errorf("STATUS %s after the MOVE: %q; want %s messages", name, got, want)
		}
	}
}

// TestAppendTargetAtStart: an APPEND stores into the folder that had the
// name when the command began (read with the usage, before the literal):
// renamed while the client sends the message, the folder still gets it;
// deleted meanwhile, the APPEND fails with [TRYCREATE] and stores nothing.
func TestAppendTargetAtStart(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	e := newEnvOn(t, st)
	c, other := e.login(t, "alice"), e.login(t, "alice")
	const msg = "Subject: 0123456789\r\n"
	appendWhile := func(tag, name string, meanwhile func()) string {
		t.Helper()
		if _, err := c.nc.Write([]byte(tag + " APPEND " + name + " {21}\r\n")); err != nil {
			t.Fatal(err)
		}
		if l := c.line(); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND %s: %q; want a continuation", name, l)
		}
		meanwhile()
		if _, err := c.nc.Write([]byte(msg + "\r\n")); err != nil {
			t.Fatal(err)
		}
		for {
			if l := c.line(); strings.HasPrefix(l, tag+" ") {
				return l
			}
		}
	}
	for _, name := range []string{"Projects", "Gone"} {
		if got := last(other.cmd("c", "CREATE "+name)); !strings.HasPrefix(got, "c OK") {
			t.Fatalf("CREATE %s: %s", name, got)
		}
	}
	got := appendWhile("r", "Projects", func() {
		if got := last(other.cmd("d", "RENAME Projects Archive2026")); !strings.HasPrefix(got, "d OK") {
			t.Fatalf("RENAME: %s", got)
		}
	})
	if !strings.HasPrefix(got, "r OK [APPENDUID") {
		t.Fatalf("APPEND to a folder renamed meanwhile: %q; want OK", got)
	}
	renamed, err := st.FolderByName(ctx, e.boxes["alice"], "Archive2026")
	if err != nil || renamed.Messages != 1 {
		t.Errorf("the renamed folder: %+v, %v; want the message in it", renamed, err)
	}
	if _, err := st.FolderByName(ctx, e.boxes["alice"], "Projects"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Projects after the rename: %v; want no such folder", err)
	}
	got = appendWhile("s", "Gone", func() {
		if got := last(other.cmd("e", "DELETE Gone")); !strings.HasPrefix(got, "e OK") {
			t.Fatalf("DELETE: %s", got)
		}
	})
	if !strings.HasPrefix(got, "s NO [TRYCREATE]") {
		t.Errorf("APPEND to a folder deleted meanwhile: %q; want NO [TRYCREATE]", got)
	}
	if got := last(c.cmd("u", "APPEND Missing {21+}\r\n"+msg)); !strings.HasPrefix(got, "u NO [TRYCREATE]") {
		t.Errorf("APPEND to a missing folder: %q; want NO [TRYCREATE]", got)
	}
	if got := last(c.cmd("v", "APPEND INBOX {21+}\r\n"+msg)); !strings.HasPrefix(got, "v OK [APPENDUID") {
		t.Errorf("APPEND to INBOX after the failures: %q; want OK", got)
	}
}

// TestAppendClaimsRecent: an IMAP4rev1 session that APPENDs to the
// folder it has selected read-write claims \Recent in the APPEND's own
// write (imap.RecentAppender): the update after the APPEND shows the new
// message, and the ones delivered before it, as recent without a claim of
// its own, and no other session sees them as recent. A session that has
// another folder selected, EXAMINEs the folder, or speaks IMAP4rev2
// claims nothing.
func TestAppendClaimsRecent(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	login := func() *client { return e.login(t, "alice") }
	const msg = "Subject: 0123456789\r\n"
	appendTo := func(c *client, name string) []string {
		t.Helper()
		got := c.cmd("p", "APPEND "+name+" {21+}\r\n"+msg)
		if !strings.HasPrefix(last(got), "p OK [APPENDUID") {
			t.Fatalf("APPEND %s: %q", name, got)
		}
		return got
	}
	has := func(lines []string, want string) bool { return slices.Contains(lines, want) }
	deliver := func() {
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte(msg), 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}

	c := login()
	if got := c.cmd("s", "SELECT INBOX"); !has(got, "* 0 EXISTS") {
		t.Fatalf("SELECT: %q", got)
	}
	deliver()
	claims := mail.recentClaims.Load()
	got := appendTo(c, "INBOX")
	if !has(got, "* 2 EXISTS") || !has(got, "* 2 RECENT") {
		t.Errorf("APPEND to the selected folder after a delivery: %q; want * 2 EXISTS, * 2 RECENT", got)
	}
	if n := mail.recentClaims.Load() - claims; n != 0 {
		t.Errorf("APPEND to the selected folder: %d claims of \\Recent of its own; want 0", n)
	}
	if got := login().cmd("s", "SELECT INBOX"); !has(got, "* 2 EXISTS") || !has(got, "* 0 RECENT") {
		t.Errorf("another session's SELECT after the APPEND: %q; want * 2 EXISTS, * 0 RECENT", got)
	}

	// Not the selected folder, EXAMINE, IMAP4rev2: nothing claimed.
	if got := last(c.cmd("c", "CREATE Projects")); !strings.HasPrefix(got, "c OK") {
		t.Fatalf("CREATE: %s", got)
	}
	appendTo(c, "Projects")
	ex := login()
	ex.cmd("x", "EXAMINE INBOX")
	appendTo(ex, "INBOX")
	rev2 := login()
	if got := last(rev2.cmd("n", "ENABLE IMAP4rev2")); !strings.HasPrefix(got, "n OK") {
		t.Fatalf("ENABLE IMAP4rev2: %s", got)
	}
	rev2.cmd("s", "SELECT INBOX")
	appendTo(rev2, "INBOX")
	other := login()
	if got := other.cmd("s", "SELECT Projects"); !has(got, "* 1 RECENT") {
		t.Errorf("SELECT Projects after an APPEND from a session with INBOX selected: %q; want * 1 RECENT", got)
	}
	if got := other.cmd("t", "SELECT INBOX"); !has(got, "* 4 EXISTS") || !has(got, "* 2 RECENT") {
		t.Errorf("SELECT INBOX after APPENDs from an EXAMINE and an IMAP4rev2 session: %q; want * 4 EXISTS, * 2 RECENT", got)
	}
}

// TestCopyClaimsRecent: an IMAP4rev1 session that COPYs into the folder it
// has selected read-write claims \Recent in the COPY's own write
// (imap.RecentCopier), as its APPENDs do: the update after the COPY shows
// the copies, and a message delivered before them, as recent without a
// claim of its own, and no other session sees them as recent; a COPY
// racing another session's EXPUNGE copies what is left and tells the
// EXPUNGE only after. A COPY to
// another folder, or from a session that EXAMINEs the folder, claims
// nothing.
func TestCopyClaimsRecent(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	has := func(lines []string, want string) bool { return slices.Contains(lines, want) }
	deliver := func() {
		t.Helper()
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte("Subject: 0123456789\r\n"), 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	c := e.login(t, "alice")
	deliver()
	deliver()
	if got := c.cmd("s", "SELECT INBOX"); !has(got, "* 2 EXISTS") || !has(got, "* 2 RECENT") {
		t.Fatalf("SELECT: %q", got)
	}
	deliver()
	claims := mail.recentClaims.Load()
	got := c.cmd("c", "COPY 1:2 INBOX")
	// Recent for this session: the two its SELECT claimed, the delivery
	// and the two copies.
	if !has(got, "* 5 EXISTS") || !has(got, "* 5 RECENT") || !strings.HasPrefix(last(got), "c OK [COPYUID ") || !strings.HasSuffix(last(got), " 1:2 4:5] COPY completed") {
		t.Errorf("COPY into the selected folder after a delivery: %q; want * 5 EXISTS, * 5 RECENT, OK [COPYUID v 1:2 4:5]", got)
	}
	if n := mail.recentClaims.Load() - claims; n != 0 {
		t.Errorf("COPY into the selected folder: %d claims of \\Recent of its own; want 0", n)
	}
	if got := e.login(t, "alice").cmd("s", "SELECT INBOX"); !has(got, "* 5 EXISTS") || !has(got, "* 0 RECENT") {
		t.Errorf("another session's SELECT after the COPY: %q; want * 5 EXISTS, * 0 RECENT", got)
	}

	// Another folder, or EXAMINE: nothing claimed.
	if got := last(c.cmd("m", "CREATE Projects")); !strings.HasPrefix(got, "m OK") {
		t.Fatalf("CREATE: %s", got)
	}
	if got := last(c.cmd("p", "COPY 1:2 Projects")); !strings.HasPrefix(got, "p OK [COPYUID ") {
		t.Fatalf("COPY to Projects: %s", got)
	}
	ex := e.login(t, "alice")
	ex.cmd("x", "EXAMINE INBOX")
	if got := ex.cmd("y", "COPY 1 INBOX"); !has(got, "* 6 EXISTS") || !has(got, "* 1 RECENT") {
		t.Errorf("COPY into an EXAMINEd folder: %q; want * 6 EXISTS and the copy shown recent, unclaimed", got)
	}
	other := e.login(t, "alice")
	if got := other.cmd("s", "SELECT Projects"); !has(got, "* 2 EXISTS") || !has(got, "* 2 RECENT") {
		t.Errorf("SELECT Projects after a COPY from a session with INBOX selected: %q; want * 2 RECENT", got)
	}
	if got := other.cmd("t", "SELECT INBOX"); !has(got, "* 6 EXISTS") || !has(got, "* 1 RECENT") {
		t.Errorf("SELECT INBOX after a COPY from an EXAMINE session: %q; want * 6 EXISTS, * 1 RECENT", got)
	}
	// A COPY of messages another session expunged meanwhile copies the
	// rest, and the copier's view stays whole.
	if got := last(other.cmd("d", `STORE 1 +FLAGS.SILENT (\Deleted)`)); !strings.HasPrefix(got, "d OK") {
		t.Fatalf("STORE: %s", got)
	}
	if got := last(other.cmd("e", "EXPUNGE")); !strings.HasPrefix(got, "e OK") {
		t.Fatalf("EXPUNGE: %s", got)
	}
	got = c.cmd("f", "COPY 1:2 INBOX")
	if !strings.HasPrefix(last(got), "f OK") || !has(got, "* 7 EXISTS") {
		t.Errorf("COPY after another session's EXPUNGE: %q; want OK and the copy reported (* 7 EXISTS before the EXPUNGE is told)", got)
	}
	if got := c.cmd("g", "NOOP"); !has(got, "* 1 EXPUNGE") {
		t.Errorf("NOOP after the COPY: %q; want the other session's EXPUNGE", got)
	}
}

// TestMailboxGUIDReadOnce: the GUID behind MAILBOXID and EMAILID (RFC
// 8474) is read once per mailbox for the process, not once per session.
func TestMailboxGUIDReadOnce(t *testing.T) {
	e, _, mail := newCountingEnv(t)
	var ids []string
	for range 3 {
		c := e.dial(t)
		c.cmd("a", "LOGIN alice@example.com pw-alice")
		for _, l := range c.cmd("b", "SELECT INBOX") {
			if strings.HasPrefix(l, "* OK [MAILBOXID (") {
				ids = append(ids, l)
			}
		}
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("MAILBOXID of three sessions: %q; want the same three times", ids)
	}
	if n := mail.guidReads.Load(); n != 1 {
		t.Errorf("%d GUID reads for three sessions of one mailbox; want 1", n)
	}
}

// TestStatusReadsRecentOnlyWhenAsked: STATUS counts \Recent (a read of
// its own) only for the RECENT item, and then counts it right.
func TestStatusReadsRecentOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	e, st, mail := newCountingEnv(t)
	for i := range 3 {
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial(t)
	c.cmd("a", "LOGIN alice@example.com pw-alice")
	status := func(items string, wantReads int64, wantLine string) {
		t.Helper()
		before := mail.recentReads.Load()
		got := c.cmd("s", "STATUS INBOX ("+items+")")
		if n := mail.recentReads.Load() - before; n != wantReads {
			t.Errorf("STATUS (%s): %d \\Recent reads; want %d", items, n, wantReads)
		}
		if got[0] != wantLine {
			t.Errorf("STATUS (%s): %q; want %q", items, got[0], wantLine)
		}
	}
	status("MESSAGES UNSEEN UIDNEXT", 0, "* STATUS INBOX (MESSAGES 3 UNSEEN 3 UIDNEXT 4)")
	status("MESSAGES RECENT", 1, "* STATUS INBOX (MESSAGES 3 RECENT 3)")
}

// TestAppendReadsChanges: an APPEND to the selected folder, and an
// EXPUNGE, tell the session every change since it last looked (another
// session's flag change and expunge, its own new message) from the
// changes the store read with the write where it reads them (PostgreSQL:
// no read of its own afterwards), from a read of its own otherwise
// (SQLite); and a change made after the APPEND is told at the next
// command, not lost with the signal the APPEND took.
func TestAppendReadsChanges(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var st store.Store
			if engine == "postgres" {
				s, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 4})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				st = s
			} else {
				st = sqlitetest.Open(t, sqlite.Options{})
			}
			mail := &countingMail{Mail: st}
			e := newEnvMail(t, st, mail)
			for i := range 3 {
				if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now())); err != nil {
					t.Fatal(err)
				}
			}
			a, b := e.login(t, "alice"), e.login(t, "alice")
			if got := a.cmd("s", "SELECT INBOX"); !slices.Contains(got, "* 3 EXISTS") {
				t.Fatalf("SELECT: %q", got)
			}
			b.cmd("s", "SELECT INBOX")
			b.cmd("f", "UID STORE 2 +FLAGS (\\Flagged)")
			b.cmd("d", "UID STORE 1 +FLAGS (\\Deleted)")
			b.cmd("x", "EXPUNGE")

			wantReads := int64(1)
			if engine == "postgres" {
				wantReads = 0 // read with the write
			}
			// run sends a command of a's and checks that its answer holds
			// want, that it read changes wantReads times, and that a
			// command that asks only after a signal (UID FETCH of uid)
			// then reads none: the command's own event is no news.
			run := func(what, cmd string, want []string, uid string) []string {
				t.Helper()
				reads := mail.changesReads.Load()
				got := a.cmd("p", cmd)
				for _, w := range want {
					if !slices.Contains(got, w) {
						t.Errorf("%s after another session's changes: %q; want %q among them", what, got, w)
					}
				}
				if n := mail.changesReads.Load() - reads; n != wantReads {
					t.Errorf("%s: %d reads of changes of its own; want %d", what, n, wantReads)
				}
				reads = mail.changesReads.Load()
				if got := a.cmd("u", "UID FETCH "+uid+" (UID)"); len(got) != 2 {
					t.Errorf("UID FETCH after the %s: %q; want its one FETCH", what, got)
				}
				if n := mail.changesReads.Load() - reads; n != 0 {
					t.Errorf("UID FETCH after the %s: %d reads of changes; want 0", what, n)
				}
				return got
			}
			// a had the three delivered messages as recent; the new one
			// is too, and UID 1 is gone.
			got := run("APPEND", "APPEND INBOX {21+}\r\nSubject: 0123456789\r\n",
				[]string{"* 1 EXPUNGE", "* 3 EXISTS", "* 3 RECENT", "* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent))"}, "4")
			if !strings.HasPrefix(last(got), "p OK [APPENDUID") {
				t.Fatalf("APPEND: %q", got)
			}
			b.cmd("g", "UID STORE 3 +FLAGS (\\Answered)")
			if got := a.cmd("v", "UID FETCH 4 (UID)"); !slices.Contains(got, "* 2 FETCH (UID 3 FLAGS (\\Answered \\Recent))") {
				t.Errorf("UID FETCH after another change: %q; want * 2 FETCH (UID 3 FLAGS (\\Answered \\Recent))", got)
			}

			// The same for an EXPUNGE: another session's flag change
			// before it is told from what the EXPUNGE read.
			a.cmd("d", "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
			b.cmd("h", "UID STORE 2 -FLAGS (\\Flagged)")
			run("EXPUNGE", "EXPUNGE", []string{"* 3 EXPUNGE", "* 1 FETCH (UID 2 FLAGS (\\Recent))"}, "3")
			if got := b.cmd("n", "NOOP"); !slices.Contains(got, "* 3 EXPUNGE") {
				t.Errorf("the other session's NOOP after the EXPUNGE: %q; want * 3 EXPUNGE", got)
			}
		})
	}
}
