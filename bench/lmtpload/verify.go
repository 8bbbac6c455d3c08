package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// A run counts a delivery when the server answered 250 for it; after the
// run, with the server stopped, lmtpload reads every recipient's INBOX
// back (Gatehouse through its store, Dovecot from its Maildir) and checks
// that each message sent is there once, whole (the message sent, after
// the trace fields the server put on top), in the INBOX of the recipient
// it was sent to. A run that fails the check ends lmtpload with the
// messages named: a fast figure for deliveries that did not land is not
// a figure.

// loadID is the Message-ID of message i of the corpus.
var loadID = regexp.MustCompile(`(?m)^Message-ID: <(\d+)\.lmtpload@example\.org>\r?$`)

// checkLanded checks what the INBOXes hold (got: recipient name → its
// messages as stored) against msgs, message i having been sent to
// recipients[i%len(recipients)]. Messages without a load Message-ID (a
// demo mailbox's own) are not the run's and are left alone. It returns the
// messages checked.
func checkLanded(got map[string][][]byte, msgs [][]byte) (int, error) {
	var errs []error
	fail := func(format string, args ...any) {
		if len(errs) < 10 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	seen := make([]bool, len(msgs))
	checked := 0
	for user, stored := range got {
		for _, m := range stored {
			sub := loadID.FindSubmatch(m)
			if sub == nil {
				continue
			}
			i, err := strconv.Atoi(string(sub[1]))
			if err != nil || i >= len(msgs) {
				fail("%s's INBOX holds a message with Message-ID %s, which was not sent", user, sub[1])
				continue
			}
			if to := recipients[i%len(recipients)]; to != user {
				fail("message %d landed in %s's INBOX; it was sent to %s", i, user, to)
				continue
			}
			if seen[i] {
				fail("message %d is twice in %s's INBOX", i, user)
				continue
			}
			seen[i] = true
			if !bytes.HasSuffix(lf(m), lf(msgs[i])) {
				fail("message %d in %s's INBOX (%d octets) is not the message sent (%d octets) after its trace fields", i, user, len(m), len(msgs[i]))
				continue
			}
			checked++
		}
	}
	missing := 0
	for i, ok := range seen {
		if !ok {
			if missing == 0 {
				fail("message %d, sent to %s and answered 250, is not in its INBOX", i, recipients[i%len(recipients)])
			}
			missing++
		}
	}
	if missing > 1 {
		fail("%d messages answered 250 are missing in all", missing)
	}
	return checked, errors.Join(errs...)
}

// lf returns b with CRLF line ends as LF (Dovecot's Maildir keeps LF).
func lf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// gatehouseInboxes reads every recipient's INBOX from a stopped
// Gatehouse's database (a SQLite file or a PostgreSQL DSN).
func gatehouseInboxes(db string) (map[string][][]byte, error) {
	ctx := context.Background()
	st, err := rig.OpenStore(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := map[string][][]byte{}
	for _, user := range recipients {
		r, err := st.Recipient(ctx, user+"@contoso.com")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", user, err)
		}
		f, err := st.FolderByName(ctx, r.MailboxID, "INBOX")
		if err != nil {
			return nil, fmt.Errorf("%s's INBOX: %w", user, err)
		}
		var metas []store.MessageMeta
		if err := st.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: math.MaxUint32}}, 0, func(m store.MessageMeta) error {
			metas = append(metas, m)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("%s's INBOX: %w", user, err)
		}
		for _, m := range metas {
			raw := make([]byte, m.Size)
			for off := 0; off < len(raw); {
				n, err := st.ReadBody(ctx, m.BodyID, int64(off), raw[off:])
				if err != nil || n == 0 {
					return nil, fmt.Errorf("%s's INBOX, UID %d: read %d of %d octets: %v", user, m.UID, off, len(raw), err)
				}
				off += n
			}
			out[user] = append(out[user], raw)
		}
	}
	return out, nil
}

// maildirInboxes reads every recipient's INBOX from Dovecot's Maildirs
// under dir (mail_location maildir:DIR/mail/%n/Maildir).
func maildirInboxes(dir string) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	for _, user := range recipients {
		for _, sub := range []string{"new", "cur"} {
			d := filepath.Join(dir, "mail", user, "Maildir", sub)
			entries, err := os.ReadDir(d)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(d, e.Name()))
				if err != nil {
					return nil, err
				}
				out[user] = append(out[user], b)
			}
		}
	}
	return out, nil
}
