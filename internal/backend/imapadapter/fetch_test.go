package imapadapter

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
)

// countingMail counts what the IMAP backend asks of the store, method by
// method, for the tests that check which commands need a store read.
type countingMail struct {
	store.Mail
	bodyReads, usageReads, guidReads, recentReads, metaReads atomic.Int64
}

func (m *countingMail) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	m.bodyReads.Add(1)
	return m.Mail.ReadBody(ctx, bodyID, off, p)
}

func (m *countingMail) ReadBodyHeads(ctx context.Context, bodyIDs []int64, heads [][]byte) ([]int, error) {
	m.bodyReads.Add(1)
	return m.Mail.ReadBodyHeads(ctx, bodyIDs, heads)
}

func (m *countingMail) MailboxUsage(ctx context.Context, mailboxID int64) (store.MailboxUsage, error) {
	m.usageReads.Add(1)
	return m.Mail.MailboxUsage(ctx, mailboxID)
}

func (m *countingMail) MailboxGUID(ctx context.Context, mailboxID int64) (string, error) {
	m.guidReads.Add(1)
	return m.Mail.MailboxGUID(ctx, mailboxID)
}

func (m *countingMail) RecentFrom(ctx context.Context, folderID int64) (uint32, error) {
	m.recentReads.Add(1)
	return m.Mail.RecentFrom(ctx, folderID)
}

func (m *countingMail) Messages(ctx context.Context, folderID int64, uids []store.UIDRange, want store.MetaFields, fn func(store.MessageMeta) error) error {
	m.metaReads.Add(1)
	return m.Mail.Messages(ctx, folderID, uids, want, fn)
}

// TestLongFetchReadsHeads: a FETCH of many messages (a message list's
// header fields, a client downloading the folder) sends each message whose
// items fit in its head prefix (store.HeadPrefixSize) without a body read
// of its own; only a message with a longer header, or a whole message
// longer than the prefix, is read again. What is sent is each message's
// exact content, whichever way it was read.
func TestLongFetchReadsHeads(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	mail := &countingMail{Mail: st}
	e := newEnvMail(t, st, mail)
	const n = 300 // more than one batch of heads (headPrefixBatch)
	raws := make([][]byte, n)
	for i := range raws {
		hdr := fmt.Sprintf("Subject: message %d\r\nFrom: a@example.com\r\n", i)
		body := strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), 1+i%50)
		switch i {
		case 7: // a header longer than the head prefix
			hdr += "X-Long: " + strings.Repeat("h", store.HeadPrefixSize) + "\r\n"
		case 11, 250: // a body longer than the head prefix, a short header
			body = strings.Repeat("b", 3*store.HeadPrefixSize) + "\r\n"
		}
		raws[i] = []byte(hdr + "\r\n" + body)
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage(raws[i], 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.com", "pw-alice").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var all goimap.SeqSet
	all.AddRange(1, n)
	fetch := func(name string, sec *goimap.FetchItemBodySection, wantReads int64, want func(raw []byte) []byte) {
		t.Helper()
		before := mail.bodyReads.Load()
		msgs, err := c.Fetch(all, &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := mail.bodyReads.Load() - before; got != wantReads {
			t.Errorf("%s: %d body reads besides the metadata; want %d", name, got, wantReads)
		}
		if len(msgs) != n {
			t.Fatalf("%s: %d messages; want %d", name, len(msgs), n)
		}
		for _, m := range msgs {
			i := m.SeqNum - 1
			if got := m.FindBodySection(sec); !bytes.Equal(got, want(raws[i])) {
				t.Errorf("%s: message %d: got %d octets %.60q; want %d octets %.60q", name, i, len(got), got, len(want(raws[i])), want(raws[i]))
			}
		}
	}
	fetch("HEADER.FIELDS (SUBJECT)", &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}, 1,
		func(raw []byte) []byte {
			s := string(raw)
			return []byte(s[:strings.Index(s, "\r\n")+2] + "\r\n")
		})
	fetch("BODY[]", &goimap.FetchItemBodySection{Peek: true}, 3, func(raw []byte) []byte { return raw })
}

// TestAppendReadsUsageOnce: an APPEND reads the mailbox's usage once (the
// hard limit's room and the warning limit together, imap.QuotaReader) and
// reads it again only when the message may take the mailbox to its
// warning limit, to warn with the exact figure.
func TestAppendReadsUsageOnce(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	mail := &countingMail{Mail: st}
	e := newEnvMail(t, st, mail)
	c := e.dial(t)
	if got := last(c.cmd("a", "LOGIN alice@example.com pw-alice")); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("LOGIN: %s", got)
	}
	appendMsg := func(name string, wantReads int64, wantWarning bool) {
		t.Helper()
		before := mail.usageReads.Load()
		got := c.cmd("p", "APPEND INBOX {21+}\r\nSubject: 0123456789\r\n")
		if !strings.HasPrefix(last(got), "p OK [APPENDUID") {
			t.Fatalf("%s: %q", name, got)
		}
		if n := mail.usageReads.Load() - before; n != wantReads {
			t.Errorf("%s: %d usage reads; want %d", name, n, wantReads)
		}
		if warned := strings.Contains(strings.Join(got, "\n"), "NO [OVERQUOTA]"); warned != wantWarning {
			t.Errorf("%s: %q; want a warning: %v", name, got, wantWarning)
		}
	}
	appendMsg("no quota", 1, false)
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxQuota(ctx, e.boxes["alice"], store.MailboxQuota{IssueWarning: 50, ProhibitSend: 1000, ProhibitSendReceive: 1000}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	appendMsg("21 + 21 of 50", 1, false)
	appendMsg("42 + 21 of 50: reaches the warning", 2, true)
	appendMsg("over the warning", 2, true)
}

// TestMailboxGUIDReadOnce: the GUID behind MAILBOXID and EMAILID (RFC
// 8474) is read once per mailbox for the process, not once per session.
func TestMailboxGUIDReadOnce(t *testing.T) {
	st := sqlitetest.Open(t, sqlite.Options{})
	mail := &countingMail{Mail: st}
	e := newEnvMail(t, st, mail)
	var ids []string
	for range 3 {
		c := e.dial(t)
		c.cmd("a", "LOGIN alice@example.com pw-alice")
		for _, l := range c.cmd("b", "SELECT INBOX") {
			if strings.HasPrefix(l, "* OK [MAILBOXID (") {
				ids = append(ids, l)
			}
		}
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("MAILBOXID of three sessions: %q; want the same three times", ids)
	}
	if n := mail.guidReads.Load(); n != 1 {
		t.Errorf("%d GUID reads for three sessions of one mailbox; want 1", n)
	}
}

// TestStatusReadsRecentOnlyWhenAsked: STATUS counts \Recent (a read of
// its own) only for the RECENT item, and then counts it right.
func TestStatusReadsRecentOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	mail := &countingMail{Mail: st}
	e := newEnvMail(t, st, mail)
	for i := range 3 {
		if _, err := st.Deliver(ctx, []int64{e.boxes["alice"]}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial(t)
	c.cmd("a", "LOGIN alice@example.com pw-alice")
	status := func(items string, wantReads int64, wantLine string) {
		t.Helper()
		before := mail.recentReads.Load()
		got := c.cmd("s", "STATUS INBOX ("+items+")")
		if n := mail.recentReads.Load() - before; n != wantReads {
			t.Errorf("STATUS (%s): %d \\Recent reads; want %d", items, n, wantReads)
		}
		if got[0] != wantLine {
			t.Errorf("STATUS (%s): %q; want %q", items, got[0], wantLine)
		}
	}
	status("MESSAGES UNSEEN UIDNEXT", 0, "* STATUS INBOX (MESSAGES 3 UNSEEN 3 UIDNEXT 4)")
	status("MESSAGES RECENT", 1, "* STATUS INBOX (MESSAGES 3 RECENT 3)")
}
