package pop3adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// maildrop is the INBOX of one POP3 session, listed once at login (RFC
// 1939: message numbers are fixed for the session).
type maildrop struct {
	b         *Backend
	mailboxID int64
	folderID  int64
	uids      []uint32 // per message number - 1, ascending
	bodies    []int64
	msgs      []pop3.Message
	release   func() // unlocks the maildrop and ends the login session

	// ahead is the read-ahead of the next message's first chunk, started
	// when a message has been read to its end: POP3 clients download
	// message after message, and the store query then overlaps the
	// round trip to the client instead of following it.
	ahead *readAhead
	spare []byte // a read-ahead buffer to reuse
}

// readAhead is one message's first octets, being read in the background.
type readAhead struct {
	i    int
	buf  []byte
	n    int
	err  error
	done chan struct{}
}

// readAheadMax bounds what is read ahead: small messages are most of a
// mailbox, and the first chunk of a big one is all that is needed to hide
// the latency.
const readAheadMax = 32 << 10

var _ pop3.Maildrop = (*maildrop)(nil)

// allUIDs selects every message of a folder.
var allUIDs = []store.UIDRange{{Start: 1, Stop: math.MaxUint32}}

// openMaildrop lists the mailbox's INBOX: metadata only, one query.
func (b *Backend) openMaildrop(ctx context.Context, mailboxID int64) (*maildrop, error) {
	inbox, err := b.mail.FolderByName(ctx, mailboxID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("open INBOX of mailbox %d: %w", mailboxID, err)
	}
	md := &maildrop{b: b, mailboxID: mailboxID, folderID: inbox.ID}
	n := int(inbox.Messages)
	md.uids = make([]uint32, 0, n)
	md.bodies = make([]int64, 0, n)
	md.msgs = make([]pop3.Message, 0, n)
	err = b.mail.Messages(ctx, inbox.ID, allUIDs, 0, func(m store.MessageMeta) error {
		md.uids = append(md.uids, m.UID)
		md.bodies = append(md.bodies, m.BodyID)
		md.msgs = append(md.msgs, pop3.Message{Size: m.Size, UID: UIDL(m.ID)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list INBOX of mailbox %d: %w", mailboxID, err)
	}
	return md, nil
}

// UIDL is the POP3 unique-id of a message: the decimal form of its store
// ID, which is unique in the whole store and never reused (RFC 1939 §7
// asks for 1 to 70 characters in 0x21-0x7E, unique and never reused in the
// maildrop). It stays the same whether the message is seen over IMAP4 or
// POP3, and across sessions.
func UIDL(messageID int64) string {
	return strconv.FormatInt(messageID, 10)
}

func (md *maildrop) Messages() []pop3.Message { return md.msgs }

// errGone answers a RETR or TOP of a message that an IMAP4 session
// expunged after this session listed it.
var errGone = &pop3.Error{Text: "Message was removed by another session"}

func (md *maildrop) ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error) {
	n, err, ok := md.fromReadAhead(i, off, p)
	if !ok {
		n, err = md.read(ctx, i, off, p)
	}
	if off+int64(n) >= md.msgs[i].Size && i+1 < len(md.msgs) {
		md.startReadAhead(ctx, i+1)
	}
	return n, err
}

func (md *maildrop) read(ctx context.Context, i int, off int64, p []byte) (int, error) {
	n, err := md.b.mail.ReadBody(ctx, md.bodies[i], off, p)
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, store.ErrNotFound) {
			return n, errGone
		}
		return n, fmt.Errorf("read body of message %d: %w", i+1, err)
	}
	return n, err
}

// fromReadAhead serves a read from the read-ahead when it covers it.
func (md *maildrop) fromReadAhead(i int, off int64, p []byte) (int, error, bool) {
	ra := md.ahead
	if ra == nil || ra.i != i || off != 0 {
		return 0, nil, false
	}
	<-ra.done
	md.ahead = nil
	size := md.msgs[i].Size
	if ra.err != nil && !errors.Is(ra.err, io.EOF) || (ra.n < len(p) && int64(ra.n) < size) {
		// Failed or too short: read again, directly, and report what
		// that read says.
		return 0, nil, false
	}
	n := copy(p, ra.buf[:ra.n])
	md.spare = ra.buf
	if n < len(p) {
		return n, io.EOF, true
	}
	return n, nil, true
}

func (md *maildrop) startReadAhead(ctx context.Context, i int) {
	if md.ahead != nil {
		<-md.ahead.done // never in flight twice: it owns its buffer
	}
	want := min(md.msgs[i].Size, readAheadMax)
	if want <= 0 {
		md.ahead = nil
		return
	}
	buf := md.spare
	md.spare = nil
	if cap(buf) < int(want) {
		buf = make([]byte, readAheadMax)
	}
	ra := &readAhead{i: i, buf: buf[:want], done: make(chan struct{})}
	md.ahead = ra
	go func() {
		defer close(ra.done)
		ra.n, ra.err = md.read(ctx, i, 0, ra.buf)
	}()
}

// Delete expunges the messages in one store call (one transaction), then
// tells the IMAP4 sessions of the mailbox, which send EXPUNGE.
func (md *maildrop) Delete(ctx context.Context, msgs []int) error {
	ranges := make([]store.UIDRange, 0, len(msgs))
	for _, i := range msgs {
		uid := md.uids[i]
		// msgs ascend and so do the UIDs: merge neighbours.
		if k := len(ranges) - 1; k >= 0 && ranges[k].Stop+1 == uid {
			ranges[k].Stop = uid
			continue
		}
		ranges = append(ranges, store.UIDRange{Start: uid, Stop: uid})
	}
	removed, err := md.b.mail.Expunge(ctx, md.folderID, ranges)
	if err != nil {
		return fmt.Errorf("expunge %d messages from INBOX of mailbox %d: %w", len(ranges), md.mailboxID, err)
	}
	if len(removed) == 0 {
		// An IMAP4 session removed them first; nothing changed.
		return nil
	}
	md.b.folderChanged(ctx, md.mailboxID, md.folderID)
	return nil
}

func (md *maildrop) Close() {
	if md.release != nil {
		md.release()
		md.release = nil
	}
}
