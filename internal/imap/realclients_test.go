package imap_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// need returns the path of a program the test drives, or skips loudly.
func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s is not installed; scripts/test.sh should have installed it", prog)
		}
		t.Skipf("SKIPPED: %s is not installed; this test drives the real program (Debian package: see .ci/run)", prog)
	}
	return p
}

// TestPythonImaplib runs a full session with Python's imaplib, including
// IDLE woken by an APPEND from a second session.
func TestPythonImaplib(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "simple.eml"), "alice")
	e.deliver(t, readMsg(t, "multipart.eml"), "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_session.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib session failed: %v", err)
	}
}

// TestPythonImaplibAppend sends MULTIAPPEND, CATENATE and literal8 APPENDs
// with Python's imaplib and reads BINARY back.
func TestPythonImaplibAppend(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "multipart.eml"), "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_append.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib session failed: %v", err)
	}
}

// TestCurl reads mail with curl's IMAP support.
func TestCurl(t *testing.T) {
	curl := need(t, "curl")
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "simple.eml"), "alice")
	e.deliver(t, readMsg(t, "multipart.eml"), "alice")
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "--user", "alice:pw-alice"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	base := "imap://" + e.addr
	if got := run(base + "/"); !strings.Contains(got, `"/" INBOX`) || !strings.Contains(got, "Sent") {
		t.Errorf("curl LIST: %q", got)
	}
	if got, want := run(base+"/INBOX;UID=1"), string(readMsg(t, "simple.eml")); got != want {
		t.Errorf("curl UID=1:\n%q\nwant\n%q", got, want)
	}
	if got := run(base + "/INBOX;UID=2/;SECTION=1.1"); got != "plain text with the word kumquat" {
		t.Errorf("curl SECTION=1.1: %q", got)
	}
	if got := run(base + "/INBOX?SUBJECT%20meeting"); !strings.Contains(got, "SEARCH 1") {
		t.Errorf("curl SEARCH: %q", got)
	}
	if got := run("-X", "STATUS INBOX (MESSAGES UNSEEN)", base+"/"); !strings.Contains(got, "MESSAGES 2") {
		t.Errorf("curl STATUS: %q", got)
	}
}

// TestMbsync syncs a 1,000-message mailbox both ways with mbsync (isync):
// down from the server, up from a local Maildir, changes in both
// directions, and once more with nothing to do.
func TestMbsync(t *testing.T) {
	mbsync := need(t, "mbsync")
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: 1,000 messages")
	}
	e := newEnv(t, envOptions{})
	for i := 0; i < 1000; i++ {
		e.deliver(t, []byte(fmt.Sprintf("From: sender%d@example.com\r\nTo: alice@example.com\r\nSubject: message %d\r\nMessage-ID: <m%d@example.com>\r\n\r\nbody of message %d\r\n", i, i, i, i)), "alice")
	}
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	// A local folder with 20 messages to upload.
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, "Local", sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		name := filepath.Join(maildir, "Local", "cur", fmt.Sprintf("%d.local%d.host:2,S", 1700000000+i, i))
		if err := os.WriteFile(name, []byte(fmt.Sprintf("Subject: local %d\n\nlocal body %d\n", i, i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := net.SplitHostPort(e.addr)
	rc := filepath.Join(dir, "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount gh
Host %s
Port %s
User alice
Pass pw-alice
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account gh

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, maildir, maildir)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	sync := func(what string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, mbsync, "-c", rc, "-a").CombinedOutput()
		d := time.Since(start)
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s", what, err, out)
		}
		t.Logf("mbsync %s: %v\n%s", what, d.Round(time.Millisecond), out)
		return d
	}
	count := func(folder string) int {
		t.Helper()
		n := 0
		for _, sub := range []string{"cur", "new"} {
			es, _ := os.ReadDir(filepath.Join(maildir, folder, sub))
			n += len(es)
		}
		return n
	}
	serverCount := func(folder string) uint32 {
		t.Helper()
		f, err := e.st.FolderByName(context.Background(), e.boxes["alice"], folder)
		if err != nil {
			t.Fatalf("server folder %s: %v", folder, err)
		}
		return f.Messages
	}

	sync("first")
	if n := count("INBOX"); n != 1000 {
		t.Errorf("local INBOX has %d messages; want 1000", n)
	}
	if n := serverCount("Local"); n != 20 {
		t.Errorf("server folder Local has %d messages; want 20", n)
	}

	// Changes on both sides: a local flag and a local deletion, a server
	// expunge and a new delivery.
	var files []string
	for _, sub := range []string{"cur", "new"} {
		es, _ := os.ReadDir(filepath.Join(maildir, "INBOX", sub))
		for _, de := range es {
			files = append(files, filepath.Join(maildir, "INBOX", sub, de.Name()))
		}
	}
	if len(files) < 2 {
		t.Fatalf("local INBOX has %d files", len(files))
	}
	// Flag one (moving it to cur/ with the F info flag), delete another.
	flagged := files[0]
	name := filepath.Base(flagged)
	if !strings.Contains(name, ":2,") {
		name += ":2,"
	}
	if err := os.Rename(flagged, filepath.Join(maildir, "INBOX", "cur", name+"F")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	c.cmd("d", "UID STORE 1000 +FLAGS.SILENT (\\Deleted)")
	c.cmd("x", "UID EXPUNGE 1000")
	c.cmd("o", "LOGOUT")
	e.deliver(t, []byte("Subject: new on the server\r\n\r\nnew\r\n"), "alice")

	sync("second, with changes")
	if n := count("INBOX"); n != 999 {
		t.Errorf("local INBOX has %d messages; want 999 (1000 - 1 local deletion - 1 server expunge + 1 new)", n)
	}
	if n := serverCount("INBOX"); n != 999 {
		t.Errorf("server INBOX has %d messages; want 999", n)
	}
	flaggedOnServer := 0
	err := e.st.Messages(context.Background(), mustFolder(t, e, "INBOX").ID, []store.UIDRange{{Start: 1, Stop: 100000}}, 0, func(m store.MessageMeta) error {
		if m.Flags&store.FlagFlagged != 0 {
			flaggedOnServer++
		}
		return nil
	})
	if err != nil || flaggedOnServer != 1 {
		t.Errorf("flagged on the server: %d, %v; want 1", flaggedOnServer, err)
	}

	sync("third, nothing to do")
	if n := count("INBOX"); n != 999 {
		t.Errorf("after the no-op sync local INBOX has %d messages; want 999", n)
	}
}

func mustFolder(t *testing.T, e *env, name string) store.Folder {
	t.Helper()
	f, err := e.st.FolderByName(context.Background(), e.boxes["alice"], name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPythonImaplibQuota drives QUOTA (RFC 9208) and [OVERQUOTA] with
// Python's imaplib against a mailbox with a 4,096-octet limit.
func TestPythonImaplibQuota(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	e.setQuota(t, "alice", store.MailboxQuota{ProhibitSendReceive: 4096})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_quota.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib quota session failed: %v", err)
	}
	u, err := e.st.MailboxUsage(ctx, e.boxes["alice"])
	if err != nil || u.Size != 2*2002 || u.Messages != 2 {
		t.Errorf("usage after the session: got %+v, %v; want 2 messages, 4004 octets", u, err)
	}
}

// TestPythonImaplibNUL appends a message holding NUL in a plain literal and
// in a literal8 with Python's imaplib and reads both back with BODY and
// BINARY (RFC 3516, RFC 9051 §4.3).
func TestPythonImaplibNUL(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_nul.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib NUL session failed: %v", err)
	}
}
