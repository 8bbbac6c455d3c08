package pop3adapter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
)

// TestStorageFull runs POP3 sessions on a SQLite database that is full (a
// real SQLITE_FULL), made full before the first login or during it: login,
// STAT and RETR work; QUIT answers +OK although the lease cannot be
// released in the store; the next login of the same user is not refused
// [IN-USE] while a second session at once still is; and once space is
// freed the lease is released in the store in the background, so that
// another node can take the maildrop.
func TestStorageFull(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fillAtLogin bool // full before the first login, else during it
	}{
		{"full before login", true},
		{"full during session", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sqlitetest.Open(t, sqlite.Options{})
			e := newEnvOn(t, st)
			name := leaseName(e.boxes["alice"])
			login := func() *session {
				t.Helper()
				s := dial(t, e.addr)
				s.ok("USER alice@example.com")
				s.ok("PASS pw-alice")
				return s
			}

			if tc.fillAtLogin {
				st.Fill(t)
			}
			s := login()
			if !tc.fillAtLogin {
				st.Fill(t)
			}
			if got := s.ok("STAT"); !strings.HasPrefix(got, "+OK 3 ") {
				t.Errorf("STAT: got %q; want 3 messages", got)
			}
			s.ok("RETR 1")
			for l := s.line(); l != "."; l = s.line() {
			}
			other := dial(t, e.addr)
			other.ok("USER alice@example.com")
			if got, want := other.cmd("PASS pw-alice"), "-ERR [IN-USE] Another POP3 session is using this mailbox; try again later"; got != want {
				t.Errorf("second session at once: got %q; want %q", got, want)
			}
			s.ok("QUIT")
			for i := range 2 {
				// No waiting: the QUIT released the maildrop here.
				s := login()
				s.ok("STAT")
				if got := s.ok("QUIT"); !strings.HasPrefix(got, "+OK") {
					t.Errorf("login %d after QUIT: QUIT got %q", i+2, got)
				}
			}

			st.Free(t)
			// Another node: the lease must go from the store, by the
			// background retry, without waiting for it to lapse.
			deadline := time.Now().Add(20 * time.Second)
			for {
				ok, err := st.AcquireLease(ctx, name, "other-node", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("freed: the lease of the ended sessions is still held after 20 s")
				}
				time.Sleep(100 * time.Millisecond)
			}
			s2 := dial(t, e.addr)
			s2.ok("USER alice@example.com")
			if got, want := s2.cmd("PASS pw-alice"), "-ERR [IN-USE] Another POP3 session is using this mailbox; try again later"; got != want {
				t.Errorf("lease held by another node: got %q; want %q", got, want)
			}
			if err := st.ReleaseLease(ctx, name, "other-node"); err != nil {
				t.Fatal(err)
			}
			s3 := login()
			s3.ok("QUIT")
		})
	}
}
