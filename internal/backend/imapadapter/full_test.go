package imapadapter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
)

// TestStorageFull runs an IMAP4rev1 session on a SQLite database that is
// full (a real SQLITE_FULL): SELECT and FETCH work without claiming
// \Recent, writes answer NO [UNAVAILABLE]; once space is freed the next
// session claims the messages as recent.
func TestStorageFull(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	e := newEnvOn(t, st)
	for i := range 2 {
		raw := fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", i)
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, store.NewMessage{InternalDate: time.Now(), Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Fill(t)

	c := e.dial(t)
	if got := last(c.cmd("a", "LOGIN alice@example.com pw-alice")); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("LOGIN: got %q; want OK", got)
	}
	const unavailable = "NO [UNAVAILABLE] Insufficient storage on the server; try again later"
	steps := []struct {
		cmd  string
		want []string // lines that must be in the answer, the tagged one last
	}{
		{"SELECT INBOX", []string{"* 2 EXISTS", "* 0 RECENT", "b OK [READ-WRITE]"}},
		{"FETCH 1:* (UID FLAGS)", []string{"* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "b OK"}},
		{"APPEND INBOX {18+}\r\nSubject: x\r\n\r\nbody", []string{"b " + unavailable}},
		{"STORE 1 +FLAGS (\\Seen)", []string{"b " + unavailable}},
		{"COPY 1 INBOX", []string{"b " + unavailable}},
		{"CREATE Archive", []string{"b " + unavailable}},
		{"EXAMINE INBOX", []string{"* 2 EXISTS", "b OK [READ-ONLY]"}},
	}
	for _, s := range steps {
		got := c.cmd("b", s.cmd)
		for i, w := range s.want {
			found := false
			for _, l := range got {
				if strings.HasPrefix(l, w) {
					found = true
				}
			}
			if i == len(s.want)-1 && !strings.HasPrefix(last(got), w) {
				found = false
			}
			if !found {
				t.Errorf("full: %s: got %q; want a line %q", s.cmd, got, w)
			}
		}
	}

	st.Free(t)
	c2 := e.dial(t)
	c2.cmd("a", "LOGIN alice@example.com pw-alice")
	got := c2.cmd("b", "SELECT INBOX")
	if !strings.Contains(strings.Join(got, "\n"), "* 2 RECENT") || !strings.HasPrefix(last(got), "b OK") {
		t.Errorf("freed: SELECT: got %q; want * 2 RECENT and OK", got)
	}
	if got := last(c2.cmd("c", "STORE 1 +FLAGS (\\Seen)")); !strings.HasPrefix(got, "c OK") {
		t.Errorf("freed: STORE: got %q; want OK", got)
	}
}
