package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, mtime, mtime)
}

// TestImportFromDisk imports a Maildir (flags, Dovecot keywords, Maildir++
// folders with modified UTF-7 names, a special folder) and an mbox file
// (mboxrd quoting, Status flags, From_ dates) with 'gatehouse import',
// twice: the second run adds nothing.
func TestImportFromDisk(t *testing.T) {
	data := t.TempDir()
	s := start(t, append([]string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1"}, ports()...)...)
	s.cmd.Process.Kill()
	s.cmd.Wait()

	md := filepath.Join(t.TempDir(), "Maildir")
	when := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	writeFile(t, filepath.Join(md, "cur", "1700000000.M1P1.old:2,S"), "Subject: one\n\nfirst\n", when)
	writeFile(t, filepath.Join(md, "new", "1700000001.M2P1.old"), "Subject: two\n\nsecond\n", when)
	writeFile(t, filepath.Join(md, ".Sent", "dovecot-keywords"), "0 $Forwarded\n1 Projekt\n", when)
	writeFile(t, filepath.Join(md, ".Sent", "cur", "1700000002.M3P1.old:2,RSab"), "Subject: sent\n\nthree\n", when)
	writeFile(t, filepath.Join(md, ".Entw&APw-rfe.Projekt", "cur", "1700000003.M4P1.old:2,F"), "Subject: draft\n\nfour\n", when)
	os.MkdirAll(filepath.Join(md, "tmp"), 0o755)
	mbox := filepath.Join(t.TempDir(), "old.mbox")
	writeFile(t, mbox, "From a@example.org Thu Jan  4 10:00:00 2024\nSubject: m1\nStatus: RO\n\n>From the start\nbody\n\n"+
		"From b@example.org Fri Jan  5 11:00:00 2024\nSubject: m2\nX-Status: AF\n\nbody two\n\n"+
		"From b@example.org Fri Jan  5 11:00:00 2024\nSubject: m2\nX-Status: AF\n\nbody two\n\n", when)

	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(binary, append([]string{"import", "--data", data, "--mailbox", "christa@contoso.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gatehouse import %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for i, want := range []string{"done: 3 folders, 4 messages read, 4 imported, 0 already", "done: 3 folders, 4 messages read, 0 imported, 4 already"} {
		if out := run("--maildir", md); !strings.Contains(out, want) {
			t.Errorf("Maildir run %d: got\n%s\nwant %q", i+1, out, want)
		}
	}
	for i, want := range []string{"done: 1 folders, 3 messages read, 3 imported, 0 already", "done: 1 folders, 3 messages read, 0 imported, 3 already"} {
		if out := run("--mbox", mbox, "--folder", "Old Mail"); !strings.Contains(out, want) {
			t.Errorf("mbox run %d: got\n%s\nwant %q", i+1, out, want)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mb store.Mailbox
	st.View(ctx, func(tx store.Tx) error { mb, err = tx.MailboxByAddress(ctx, "christa@contoso.com"); return err })
	want := map[string][]string{
		"Sent":             {"sent flags=3 kw=[$Forwarded Projekt]"},
		"Entwürfe/Projekt": {"draft flags=4 kw=[]"},
		"Old Mail":         {"m1 flags=1 kw=[]", "m2 flags=6 kw=[]", "m2 flags=6 kw=[]"},
	}
	for name, msgs := range want {
		f, err := st.FolderByName(ctx, mb.ID, name)
		if err != nil {
			t.Errorf("folder %q: %v", name, err)
			continue
		}
		var got []string
		st.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, store.MetaSummary|store.MetaBodyPrefix, func(m store.MessageMeta) error {
			kw := "[" + strings.Join(m.Keywords, " ") + "]"
			got = append(got, m.Subject+" flags="+strconv.Itoa(int(m.Flags))+" kw="+kw)
			if name == "Old Mail" && m.Subject == "m1" {
				if !strings.Contains(string(m.BodyPrefix), "\r\nFrom the start\r\n") || !m.InternalDate.Equal(time.Date(2024, 1, 4, 10, 0, 0, 0, time.UTC)) {
					t.Errorf("m1: body %q, date %v; want the From line unquoted, CRLF, and the From_ date", m.BodyPrefix, m.InternalDate)
				}
			}
			if name == "Sent" && !m.InternalDate.Equal(when) {
				t.Errorf("Sent: internal date %v; want the file's time %v", m.InternalDate, when)
			}
			return nil
		})
		if strings.Join(got, "|") != strings.Join(msgs, "|") {
			t.Errorf("folder %q: got %v; want %v", name, got, msgs)
		}
	}
}

// TestImportWakesIdle: a session in IDLE on the running server hears of
// mail that 'gatehouse import' (another process) adds, as of a delivery,
// before its periodic re-check (30 s) would find it: the import hands its
// events to the server through the notify socket of the data directory.
func TestImportWakesIdle(t *testing.T) {
	data := t.TempDir()
	s := start(t, append([]string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1"}, ports()...)...)
	nc, err := net.Dial("tcp", s.addrs["IMAP4"])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	n := 0
	cmd := func(c string) string {
		t.Helper()
		n++
		tag := fmt.Sprintf("w%d", n)
		fmt.Fprintf(nc, "%s %s\r\n", tag, c)
		var all strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v (after %q)", c, err, all.String())
			}
			all.WriteString(line)
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					t.Fatalf("%s: %s", c, line)
				}
				return all.String()
			}
		}
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cmd("LOGIN christa@contoso.com Contoso-Demo-2026")
	sel := cmd("SELECT INBOX")
	var exists int
	if m := regexp.MustCompile(`\* (\d+) EXISTS`).FindStringSubmatch(sel); m != nil {
		fmt.Sscan(m[1], &exists)
	}
	fmt.Fprintf(nc, "i1 IDLE\r\n")
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+") {
		t.Fatalf("IDLE: %q %v", line, err)
	}
	md := filepath.Join(t.TempDir(), "Maildir")
	writeFile(t, filepath.Join(md, "cur", "1700000000.M1P1.old:2,S"), "Subject: imported\n\nhello\n", time.Now())
	os.MkdirAll(filepath.Join(md, "new"), 0o755)
	started := time.Now()
	out, err := exec.Command(binary, "import", "--data", data, "--mailbox", "christa@contoso.com", "--maildir", md).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 imported") {
		t.Fatalf("gatehouse import: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "note:") {
		t.Errorf("import did not reach the running server:\n%s", out)
	}
	// Well before the 30 s periodic re-check of IDLE.
	nc.SetReadDeadline(started.Add(20 * time.Second))
	want := fmt.Sprintf("* %d EXISTS", exists+1)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no %q in IDLE after the import: %v", want, err)
		}
		if strings.HasPrefix(line, want) {
			t.Logf("IDLE heard %q %v after the import started", strings.TrimSpace(line), time.Since(started).Round(time.Millisecond))
			break
		}
	}
	nc.SetReadDeadline(time.Time{})
	fmt.Fprintf(nc, "DONE\r\n")
}
