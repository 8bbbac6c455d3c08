package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
