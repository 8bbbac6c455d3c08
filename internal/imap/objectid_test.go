package imap_test

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
)

// readCountingBackend counts the octets its folders read with ReadBody.
type readCountingBackend struct {
	imap.Backend
	n *atomic.Int64
}

func (b readCountingBackend) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	u, err := b.Backend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return readCountingUser{u, b.n}, nil
}

type readCountingUser struct {
	imap.User
	n *atomic.Int64
}

func (u readCountingUser) Open(ctx context.Context, name string, changed func()) (imap.Folder, error) {
	f, err := u.User.Open(ctx, name, changed)
	if err != nil {
		return nil, err
	}
	return readCountingFolder{f, u.n}, nil
}

type readCountingFolder struct {
	imap.Folder
	n *atomic.Int64
}

// KeepPreviews passes previews on to the wrapped folder.
func (f readCountingFolder) KeepPreviews(ctx context.Context, previews map[int64]string) error {
	return f.Folder.(imap.PreviewKeeper).KeepPreviews(ctx, previews)
}

func (f readCountingFolder) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	n, err := f.Folder.ReadBody(ctx, bodyID, off, p)
	f.n.Add(int64(n))
	return n, err
}

// TestPreviewLargeMessage: the PREVIEW of a large message reads a bounded
// start of its text part, not the message, and is its first 256
// characters with white space collapsed.
func TestPreviewLargeMessage(t *testing.T) {
	var read atomic.Int64
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return readCountingBackend{b, &read} }})
	msg := bigMessage(8 << 20)
	e.deliver(t, []byte(msg), "alice")
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	read.Store(0)
	got := c.cmd("f", "FETCH 1 (PREVIEW)")
	if len(got) != 2 || !strings.HasPrefix(got[1], "f OK") {
		t.Fatalf("FETCH PREVIEW: %q", got)
	}
	body := msg[strings.Index(msg, "\r\n\r\n")+4:]
	want := strings.Join(strings.Fields(body), " ")[:256]
	want = strings.TrimRight(want, " ")
	if got[0] != `* 1 FETCH (PREVIEW "`+want+`")` {
		t.Errorf("preview:\n%s\nwant\n%s", got[0], want)
	}
	if n := read.Load(); n > 128<<10 {
		t.Errorf("PREVIEW of an 8 MB message read %d octets; want at most 128 KiB", n)
	}
}

// TestSaveDateSearch: SAVEDBEFORE, SAVEDON and SAVEDSINCE take the save
// date's day in UTC, as FETCH SAVEDATE shows it, the same way BEFORE, ON and
// SINCE take the internal date's; a message without a save date shows NIL
// and matches none of them; a copy is saved now, whatever the original's
// save date.
func TestSaveDateSearch(t *testing.T) {
	dir := t.TempDir()
	e, cleanup, err := startEnv(dir, envOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	for i := 0; i < 3; i++ {
		e.deliver(t, []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), "alice")
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for uid, at := range map[int]int64{
		1: time.Date(2024, 3, 14, 23, 30, 0, 0, time.UTC).UnixMicro(),
		2: time.Date(2024, 3, 15, 0, 10, 0, 0, time.UTC).UnixMicro(),
		3: 0,
	} {
		if _, err := raw.Exec(`UPDATE messages SET save_date = ? WHERE uid = ? AND folder_id = (SELECT id FROM folders WHERE mailbox_id = ? AND name = 'INBOX')`,
			at, uid, e.boxes["alice"]); err != nil {
			t.Fatal(err)
		}
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	expect := func(cmd string, want ...string) {
		t.Helper()
		got := c.cmd("t", cmd)
		if len(got) != len(want)+1 || !strings.HasPrefix(got[len(got)-1], "t OK") {
			t.Errorf("%s: %q; want %q and OK", cmd, got, want)
			return
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %q; want %q", cmd, got[i], want[i])
			}
		}
	}
	expect("FETCH 1:3 (SAVEDATE)",
		`* 1 FETCH (SAVEDATE "14-Mar-2024 23:30:00 +0000")`,
		`* 2 FETCH (SAVEDATE "15-Mar-2024 00:10:00 +0000")`,
		`* 3 FETCH (SAVEDATE NIL)`)
	expect("SEARCH SAVEDON 14-Mar-2024", "* SEARCH 1")
	expect("SEARCH SAVEDON 15-Mar-2024", "* SEARCH 2")
	expect("SEARCH SAVEDBEFORE 15-Mar-2024", "* SEARCH 1")
	expect("SEARCH SAVEDBEFORE 14-Mar-2024", "* SEARCH")
	expect("SEARCH SAVEDSINCE 15-Mar-2024", "* SEARCH 2")
	expect("SEARCH SAVEDSINCE 14-Mar-2024", "* SEARCH 1 2")
	expect("SEARCH NOT SAVEDSINCE 15-Mar-2024", "* SEARCH 1 3")
	expect("UID COPY 1 Archive")
	c.cmd("s", "SELECT Archive")
	today := time.Now().UTC().Format("2-Jan-2006")
	expect("SEARCH SAVEDON 14-Mar-2024", "* SEARCH")
	expect("SEARCH SAVEDON "+today, "* SEARCH 1")
	got := c.cmd("t", "FETCH 1 SAVEDATE")
	if m := regexp.MustCompile(`SAVEDATE "([^"]+)"`).FindStringSubmatch(got[0]); m == nil {
		t.Errorf("copy's SAVEDATE: %q", got)
	} else if d, err := time.Parse("02-Jan-2006 15:04:05 -0700", m[1]); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("copy's SAVEDATE %q; want now", m[1])
	}
}

// TestObjectIDsStable: object ids are well formed, the same in every
// session of a user, and differ between users for one shared message.
func TestObjectIDsStable(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "simple.eml"), "alice", "bob")
	idRE := regexp.MustCompile(`\(([A-Za-z0-9_-]{1,255})\)`)
	ids := func(user string) (mailbox, email string) {
		c := dialRaw(t, e.addr)
		c.login(user)
		for _, l := range c.cmd("s", "SELECT INBOX") {
			if strings.HasPrefix(l, "* OK [MAILBOXID ") {
				mailbox = idRE.FindStringSubmatch(l)[1]
			}
		}
		got := c.cmd("f", "FETCH 1 EMAILID")
		if m := idRE.FindStringSubmatch(got[0]); m != nil {
			email = m[1]
		}
		if mailbox == "" || email == "" {
			t.Fatalf("%s: no ids in SELECT or FETCH: %q", user, got)
		}
		st := c.cmd("t", "STATUS INBOX (MAILBOXID)")
		if st[0] != "* STATUS INBOX (MAILBOXID ("+mailbox+"))" {
			t.Errorf("%s: STATUS %q; want MAILBOXID %s", user, st[0], mailbox)
		}
		return mailbox, email
	}
	am, ae := ids("alice")
	am2, ae2 := ids("alice")
	if am != am2 || ae != ae2 {
		t.Errorf("ids change between sessions: %s %s, then %s %s", am, ae, am2, ae2)
	}
	bm, be := ids("bob")
	if be == ae || bm == am {
		t.Errorf("two users share ids: alice %s %s, bob %s %s", am, ae, bm, be)
	}
}

// TestPythonImaplibObjectID drives SAVEDATE, OBJECTID and PREVIEW with
// Python's imaplib.
func TestPythonImaplibObjectID(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "simple.eml"), "alice")
	e.deliver(t, readMsg(t, "multipart.eml"), "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_objectid.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib session failed: %v", err)
	}
}

// TestPreviewStored: a message appended through the backend has its
// preview stored with it, so FETCH PREVIEW reads none of its body, and the
// stored preview is the one made from the body of a message stored without
// one.
func TestPreviewStored(t *testing.T) {
	var read atomic.Int64
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return readCountingBackend{b, &read} }})
	names := []string{"simple.eml", "multipart.eml", "preview-html.eml", "preview-latin1.eml", "preview-qp.eml", "preview-none.eml"}
	for _, n := range names {
		e.deliver(t, readMsg(t, n), "alice") // no stored preview
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	for _, n := range names {
		msg := readMsg(t, n)
		c.send(fmt.Sprintf("a APPEND INBOX {%d+}", len(msg)))
		c.send(string(msg))
		for l := c.line(); !strings.HasPrefix(l, "a "); l = c.line() {
		}
	}
	c.cmd("s", "SELECT INBOX")
	read.Store(0)
	stored := c.cmd("f", "FETCH 7:12 (PREVIEW)")
	if n := read.Load(); n != 0 {
		t.Errorf("FETCH PREVIEW of appended messages read %d octets of their bodies; want 0", n)
	}
	made := c.cmd("g", "FETCH 1:6 (PREVIEW)")
	if len(stored) != len(made) {
		t.Fatalf("stored %q\nmade %q", stored, made)
	}
	seq := regexp.MustCompile(`^\* \d+ FETCH `)
	for i := range made[:len(made)-1] {
		a, b := seq.ReplaceAllString(stored[i], "* FETCH "), seq.ReplaceAllString(made[i], "* FETCH ")
		if a != b {
			t.Errorf("line %d: stored %q; made %q", i, stored[i], made[i])
		}
	}
	if read.Load() == 0 {
		t.Errorf("messages without a stored preview were not read")
	}
	// The previews made were kept: asked again, none is read.
	read.Store(0)
	again := c.cmd("h", "FETCH 1:6 (PREVIEW)")
	if n := read.Load(); n != 0 {
		t.Errorf("second FETCH PREVIEW read %d octets; want 0 (the previews made before are kept)", n)
	}
	for i := range made[:len(made)-1] {
		if again[i] != made[i] {
			t.Errorf("line %d: kept %q; made %q", i, again[i], made[i])
		}
	}
}
