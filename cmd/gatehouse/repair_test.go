package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// damagedStore makes a SQLite data directory with one mailbox of three
// messages, whose INBOX counters are then set wrong behind the store's back
// (as a crash of an earlier version could leave them).
func damagedStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	path := filepath.Join(data, "gatehouse.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb := store.Mailbox{Name: "Kim", DisplayName: "Kim", Alias: "kim", PrimarySmtpAddress: "kim@contoso.com", UserPrincipalName: "kim@contoso.com", PasswordHash: "x"}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &mb) }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := st.Deliver(ctx, []int64{mb.ID}, store.NewMessage{Raw: []byte("Subject: x\r\n\r\nx\r\n")}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE folders SET messages = 60, unseen = 0 WHERE name = 'INBOX'`); err != nil {
		t.Fatal(err)
	}
	return data
}

func runRepair(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"repair"}, args...)...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestRepairCommand(t *testing.T) {
	data := damagedStore(t)
	// The admin search's words too: one missing, one naming nothing.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM mailbox_words WHERE word = 'kim'`, `INSERT INTO mailbox_words (word, mailbox_id) SELECT 'stale', id FROM mailboxes`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	const words = "the admin list's search words: 1 missing, 1 naming no mailbox's value"
	out, code := runRepair(t, "--check", "--data", data)
	if code != 1 || !strings.Contains(out, `wrong: folder "INBOX"`) || !strings.Contains(out, "messages 60→3") || !strings.Contains(out, "wrong: "+words) {
		t.Fatalf("repair --check of a damaged store: exit %d, output:\n%s\nwant exit 1 naming INBOX with messages 60→3, and the words", code, out)
	}
	out, code = runRepair(t, "--data", data)
	if code != 0 || !strings.Contains(out, `repaired: folder "INBOX"`) || !strings.Contains(out, "repaired: "+words) {
		t.Fatalf("repair: exit %d, output:\n%s", code, out)
	}
	out, code = runRepair(t, "--check", "--data", data)
	if code != 0 || !strings.Contains(out, "nothing wrong") {
		t.Fatalf("repair --check after repair: exit %d, output:\n%s", code, out)
	}
	missing := filepath.Join(t.TempDir(), "nothing-here")
	if out, code := runRepair(t, "--check", "--data", missing); code != 1 || !strings.Contains(out, "no database at") {
		t.Errorf("repair of a data directory without a database: exit %d, output %q; want 1 and 'no database at'", code, out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("repair created %s", missing)
	}
	if out, code := runRepair(t, "--check", "--db", "mysql://nope"); code != 2 || !strings.Contains(out, "db") {
		t.Errorf("repair with a bad --db: exit %d, output %q; want 2 and a message naming db", code, out)
	}
}

// TestServeRepairsAtStart checks that serve finds and fixes damaged
// counters at start and says so in its log.
func TestServeRepairsAtStart(t *testing.T) {
	data := damagedStore(t)
	s := start(t, append([]string{"--data", data, "--admin-password", "x-Admin-Pass-1"}, ports()...)...)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	if log := s.errb.String(); !strings.Contains(log, "repaired folder counters") || !strings.Contains(log, "folder=INBOX") {
		t.Fatalf("serve log does not report the repair:\n%s", log)
	}
	if out, code := runRepair(t, "--check", "--data", data); code != 0 {
		t.Errorf("store after serve's repair: exit %d\n%s", code, out)
	}
}
