package imap

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// THREAD and UID THREAD (RFC 5256 §4): THREAD algorithm charset
// search-keys. The answer is one "* THREAD" response with the threads of
// the matching messages (thread.go), by sequence number or UID.
func cmdThread(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	start := p.pos
	name, err := p.atom()
	if err != nil {
		return err
	}
	alg, ok := parseThreadAlg(name)
	if !ok {
		p.pos = start
		return p.errorf("unknown threading algorithm %s", truncate(name, 30))
	}
	if err := p.sp(); err != nil {
		return err
	}
	if err := p.charset(); err != nil {
		return err
	}
	root, err := c.searchCriteria(p)
	if err != nil {
		return err
	}
	if err := c.resolveKeys(root); err != nil {
		return err
	}
	matches, err := c.search(ctx, root)
	if err != nil {
		return err
	}
	idx, msgs, err := c.threadData(ctx, matches, alg)
	if err != nil {
		return err
	}
	threads := threadMessages(alg, msgs)
	s := c.sel
	num := func(i int) uint32 {
		if r.uid {
			return s.uids[idx[i]]
		}
		return uint32(idx[i] + 1)
	}
	w := &c.w
	w.raw("* THREAD")
	if len(threads) > 0 {
		w.sp()
		w.bytes(appendThreads(nil, threads, num))
	}
	w.crlf()
	if len(idx) < len(matches) {
		// RFC 5530: messages another session expunged were left out.
		return &okResult{code: CodeExpungeIssued, text: "Some messages were expunged"}
	}
	return nil
}

// threadData reads what the algorithm needs of the messages at the given
// session indexes: the summary (Subject, sent date) for all; for
// REFERENCES and REFS also the Message-ID, In-Reply-To and References
// fields, read from each message's header. It returns the session indexes
// of the messages it found (one still in the session may be gone from the
// store, or its content gone) and their data, in sequence order.
func (c *conn) threadData(ctx context.Context, matches []int, alg threadAlg) ([]int, []threadMsg, error) {
	if len(matches) == 0 {
		return nil, nil, nil
	}
	s := c.sel
	summary := func(md *MessageData) threadMsg {
		m := threadMsg{date: md.SentDate, subject: md.Subject}
		if m.date.IsZero() {
			m.date = md.InternalDate // RFC 5256 §2.2
		}
		return m
	}
	var idx []int
	var msgs []threadMsg
	rs := idxRangesOf(matches)
	if alg == threadOrderedSubject {
		err := s.folder.Messages(ctx, s.backendRanges(rs), WantSummary, func(md *MessageData) error {
			if seq := s.seqOf(md.UID); seq != 0 {
				idx = append(idx, int(seq-1))
				msgs = append(msgs, summary(md))
			}
			return ctx.Err()
		})
		return idx, msgs, err
	}
	// The headers are read between store calls, batch by batch (no other
	// store call may run while Messages iterates), into one buffer.
	var buf []byte
	for _, chunk := range splitRanges(rs, fetchBatch) {
		var batch []MessageData
		err := s.folder.Messages(ctx, s.backendRanges(chunk), WantSummary, func(md *MessageData) error {
			d := *md
			d.Keywords = nil
			batch = append(batch, d)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		for j := range batch {
			md := &batch[j]
			seq := s.seqOf(md.UID)
			if seq == 0 {
				continue
			}
			m := summary(md)
			hdr, err := c.readHeader(ctx, md, buf)
			if errors.Is(err, ErrExpunged) {
				continue // gone meanwhile: left out, as if Messages had not found it
			}
			if err != nil {
				return nil, nil, err
			}
			buf = hdr
			m.messageID, m.inReplyTo, m.references = threadFields(hdr)
			idx = append(idx, int(seq-1))
			msgs = append(msgs, m)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	return idx, msgs, nil
}

// idxRangesOf turns ascending session indexes into ranges.
func idxRangesOf(idx []int) []idxRange {
	var rs []idxRange
	for _, i := range idx {
		if n := len(rs); n > 0 && rs[n-1].hi == i {
			rs[n-1].hi++
		} else {
			rs = append(rs, idxRange{i, i + 1})
		}
	}
	return rs
}

// headerChunk is how much of a message readHeader reads first: most
// headers fit.
const headerChunk = 4 << 10

// readHeader returns the start of a message that holds its whole header
// (up to maxHeaderRead), without knowing the header's length beforehand:
// one read for almost every message, and no parse of its structure. It
// reads into buf when that is large enough.
func (c *conn) readHeader(ctx context.Context, md *MessageData, buf []byte) ([]byte, error) {
	n := min(headerChunk, md.Size)
	for {
		buf = slices.Grow(buf[:0], int(n))[:n]
		if err := c.readBody(ctx, md, 0, buf); err != nil {
			return nil, err
		}
		if n == md.Size || n >= maxHeaderRead || headerComplete(buf) {
			return buf, nil
		}
		n = min(n*4, md.Size, maxHeaderRead)
	}
}

// headerComplete reports whether b holds the empty line that ends a
// header.
func headerComplete(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\r\n")) || bytes.HasPrefix(b, []byte("\n")) ||
		bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// threadFields returns the Message-ID and In-Reply-To fields of a raw
// header (the first of each, as ENVELOPE takes them) and its References
// fields (all of them, should a message have several), unfolded.
func threadFields(hdr []byte) (messageID, inReplyTo, references string) {
	var name string
	var refs strings.Builder
	var seenID, seenIRT bool
	for _, line := range strings.Split(string(message.FilterHeader(hdr, []string{"Message-ID", "In-Reply-To", "References"}, false)), "\r\n") {
		if line == "" {
			continue
		}
		v := line
		if line[0] != ' ' && line[0] != '\t' {
			n, rest, _ := strings.Cut(line, ":")
			name, v = strings.ToLower(strings.TrimSpace(n)), rest
			switch name {
			case "message-id":
				if seenID {
					name = ""
				}
				seenID = true
			case "in-reply-to":
				if seenIRT {
					name = ""
				}
				seenIRT = true
			}
		}
		switch name {
		case "message-id":
			messageID += v + " "
		case "in-reply-to":
			inReplyTo += v + " "
		case "references":
			refs.WriteString(v)
			refs.WriteByte(' ')
		}
	}
	return messageID, inReplyTo, refs.String()
}
