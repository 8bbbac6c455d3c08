package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/store/movestore"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// needProgram returns the path of a program the test drives, skipping
// without it (failing under GATEHOUSE_TEST_STRICT).
func needProgram(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s is not installed; scripts/test.sh should have installed it", prog)
		}
		t.Skipf("SKIPPED: %s is not installed; this test drives the real program", prog)
	}
	return p
}

// emptyInMoveFixture are the tables TestMoveStore's fixture leaves empty,
// each with why. Every other table must have rows, so that the move is
// checked on it: a table added to the schema later fails the test until
// the fixture fills it or it is named here.
var emptyInMoveFixture = map[string]string{
	"admin_sessions":      "admin center sign-ins; copied like any table, none made here",
	"commit_barriers":     "written by PostgreSQL's commits of new mail only; SQLite never writes it",
	"import_items":        "import from disk; covered by TestImport",
	"leases":              "held only while a node sends the outbound queue or runs a migration",
	"migration_endpoints": "IMAP migration; covered by the migration tests",
	"migration_batches":   "IMAP migration",
	"migration_users":     "IMAP migration",
	"migration_folders":   "IMAP migration",
	"migration_messages":  "IMAP migration",
	"migration_skipped":   "IMAP migration",
	"outbound_queue":      "submission; no smarthost here",
	"session_reports":     "written by long sessions' reports",
}

// folderStatus is STATUS of a folder: what a client keeps to decide
// whether to download again.
func folderStatus(t *testing.T, addr, folder string) *goimap.StatusData {
	t.Helper()
	c := imapLogin(t, addr)
	defer func() { c.Logout().Wait() }()
	st, err := c.Status(folder, &goimap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS %s: %v", folder, err)
	}
	return st
}

// TestMoveStore grows a demo organization with 10,000 messages on SQLite,
// syncs it with mbsync, moves it into an empty PostgreSQL database with
// 'gatehouse move-store', serves it from two nodes on PostgreSQL and syncs
// again: mbsync downloads nothing (same UIDVALIDITY, same UIDs), a new
// delivery on one node gets the next UID and reaches mbsync through the
// other.
func TestMoveStore(t *testing.T) {
	mbsync := needProgram(t, "mbsync")
	const total = 10_000
	data := t.TempDir()
	args := append([]string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1"}, ports()...)
	s := start(t, args...)

	// 10,000 messages over 8 LMTP connections: most to Christa's INBOX,
	// every fifth to a colleague.
	startLoad := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", s.addrs["LMTP"])
			if err != nil {
				errs <- err
				return
			}
			cl := smtp.NewClientLMTP(conn)
			defer cl.Close()
			for i := g; i < total; i += 8 {
				rcpt := demoUser
				if i%5 == 4 {
					rcpt = "kim@contoso.com"
				}
				lines := i % 40
				if i%1000 == 7 {
					lines = 20_000 // ~500 KB: bodies over several storage chunks
				}
				msg := fmt.Sprintf("From: gen%d@example.org\r\nTo: %s\r\nSubject: generated %d\r\nMessage-ID: <gen%d@example.org>\r\n\r\nbody of generated message %d\r\n%s",
					i, rcpt, i, i, i, strings.Repeat("some text of the message\r\n", lines))
				if err := cl.SendMail("gen@example.org", []string{rcpt}, strings.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("delivery %d to %s: %w", i, rcpt, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("delivered %d messages in %v", total, time.Since(startLoad).Round(time.Millisecond))

	// An app password and an authentication policy, so that their tables
	// are moved and checked too.
	shell := exec.Command(binary, "shell", "--server", "http://"+s.addrs["Admin"], "--user", "admin", "--password", "x-Admin-Pass-1",
		"--history", "-", "-c", `New-AppPassword -Identity `+demoUser+` -Name Phone; New-AuthenticationPolicy -Name "No POP3" -AllowBasicAuthPop:$false`)
	if out, err := shell.CombinedOutput(); err != nil {
		t.Fatalf("shell: %v\n%s", err, out)
	}

	// Flags, keywords and expunges, so that MODSEQ and the expunge records
	// have something to carry.
	c := imapLogin(t, s.addrs["IMAP4"])
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var some goimap.SeqSet
	some.AddRange(1, 300)
	if err := c.Store(some, &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagSeen, "$Moved"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	var gone goimap.SeqSet
	gone.AddRange(301, 320)
	if err := c.Store(gone, &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()

	// mbsync before the move.
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	os.MkdirAll(maildir, 0o700)
	rc := filepath.Join(dir, "mbsyncrc")
	writeRC := func(addr string) {
		host, port, _ := net.SplitHostPort(addr)
		conf := fmt.Sprintf("IMAPAccount gh\nHost %s\nPort %s\nUser %s\nPass %s\nSSLType None\nAuthMechs LOGIN\n\nIMAPStore remote\nAccount gh\n\n"+
			"MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\nChannel ch\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\nSync All\n",
			host, port, demoUser, demoPassword, maildir, maildir)
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runMbsync := func(what string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
		defer cancel()
		started := time.Now()
		out, err := exec.CommandContext(ctx, mbsync, "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s", what, err, out)
		}
		t.Logf("mbsync %s: %v", what, time.Since(started).Round(time.Millisecond))
		return string(out)
	}
	files := func() []string {
		var out []string
		filepath.Walk(maildir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (filepath.Base(filepath.Dir(p)) == "cur" || filepath.Base(filepath.Dir(p)) == "new") {
				rel, _ := filepath.Rel(maildir, p)
				out = append(out, rel)
			}
			return nil
		})
		sort.Strings(out)
		return out
	}
	writeRC(s.addrs["IMAP4"])
	runMbsync("before the move")
	beforeFiles := files()
	before := folderStatus(t, s.addrs["IMAP4"], "INBOX")
	wantInbox := int(total - total/5 - 20)
	if n := int(*before.NumMessages); n < wantInbox {
		t.Fatalf("INBOX has %d messages before the move; want at least %d", n, wantInbox)
	}

	// Refused while the server runs.
	target := pgtest.NewDatabase(t)
	if out, code := runCmd(t, "move-store", "--data", data, "--to", target); code != 1 || !strings.Contains(out, "in use by a running gatehouse server") {
		t.Fatalf("move-store while serving: exit %d\n%s", code, out)
	}
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()

	// Refused into a database that has a table, which stays as it was.
	busy := pgtest.NewDatabase(t)
	bdb, err := sql.Open("pgx", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if _, err := bdb.Exec(`CREATE TABLE customers (id int); INSERT INTO customers VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if out, code := runCmd(t, "move-store", "--data", data, "--to", busy); code != 1 || !strings.Contains(out, "not empty") || !strings.Contains(out, "customers") {
		t.Errorf("move-store into a non-empty database: exit %d\n%s", code, out)
	}
	var tables int
	bdb.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables)
	if tables != 1 {
		t.Errorf("the non-empty database has %d tables after the refused move; want its 1", tables)
	}

	// Every table has rows in the fixture but those named in
	// emptyInMoveFixture.
	info, err := sqlite.CheckFile(context.Background(), filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range info.Tables {
		_, allowedEmpty := emptyInMoveFixture[name]
		if n == 0 && !allowedEmpty {
			t.Errorf("table %s has no rows in the fixture: fill it (or name it in emptyInMoveFixture with why), so that move-store is checked on it", name)
		}
	}

	moveStart := time.Now()
	out, code := runCmd(t, "move-store", "--data", data, "--to", target)
	if code != 0 || !strings.Contains(out, "verified: every table has the same rows in both databases") {
		t.Fatalf("move-store: exit %d\n%s", code, out)
	}
	t.Logf("move-store took %v", time.Since(moveStart).Round(time.Millisecond))
	if !strings.Contains(out, "messages") || !strings.Contains(out, "rows copied") {
		t.Errorf("move-store printed no progress:\n%s", out)
	}
	// The target's tables hold what the source's do.
	hashes, err := movestore.Hash(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range info.Tables {
		if hashes[name].Rows != n {
			t.Errorf("table %s: %d rows in PostgreSQL; %d in SQLite", name, hashes[name].Rows, n)
		}
	}

	// Two nodes on PostgreSQL.
	pgArgs := func() []string {
		return append([]string{"--db", target, "--data", data, "--admin-password", "x-Admin-Pass-1"}, ports()...)
	}
	n1 := start(t, pgArgs()...)
	n2 := start(t, pgArgs()...)
	after := folderStatus(t, n2.addrs["IMAP4"], "INBOX")
	if after.UIDValidity != before.UIDValidity || after.UIDNext != before.UIDNext || *after.NumMessages != *before.NumMessages || after.HighestModSeq != before.HighestModSeq {
		t.Fatalf("INBOX after the move: UIDVALIDITY %d UIDNEXT %d MESSAGES %d HIGHESTMODSEQ %d; before: %d %d %d %d",
			after.UIDValidity, after.UIDNext, *after.NumMessages, after.HighestModSeq,
			before.UIDValidity, before.UIDNext, *before.NumMessages, before.HighestModSeq)
	}
	writeRC(n2.addrs["IMAP4"])
	runMbsync("after the move, from node 2")
	if got := files(); strings.Join(got, "\n") != strings.Join(beforeFiles, "\n") {
		t.Fatalf("mbsync changed the local mail after the move: %d files before, %d after", len(beforeFiles), len(got))
	}

	// A delivery through node 1 takes the next UID (the sequences and
	// counters were set past the copied rows) and reaches mbsync through
	// node 2.
	cl := lmtpClient(t, n1.addrs["LMTP"])
	if err := cl.SendMail("s@example.org", []string{demoUser}, strings.NewReader("Subject: after the move\r\n\r\nhello from PostgreSQL\r\n")); err != nil {
		t.Fatalf("delivery after the move: %v", err)
	}
	now := folderStatus(t, n2.addrs["IMAP4"], "INBOX")
	if now.UIDNext != before.UIDNext+1 || *now.NumMessages != *before.NumMessages+1 {
		t.Errorf("after one delivery: UIDNEXT %d MESSAGES %d; want %d and %d", now.UIDNext, *now.NumMessages, before.UIDNext+1, *before.NumMessages+1)
	}
	runMbsync("after a new delivery")
	if got := files(); len(got) != len(beforeFiles)+1 {
		t.Errorf("mbsync after one new delivery: %d local files; want %d", len(got), len(beforeFiles)+1)
	}
	t.Logf("moved %d tables; INBOX UIDVALIDITY %d, UIDNEXT %d, %d messages kept; mbsync downloaded nothing again (%d local files)",
		len(info.Tables), before.UIDValidity, before.UIDNext, *before.NumMessages, len(beforeFiles))
}
