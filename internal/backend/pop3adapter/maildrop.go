package pop3adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// maildrop is the INBOX of one POP3 session, listed once at login (RFC
// 1939: message numbers are fixed for the session), or taken from the
// listing cache when the INBOX is as it was when last listed. uids,
// bodies, msgs and binary may be shared with other sessions (listing):
// they are never changed after the listing.
type maildrop struct {
	b         *Backend
	mailboxID int64
	folderID  int64
	uids      []uint32 // per message number - 1, ascending
	bodies    []int64
	msgs      []pop3.Message
	release   func() // unlocks the maildrop and ends the login session

	// Messages with binary parts (store.MessageMeta.HasBinary: NUL
	// octets, or bare CR and LF kept exactly in a part appended as
	// binary) are sent as IMAP4 presents them to a client without
	// BINARY: those parts base64-encoded (message.BinaryToBase64). A
	// POP3 multi-line response is made of CRLF-ended lines (RFC 1939
	// §3) and POP3 has no binary transfer, so that is the one form that
	// loses nothing. Their LIST size is the size of that form; the last
	// one converted is kept for the reads of its RETR.
	binary  map[int]int64 // message number - 1 to its stored size
	convI   int
	convBuf []byte

	// The read-ahead: POP3 clients download message after message, so
	// once a message has been read to its end, a worker goroutine reads
	// the first chunks of the next messages, up to readAheadDepth ahead.
	// The store's queries then overlap the round trips to the client
	// instead of following them. The worker reads a batch of messages in
	// one query (store.Mail.ReadBodyHeads): one read transaction and one
	// hand-over between goroutines per batch rather than per message.
	// Only the session goroutine touches these fields.
	ahead      []*aheadSlot      // scheduled, in message order
	aheadNext  int               // first message not yet scheduled
	aheadBytes int               // the buffers of ahead, in octets
	work       chan []*aheadSlot // batches to the worker; nil until started
	spare      [][]byte          // buffers to reuse

	// The rest of a large message: the read-ahead holds its first
	// readAheadMax octets, and what follows is read in one store call of
	// up to restMax octets rather than in one per chunk of the server's
	// (32 KiB; on PostgreSQL each is a round trip the session waits for).
	// restI is the message (-1: none) and restOff the offset of rest[0].
	restI   int
	restOff int64
	rest    []byte
}

// aheadSlot is one message's first octets, read by the worker.
type aheadSlot struct {
	i    int
	buf  []byte
	n    int
	err  error
	done chan struct{}
}

const (
	// readAheadDepth is how many messages are read ahead at most, and
	// readAheadBytes how many octets. The window is refilled once half of
	// it is used, so each batch holds about half of it. Each batch is one
	// query whose fixed cost (on PostgreSQL a round trip and a snapshot)
	// the session waits for: 8 messages (batches of 4) downloaded 1,246
	// and 1,910 messages/s with one session on PostgreSQL, 32 (batches of
	// 16) 2,417 and 2,674; with four sessions on SQLite 6,266 and 5,856
	// against 11,471 and 11,736 (docs/performance.md, change 7).
	readAheadDepth = 32
	readAheadBytes = 256 << 10
	// readAheadMax bounds what is read ahead of one message: most mail
	// is small, and the first chunk of a big message is all that is
	// needed to hide the latency.
	readAheadMax = 32 << 10
	// restMax bounds the rest of a large message read at once (a
	// session holds it while it sends the message); it is the store's
	// chunk size (sqlstore.ChunkSize), so that the first read of a
	// message's rest is one query.
	restMax = 256 << 10
)

// allUIDs selects every message of a folder.
var allUIDs = []store.UIDRange{{Start: 1, Stop: math.MaxUint32}}

// openMaildrop lists the mailbox's INBOX: metadata only, one query.
func (b *Backend) openMaildrop(ctx context.Context, mailboxID int64) (*maildrop, error) {
	inbox, err := b.mail.FolderByName(ctx, mailboxID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("open INBOX of mailbox %d: %w", mailboxID, err)
	}
	md := &maildrop{b: b, mailboxID: mailboxID, folderID: inbox.ID, restI: -1, convI: -1}
	if l := b.listings.get(inbox); l != nil {
		md.uids, md.bodies, md.msgs, md.binary = l.uids, l.bodies, l.msgs, l.binary
		return md, nil
	}
	n := int(inbox.Messages)
	md.uids = make([]uint32, 0, n)
	md.bodies = make([]int64, 0, n)
	md.msgs = make([]pop3.Message, 0, n)
	err = b.mail.Messages(ctx, inbox.ID, allUIDs, 0, func(m store.MessageMeta) error {
		md.uids = append(md.uids, m.UID)
		md.bodies = append(md.bodies, m.BodyID)
		if m.HasBinary {
			if md.binary == nil {
				md.binary = map[int]int64{}
			}
			md.binary[len(md.msgs)] = m.Size
		}
		md.msgs = append(md.msgs, pop3.Message{Size: m.Size, UID: UIDL(m.ID)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list INBOX of mailbox %d: %w", mailboxID, err)
	}
	for i := range md.binary {
		conv, err := md.converted(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("list INBOX of mailbox %d: %w", mailboxID, err)
		}
		md.msgs[i].Size = int64(len(conv))
	}
	b.listings.put(inbox, &listing{uids: md.uids, bodies: md.bodies, msgs: md.msgs, binary: md.binary})
	return md, nil
}

// converted returns message i with its binary parts base64-encoded.
func (md *maildrop) converted(ctx context.Context, i int) ([]byte, error) {
	if md.convI == i {
		return md.convBuf, nil
	}
	raw := make([]byte, md.binary[i])
	n, err := md.b.mail.ReadBody(ctx, md.bodies[i], 0, raw)
	if err == nil && n < len(raw) || errors.Is(err, io.EOF) && n < len(raw) {
		err = store.ErrNotFound
	} else if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errGone
		}
		return nil, fmt.Errorf("read body of message %d: %w", i+1, err)
	}
	md.convI, md.convBuf = i, message.BinaryToBase64(raw, message.Parse(raw))
	return md.convBuf, nil
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
	if _, ok := md.binary[i]; ok {
		conv, err := md.converted(ctx, i)
		if err != nil {
			return 0, err
		}
		if off >= int64(len(conv)) {
			return 0, io.EOF
		}
		n := copy(p, conv[off:])
		if off+int64(n) >= int64(len(conv)) {
			md.scheduleAfter(ctx, i)
			return n, io.EOF
		}
		return n, nil
	}
	n, err, ok := md.fromReadAhead(i, off, p)
	if !ok {
		n, err = md.readRest(ctx, i, off, p)
	}
	if off+int64(n) >= md.msgs[i].Size {
		if md.restI == i {
			md.restI = -1
			if cap(md.rest) > readAheadMax {
				md.rest = nil // large mail is rare: do not hold on to it
			}
		}
		md.scheduleAfter(ctx, i)
	}
	return n, err
}

// readRest serves a read that the read-ahead did not cover: straight into
// p when what is left of the message fits in it, else through md.rest.
func (md *maildrop) readRest(ctx context.Context, i int, off int64, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if n > 0 && pos >= md.msgs[i].Size {
			return n, io.EOF
		}
		if md.restI == i && pos >= md.restOff && pos < md.restOff+int64(len(md.rest)) {
			n += copy(p[n:], md.rest[pos-md.restOff:])
			continue
		}
		left := md.msgs[i].Size - pos
		if left <= int64(len(p)-n) {
			k, err := md.read(ctx, i, pos, p[n:])
			return n + k, err
		}
		want := int(min(left, restMax))
		if cap(md.rest) < want {
			md.rest = make([]byte, want)
		}
		k, err := md.read(ctx, i, pos, md.rest[:want])
		if k == 0 && err == nil {
			err = io.EOF
		}
		md.rest = md.rest[:k]
		md.restI, md.restOff = i, pos
		if k == 0 || err != nil && !errors.Is(err, io.EOF) {
			md.restI = -1
			return n, err
		}
		// On io.EOF with k > 0 (the message is shorter than its size),
		// what was read is served; the next read past it ends with io.EOF.
	}
	return n, nil
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

// fromReadAhead serves a read from the read-ahead when it covers it, and
// drops what was read ahead of messages the client skipped.
func (md *maildrop) fromReadAhead(i int, off int64, p []byte) (int, error, bool) {
	if off != 0 {
		return 0, nil, false
	}
	for len(md.ahead) > 0 && md.ahead[0].i < i {
		md.recycle(md.ahead[0])
		md.ahead = md.ahead[1:]
	}
	if len(md.ahead) == 0 || md.ahead[0].i != i {
		return 0, nil, false
	}
	slot := md.ahead[0]
	md.ahead = md.ahead[1:]
	defer md.recycle(slot)
	<-slot.done
	if slot.err != nil && !errors.Is(slot.err, io.EOF) || (slot.n < len(p) && int64(slot.n) < md.msgs[i].Size) {
		// Failed or too short: the caller reads directly and reports
		// what that read says.
		return 0, nil, false
	}
	n := copy(p, slot.buf[:slot.n])
	if n < len(p) {
		return n, io.EOF, true
	}
	return n, nil, true
}

// buffer returns a buffer of n octets, a spare one when one is large
// enough.
func (md *maildrop) buffer(n int) []byte {
	for k := len(md.spare) - 1; k >= 0; k-- {
		if b := md.spare[k]; cap(b) >= n {
			md.spare = append(md.spare[:k], md.spare[k+1:]...)
			return b[:n]
		}
	}
	return make([]byte, n)
}

// recycle keeps a finished slot's buffer for the next one (at most
// readAheadDepth of them).
func (md *maildrop) recycle(slot *aheadSlot) {
	<-slot.done
	md.aheadBytes -= len(slot.buf)
	if len(md.spare) >= readAheadDepth {
		md.spare = md.spare[1:]
	}
	md.spare = append(md.spare, slot.buf[:cap(slot.buf)])
}

// scheduleAfter asks the worker for the messages after i, up to
// readAheadDepth of them, in one batch once fewer than half of that are
// left scheduled.
func (md *maildrop) scheduleAfter(ctx context.Context, i int) {
	if md.aheadNext <= i {
		md.aheadNext = i + 1
	}
	if md.aheadNext > i+readAheadDepth/2 || md.aheadBytes > readAheadBytes/2 {
		return
	}
	var batch []*aheadSlot
	for md.aheadNext < len(md.msgs) && md.aheadNext <= i+readAheadDepth {
		j := md.aheadNext
		want := int(min(md.msgs[j].Size, readAheadMax))
		if md.aheadBytes+want > readAheadBytes {
			break
		}
		md.aheadNext++
		if want <= 0 {
			continue
		}
		slot := &aheadSlot{i: j, buf: md.buffer(want), done: make(chan struct{})}
		md.ahead = append(md.ahead, slot)
		md.aheadBytes += want
		batch = append(batch, slot)
	}
	if len(batch) == 0 {
		return
	}
	if md.work == nil {
		// One long-lived worker: a goroutine per read would grow its
		// stack for the database driver every time. At most two batches
		// are outstanding (the window holds readAheadDepth messages and
		// a batch is at least half of it, but for the last one), so the
		// send never blocks for long.
		md.work = make(chan []*aheadSlot, 2)
		go md.worker(ctx, md.work)
	}
	md.work <- batch
}

// worker reads ahead with the session's context, so that the reads it has
// queued end quickly when the session does. A message the batch did not
// cover (gone, or an error) is read again by the session, which reports
// what that read says (fromReadAhead).
func (md *maildrop) worker(ctx context.Context, work <-chan []*aheadSlot) {
	var ids []int64
	var heads [][]byte
	for batch := range work {
		ids, heads = ids[:0], heads[:0]
		for _, slot := range batch {
			ids = append(ids, md.bodies[slot.i])
			heads = append(heads, slot.buf)
		}
		n, err := md.b.mail.ReadBodyHeads(ctx, ids, heads)
		for k, slot := range batch {
			if err != nil {
				slot.err = err
			} else {
				slot.n = n[k]
			}
			close(slot.done)
		}
	}
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
	removed, err := md.b.mail.Expunge(ctx, md.folderID, ranges, false)
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
	if md.work != nil {
		close(md.work) // the worker finishes what is queued and ends
		md.work = nil
	}
	if md.release != nil {
		md.release()
		md.release = nil
	}
}
