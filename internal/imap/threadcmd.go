package imap

import (
	"context"
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
	return nil
}

// threadData reads what the algorithm needs of the messages at the given
// session indexes: the summary for ORDEREDSUBJECT; also the Message-ID and
// In-Reply-To of the stored parse and the References field of the header
// for REFERENCES and REFS. It returns the session indexes of the messages
// it found (one still in the session may be gone from the store) and their
// data, in sequence order.
func (c *conn) threadData(ctx context.Context, matches []int, alg threadAlg) ([]int, []threadMsg, error) {
	if len(matches) == 0 {
		return nil, nil, nil
	}
	s := c.sel
	uids := make([]uint32, len(matches))
	for j, i := range matches {
		uids[j] = s.uids[i]
	}
	summary := func(md *MessageData) threadMsg {
		m := threadMsg{date: md.SentDate, subject: md.Subject}
		if m.date.IsZero() {
			m.date = md.InternalDate // RFC 5256 §2.2
		}
		return m
	}
	var idx []int
	var msgs []threadMsg
	if alg == threadOrderedSubject {
		err := s.folder.Messages(ctx, uidRanges(uids), WantSummary, func(md *MessageData) error {
			if seq := s.seqOf(md.UID); seq != 0 {
				idx = append(idx, int(seq-1))
				msgs = append(msgs, summary(md))
			}
			return ctx.Err()
		})
		return idx, msgs, err
	}
	// The header is read between store calls, batch by batch (no other
	// store call may run while Messages iterates).
	for _, chunk := range splitRanges(idxRangesOf(matches), fetchBatch) {
		var batch []MessageData
		err := s.folder.Messages(ctx, s.backendRanges(chunk), WantSummary|WantStructure, func(md *MessageData) error {
			d := *md
			d.Keywords = nil
			d.Structure = append([]byte(nil), md.Structure...)
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
			parsed, err := c.structure(ctx, md)
			if err != nil {
				return nil, nil, err
			}
			m.messageID = parsed.Envelope.MessageID
			m.inReplyTo = parsed.Envelope.InReplyTo
			n := min(parsed.Root.BodyStart, maxHeaderRead, md.Size)
			if n > 0 {
				hdr := make([]byte, n)
				if err := c.readBody(ctx, md, 0, hdr); err != nil {
					return nil, nil, err
				}
				m.references = referencesField(hdr)
			}
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

// referencesField returns the value of the References fields of a raw
// header, unfolded (all of them, should a message have several).
func referencesField(hdr []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(message.FilterHeader(hdr, []string{"References"}, false)), "\r\n") {
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			if _, v, ok := strings.Cut(line, ":"); ok {
				line = v
			}
		}
		b.WriteString(line)
		b.WriteByte(' ')
	}
	return b.String()
}
