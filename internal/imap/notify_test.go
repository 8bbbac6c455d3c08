package imap_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// The forms of NOTIFY and its refusals, and the events two sessions see of
// each other, are the transcripts testdata/transcripts/notify-*.txt.

// TestNotifyImaplibLMTP drives NOTIFY with Python's imaplib through the
// whole server on both engines: a delivery over LMTP, another session's
// APPEND and CREATE reach a session waiting between commands.
func TestNotifyImaplibLMTP(t *testing.T) {
	py := need(t, "python3")
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_notify.py",
				e.Addr("imap"), e.Addr("lmtp"), "christa@contoso.com", testenv.DemoPassword).CombinedOutput()
			t.Logf("imaplib NOTIFY:\n%s", out)
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
				t.Fatalf("session failed: %v", err)
			}
		})
	}
}

// expectLines reads n lines and checks each against want (prefixes).
func expectLines(t *testing.T, c *rawClient, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := c.line(); !strings.HasPrefix(got, w) {
			t.Fatalf("got %q; want %q...", got, w)
		}
	}
}

// quiet checks that nothing arrives within d.
func quiet(t *testing.T, c *rawClient, d time.Duration) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("unexpected %q", l)
	}
}

// TestNotifyTwoNodes: a NOTIFY session on one node hears of what happens
// on another node of the same PostgreSQL database (LISTEN/NOTIFY): an
// APPEND, a flag change and an expunge in a watched folder, a delivery
// over LMTP to INBOX, and a CREATE and RENAME.
func TestNotifyTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: PostgreSQL")
	}
	n1 := testenv.Start(t, testenv.Options{Demo: true, Postgres: true})
	n2 := testenv.Start(t, testenv.Options{DB: n1.DB})
	const user = "christa@contoso.com"
	login := func(c *rawClient) {
		c.line()
		if got := c.cmd("l", "LOGIN "+user+" "+testenv.DemoPassword); !strings.HasPrefix(got[len(got)-1], "l OK") {
			t.Fatalf("login: %v", got)
		}
	}
	a := dialRaw(t, n1.Addr("imap"))
	login(a)
	b := dialRaw(t, n2.Addr("imap"))
	login(b)
	b.cmd("b1", "CREATE Work")
	a.cmd("a1", "EXAMINE Drafts")
	got := a.cmd("a2", "NOTIFY SET STATUS (selected-delayed (MessageNew MessageExpunge)) (mailboxes (INBOX Work) (MessageNew MessageExpunge FlagChange)) (personal (MailboxName))")
	if len(got) != 3 || !strings.HasPrefix(got[0], "* STATUS INBOX (MESSAGES ") || !strings.HasPrefix(got[1], "* STATUS Work (MESSAGES 0 UIDNEXT 1 ") {
		t.Fatalf("NOTIFY SET STATUS: %q", got)
	}
	var inboxMessages int
	fmt.Sscanf(got[0], "* STATUS INBOX (MESSAGES %d", &inboxMessages)

	b.send("b2 APPEND Work {18+}\r\nSubject: two\r\n\r\nhi")
	expectLines(t, b, "b2 OK")
	expectLines(t, a, "* STATUS Work (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
	b.cmd("b3", "SELECT Work")
	b.cmd("b4", `STORE 1 +FLAGS (\Deleted)`)
	expectLines(t, a, "* STATUS Work (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
	b.cmd("b5", "EXPUNGE")
	expectLines(t, a, "* STATUS Work (MESSAGES 0 UIDNEXT 2 UIDVALIDITY ")

	lmtpDeliver(t, n2.Addr("lmtp"), user, "From: Bob <bob@example.org>\r\nTo: "+user+"\r\nSubject: lmtp\r\n\r\nhello\r\n")
	expectLines(t, a, fmt.Sprintf("* STATUS INBOX (MESSAGES %d ", inboxMessages+1))

	b.cmd("b6", "CREATE Projects")
	expectLines(t, a, `* LIST (\HasNoChildren) "/" Projects`)
	b.cmd("b7", "RENAME Projects Done")
	expectLines(t, a, `* LIST (\HasNoChildren) "/" Done ("OLDNAME" (Projects))`)
	quiet(t, a, 300*time.Millisecond)
}

// TestNotifyOverflow: a session that cannot take its notifications as
// fast as they come (here: busy with an APPEND whose literal is slow) gets
// "* OK [NOTIFICATIONOVERFLOW]" and no notifications after it (RFC 5465
// §5.8); and a NOTIFY SET watching more mailboxes than a session may is
// refused with NO [NOTIFICATIONOVERFLOW] (§3.1).
func TestNotifyOverflow(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := dialRaw(t, e.addr)
	a.login("alice")
	if got := a.cmd("a1", "NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))"); !strings.HasPrefix(got[len(got)-1], "a1 OK") {
		t.Fatalf("NOTIFY SET: %v", got)
	}
	a.send("a2 APPEND INBOX {18}")
	expectLines(t, a, "+ ")
	ctx := context.Background()
	for id := int64(1000); id < 1100; id++ {
		e.hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: e.boxes["alice"], FolderID: id})
	}
	a.send("Subject: one\r\n\r\nhi")
	expectLines(t, a, "* OK [NOTIFICATIONOVERFLOW] ", "a2 OK [APPENDUID ")
	// Notifications are off now, as after NOTIFY NONE.
	e.deliver(t, readMsg(t, "simple.eml"), "alice")
	b := dialRaw(t, e.addr)
	b.login("alice")
	b.cmd("b1", "CREATE Elsewhere")
	quiet(t, a, 300*time.Millisecond)
	if got := a.cmd("a3", "NOOP"); len(got) != 1 {
		t.Fatalf("NOOP after overflow: %q", got)
	}

	// Too many mailboxes for one NOTIFY SET.
	for i := range 1001 {
		if _, err := e.st.CreateFolder(ctx, e.boxes["alice"], fmt.Sprintf("F%04d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.cmd("a4", "NOTIFY SET (personal (MessageNew MessageExpunge))"); !strings.HasPrefix(got[len(got)-1], "a4 NO [NOTIFICATIONOVERFLOW] ") {
		t.Fatalf("NOTIFY SET over 1000 mailboxes: %q", got)
	}
	if got := a.cmd("a5", "NOTIFY SET (subtree F0001 (MessageNew MessageExpunge))"); !strings.HasPrefix(got[len(got)-1], "a5 OK") {
		t.Fatalf("NOTIFY SET for one of them: %q", got)
	}
}

// lmtpDeliver delivers body to rcpt over LMTP.
func lmtpDeliver(t *testing.T, addr, rcpt, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Fatalf("LMTP DATA: %v", err)
	}
}

// TestNotifyCompressTLS: notifications written between commands go through
// TLS and the session's COMPRESS=DEFLATE stream whole, interleaved with
// commands, and the session goes on after them.
func TestNotifyCompressTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(tls.NewListener(l, testTLSConfig(t)))
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newZClient(t, tls.Client(nc, insecureTLS()))
	c.ok("a1", "LOGIN alice pw-alice")
	c.compress("a2")
	c.ok("a3", "SELECT INBOX")
	c.ok("a4", "NOTIFY SET (selected (MessageNew (UID ENVELOPE) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))")
	b := dialRaw(t, e.addr)
	b.login("alice")
	for i := range 20 {
		e.deliver(t, readMsg(t, "simple.eml"), "alice")
		if got := c.expect("* "); got[0] != fmt.Sprintf("* %d EXISTS", i+1) {
			t.Fatalf("delivery %d: %q", i+1, got)
		}
		c.expect("* " + strconv.Itoa(i+1) + " RECENT")
		if got := c.line(); !strings.HasPrefix(got, fmt.Sprintf(`* %d FETCH (UID %d ENVELOPE ("Mon, 7 Feb 1994`, i+1, i+1)) {
			t.Fatalf("delivery %d: %q", i+1, got)
		}
		b.cmd("b1", fmt.Sprintf("CREATE Box%d", i))
		if got := c.line(); got != fmt.Sprintf(`* LIST (\HasNoChildren) "/" Box%d`, i) {
			t.Fatalf("CREATE %d: %q", i, got)
		}
		c.ok("n", "NOOP")
	}
	b.send("b2 APPEND Sent {18+}\r\nSubject: one\r\n\r\nhi")
	expectLines(t, b, "b2 OK")
	if got := c.line(); !strings.HasPrefix(got, "* STATUS Sent (MESSAGES 1 UIDNEXT 2 ") {
		t.Fatalf("APPEND to Sent: %q", got)
	}
	c.ok("z", "LOGOUT")
}
