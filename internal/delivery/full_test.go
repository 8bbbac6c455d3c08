package delivery_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/delivery"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
)

// TestStorageFull delivers over a real socket to a SQLite store whose
// database is full (a real SQLITE_FULL): LMTP answers 452 4.3.1 for each
// recipient, SMTP once for the message; once space is freed the same
// message is delivered.
func TestStorageFull(t *testing.T) {
	for _, proto := range []string{"lmtp", "smtp"} {
		t.Run(proto, func(t *testing.T) {
			st := sqlitetest.Open(t, sqlite.Options{})
			for _, name := range []string{"alice", "bob"} {
				m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: name + "@example.com",
					UserPrincipalName: name + "@example.com"}
				if err := st.Update(ctx, func(tx store.Tx) error {
					if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Example", Domain: "example.com"}); err != nil {
						return err
					}
					return tx.InsertMailbox(ctx, &m)
				}); err != nil {
					t.Fatal(err)
				}
			}
			o := delivery.Options{Store: st, Hub: notify.NewLocal(), Hostname: "mx.example.com"}
			srv := delivery.NewSMTP(o)
			if proto == "lmtp" {
				srv = delivery.NewLMTP(o)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Shutdown(ctx) })

			rcpts := []string{"alice@example.com", "bob@example.com"}
			// send returns the answer to the message per recipient (SMTP:
			// one answer, under "").
			send := func() map[string]error {
				t.Helper()
				conn, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				c := smtp.NewClient(conn)
				if proto == "lmtp" {
					c = smtp.NewClientLMTP(conn)
				}
				defer c.Close()
				if err := c.Hello("client.example.org"); err != nil {
					t.Fatal(err)
				}
				if err := c.Mail("sender@example.org", nil); err != nil {
					t.Fatal(err)
				}
				for _, rcpt := range rcpts {
					if err := c.Rcpt(rcpt, nil); err != nil {
						t.Fatalf("RCPT %s: %v", rcpt, err)
					}
				}
				w, err := c.Data()
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(w, "Subject: full\r\n\r\n"+strings.Repeat("A line of the body.\r\n", 500))
				if proto == "smtp" {
					return map[string]error{"": w.Close()}
				}
				resp, err := w.CloseWithLMTPResponse()
				out := map[string]error{}
				for rcpt := range resp {
					out[rcpt] = nil
				}
				var lerr smtp.LMTPDataError
				if errors.As(err, &lerr) {
					for rcpt, e := range lerr {
						out[rcpt] = e
					}
				} else if err != nil {
					t.Fatal(err)
				}
				return out
			}
			wantRcpts := 2
			if proto == "smtp" {
				wantRcpts = 1
			}

			st.Fill(t)
			errs := send()
			if len(errs) != wantRcpts {
				t.Fatalf("full: got %d answers; want %d", len(errs), wantRcpts)
			}
			for rcpt, err := range errs {
				var serr *smtp.SMTPError
				if !errors.As(err, &serr) || serr.Code != 452 || serr.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
					t.Errorf("full: answer for %q: got %v; want 452 4.3.1", rcpt, err)
				}
			}

			st.Free(t)
			if errs := send(); len(errs) != wantRcpts {
				t.Errorf("freed: got %d answers; want %d", len(errs), wantRcpts)
			} else {
				for rcpt, err := range errs {
					if err != nil {
						t.Errorf("freed: answer for %q: got %v; want 250", rcpt, err)
					}
				}
			}
			for _, name := range []string{"alice", "bob"} {
				var m store.Mailbox
				if err := st.View(ctx, func(tx store.Tx) error {
					var err error
					m, err = tx.MailboxByAddress(ctx, name+"@example.com")
					return err
				}); err != nil {
					t.Fatal(err)
				}
				f, err := st.FolderByName(ctx, m.ID, "INBOX")
				if err != nil {
					t.Fatal(err)
				}
				if f.Messages != 1 {
					t.Errorf("%s: got %d messages; want 1 (nothing from the full disk, one after)", name, f.Messages)
				}
			}
		})
	}
}
