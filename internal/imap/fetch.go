package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// fetchKind is a FETCH data item (RFC 9051 §6.4.5).
type fetchKind uint8

const (
	fetchUID fetchKind = iota
	fetchFlags
	fetchInternalDate
	fetchSize          // RFC822.SIZE
	fetchEnvelope      // ENVELOPE
	fetchBody          // BODY (non-extensible BODYSTRUCTURE)
	fetchBodyStructure // BODYSTRUCTURE
	fetchSection       // BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT
	fetchBinary        // BINARY[...], BINARY.PEEK[...]
	fetchBinarySize    // BINARY.SIZE[...]
	fetchModSeq        // MODSEQ (RFC 7162 §3.1.4)
	fetchSaveDate      // SAVEDATE (RFC 8514 §4.2)
	fetchEmailID       // EMAILID (RFC 8474)
	fetchThreadID      // THREADID (RFC 8474)
	fetchPreview       // PREVIEW, PREVIEW (LAZY) (RFC 8970)
)

// section addresses part of a message: a part path and what of it.
type section struct {
	part   []int
	text   string   // "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
	fields []string // for HEADER.FIELDS[.NOT]
}

type fetchItem struct {
	kind    fetchKind
	sec     section
	peek    bool
	partial bool
	offset  int64
	count   int64
	// name is the item's name in the response, e.g. "BODY[1.MIME]<0>" or
	// "RFC822.HEADER".
	name string
}

// needsStructure reports whether the item needs the stored parse.
func (it *fetchItem) needsStructure() bool {
	switch it.kind {
	case fetchEnvelope, fetchBody, fetchBodyStructure, fetchBinary, fetchBinarySize, fetchPreview:
		return true
	case fetchSection:
		return len(it.sec.part) > 0 || it.sec.text != ""
	}
	return false
}

// presentsContent reports whether the item's value is the message as
// presented to a client that does not speak BINARY: with binary parts
// base64-encoded (message.BinaryToBase64). Such an item needs the stored
// parse to tell, but RFC822.SIZE and BODY[] parse it only for a message
// that has binary parts (fetcher.load).
func (it *fetchItem) presentsContent() bool {
	switch it.kind {
	case fetchSection, fetchSize, fetchBody, fetchBodyStructure:
		return true
	case fetchBinarySize:
		// BINARY.SIZE[TEXT] and the like: the size of what BINARY[TEXT]
		// sends, which is BODY[TEXT] (fetchSection).
		return it.sec.text != ""
	}
	return false
}

// setsSeen reports whether fetching the item sets \Seen (RFC 9051 §6.4.5).
func (it *fetchItem) setsSeen() bool {
	return (it.kind == fetchSection || it.kind == fetchBinary) && !it.peek
}

// maxPrefixFetch is the most messages a FETCH reads with their body
// prefixes (BodyPrefix), bounding the memory one command holds. A longer
// FETCH reads the shorter head prefixes (WantHeadPrefix) headPrefixBatch
// messages at a time: with 16 KiB each, at most 2 MiB a command.
const (
	maxPrefixFetch  = 16
	headPrefixBatch = 128
)

// fetchItems reads the item list of FETCH.
func (p *parser) fetchItems() ([]fetchItem, error) {
	if p.consume('(') {
		var items []fetchItem
		for !p.consume(')') {
			if len(items) > 0 {
				if err := p.sp(); err != nil {
					return nil, err
				}
			}
			it, err := p.fetchItem()
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			return nil, p.errorf("empty fetch item list")
		}
		return items, nil
	}
	start := p.pos
	kw := strings.ToUpper(p.takeWhile(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }))
	macro := map[string][]fetchKind{
		"ALL":  {fetchFlags, fetchInternalDate, fetchSize, fetchEnvelope},
		"FAST": {fetchFlags, fetchInternalDate, fetchSize},
		"FULL": {fetchFlags, fetchInternalDate, fetchSize, fetchEnvelope, fetchBody},
	}
	if kinds, ok := macro[kw]; ok {
		var items []fetchItem
		for _, k := range kinds {
			items = append(items, fetchItem{kind: k, name: kindNames[k]})
		}
		return items, nil
	}
	p.pos = start
	it, err := p.fetchItem()
	if err != nil {
		return nil, err
	}
	return []fetchItem{it}, nil
}

var kindNames = map[fetchKind]string{
	fetchUID:           "UID",
	fetchFlags:         "FLAGS",
	fetchInternalDate:  "INTERNALDATE",
	fetchSize:          "RFC822.SIZE",
	fetchEnvelope:      "ENVELOPE",
	fetchBody:          "BODY",
	fetchBodyStructure: "BODYSTRUCTURE",
	fetchModSeq:        "MODSEQ",
	fetchSaveDate:      "SAVEDATE",
	fetchEmailID:       "EMAILID",
	fetchThreadID:      "THREADID",
	fetchPreview:       "PREVIEW",
}

// fetchItem reads one fetch-att.
func (p *parser) fetchItem() (fetchItem, error) {
	start := p.pos
	kw := strings.ToUpper(p.takeWhile(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }))
	var it fetchItem
	switch kw {
	case "UID":
		it.kind = fetchUID
	case "FLAGS":
		it.kind = fetchFlags
	case "INTERNALDATE":
		it.kind = fetchInternalDate
	case "RFC822.SIZE":
		it.kind = fetchSize
	case "ENVELOPE":
		it.kind = fetchEnvelope
	case "BODYSTRUCTURE":
		it.kind = fetchBodyStructure
	case "MODSEQ":
		it.kind = fetchModSeq
	case "SAVEDATE":
		it.kind = fetchSaveDate
	case "EMAILID":
		it.kind = fetchEmailID
	case "THREADID":
		it.kind = fetchThreadID
	case "PREVIEW":
		it.kind = fetchPreview
		if err := p.previewModifiers(); err != nil {
			return it, err
		}
	case "RFC822":
		return fetchItem{kind: fetchSection, name: "RFC822"}, nil
	case "RFC822.HEADER":
		return fetchItem{kind: fetchSection, sec: section{text: "HEADER"}, peek: true, name: "RFC822.HEADER"}, nil
	case "RFC822.TEXT":
		return fetchItem{kind: fetchSection, sec: section{text: "TEXT"}, name: "RFC822.TEXT"}, nil
	case "BODY", "BODY.PEEK":
		if p.peek() != '[' {
			if kw == "BODY.PEEK" {
				p.pos = start
				return it, p.errorf("expected section after BODY.PEEK")
			}
			it.kind = fetchBody
			break
		}
		it.kind = fetchSection
		it.peek = kw == "BODY.PEEK"
		secStart := p.pos
		sec, err := p.section()
		if err != nil {
			return it, err
		}
		it.sec = sec
		it.name = "BODY" + string(p.line[secStart:p.pos])
		if err := p.partial(&it); err != nil {
			return it, err
		}
		return it, nil
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		if p.peek() != '[' {
			p.pos = start
			return it, p.errorf("expected section after %s", kw)
		}
		secStart := p.pos
		sec, err := p.section()
		if err != nil {
			return it, err
		}
		it.sec = sec
		if sec.text != "" && kw != "BINARY.SIZE" {
			// RFC 3516 names only part numbers in a BINARY section;
			// HEADER, HEADER.FIELDS, TEXT and MIME are accepted as
			// Dovecot accepts them: nothing to decode there (a header
			// has no transfer encoding, the text of a message is the
			// message's own), so the value is that of BODY[...] under
			// the BINARY name.
			it.kind = fetchSection
			it.peek = kw == "BINARY.PEEK"
			it.name = "BINARY" + string(p.line[secStart:p.pos])
			if err := p.partial(&it); err != nil {
				return it, err
			}
			return it, nil
		}
		if kw == "BINARY.SIZE" {
			it.kind = fetchBinarySize
			it.name = "BINARY.SIZE" + string(p.line[secStart:p.pos])
			return it, nil
		}
		it.kind = fetchBinary
		it.peek = kw == "BINARY.PEEK"
		it.name = "BINARY" + string(p.line[secStart:p.pos])
		if err := p.partial(&it); err != nil {
			return it, err
		}
		return it, nil
	default:
		p.pos = start
		return it, p.errorf("unknown fetch item")
	}
	it.name = kindNames[it.kind]
	return it, nil
}

// partial reads an optional "<offset.count>" (RFC 9051 §6.4.5); the
// response names only the offset.
func (p *parser) partial(it *fetchItem) error {
	if !p.consume('<') {
		return nil
	}
	off, err := p.number64()
	if err != nil {
		return err
	}
	if err := p.expect('.'); err != nil {
		return err
	}
	n, err := p.number64()
	if err != nil {
		return err
	}
	if n == 0 {
		return p.errorf("partial length must not be zero")
	}
	if err := p.expect('>'); err != nil {
		return err
	}
	it.partial, it.offset, it.count = true, off, n
	it.name += "<" + strconv.FormatInt(off, 10) + ">"
	return nil
}

// section reads "[" section-spec "]" (of BODY, and of BINARY too: see
// fetchItem).
func (p *parser) section() (section, error) {
	var s section
	if err := p.expect('['); err != nil {
		return s, err
	}
	for isDigit(p.peek()) {
		n, err := p.number()
		if err != nil {
			return s, err
		}
		if n == 0 {
			return s, p.errorf("part numbers start at 1")
		}
		if len(s.part) >= 100 {
			return s, p.errorf("part path too deep")
		}
		s.part = append(s.part, int(n))
		if !p.consume('.') {
			break
		}
	}
	if p.peek() != ']' {
		kw := strings.ToUpper(p.takeWhile(func(c byte) bool { return isAtomChar(c) }))
		switch kw {
		case "HEADER", "TEXT":
			s.text = kw
		case "MIME":
			if len(s.part) == 0 {
				return s, p.errorf("MIME needs a part number")
			}
			s.text = kw
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			s.text = kw
			if err := p.sp(); err != nil {
				return s, err
			}
			if err := p.expect('('); err != nil {
				return s, err
			}
			for !p.consume(')') {
				if len(s.fields) > 0 {
					if err := p.sp(); err != nil {
						return s, err
					}
				}
				f, err := p.astring()
				if err != nil {
					return s, err
				}
				s.fields = append(s.fields, f)
			}
			if len(s.fields) == 0 {
				return s, p.errorf("empty header list")
			}
		default:
			return s, p.errorf("unknown section")
		}
	} else if len(s.part) > 0 && p.line[p.pos-1] == '.' {
		return s, p.errorf("expected section text after '.'")
	}
	if err := p.expect(']'); err != nil {
		return s, err
	}
	return s, nil
}

// fetchBatch bounds how many messages' metadata are held at once; the
// store is read batch by batch so that no transaction stays open while we
// write to the client.
const fetchBatch = 512

// FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9).
func cmdFetch(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	set, err := p.seqSet()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	items, err := p.fetchItems()
	if err != nil {
		return err
	}
	var changedSince uint64
	vanished := false
	var partial *partialRange
	if p.consume(' ') {
		// fetch-modifiers (RFC 4466): CHANGEDSINCE (RFC 7162 §3.1.4.1),
		// VANISHED (§3.2.6) and PARTIAL (RFC 9394 §3.3, UID FETCH only).
		if err := p.expect('('); err != nil {
			return err
		}
		hasChangedSince := false
		for first := true; !p.consume(')'); first = false {
			if !first {
				if err := p.sp(); err != nil {
					return err
				}
			}
			start := p.pos
			mod, err := p.keyword()
			if err != nil {
				return err
			}
			switch {
			case mod == "CHANGEDSINCE":
				if err := p.sp(); err != nil {
					return err
				}
				if changedSince, err = p.modSeq(); err != nil {
					return err
				}
				hasChangedSince = true
			case mod == "VANISHED" && r.uid && c.qresync:
				vanished = true
			case mod == "PARTIAL" && r.uid && partial == nil:
				if err := p.sp(); err != nil {
					return err
				}
				if partial, err = p.partialRange(); err != nil {
					return err
				}
			default:
				p.pos = start
				return p.errorf("unsupported FETCH modifier %s", truncate(mod, 30))
			}
		}
		if !hasChangedSince {
			if vanished {
				return p.errorf("VANISHED needs CHANGEDSINCE")
			}
			if partial == nil {
				return p.errorf("expected FETCH modifier")
			}
		}
		// CHANGEDSINCE implies MODSEQ in the response.
		if hasChangedSince && !slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == fetchModSeq }) {
			items = append(items, fetchItem{kind: fetchModSeq, name: "MODSEQ"})
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == fetchModSeq }) {
		c.enableCondstore()
	}
	if r.uid {
		// RFC 9051 §6.4.9: UID FETCH always returns UID.
		hasUID := false
		for _, it := range items {
			hasUID = hasUID || it.kind == fetchUID
		}
		if !hasUID {
			items = append([]fetchItem{{kind: fetchUID, name: "UID"}}, items...)
		}
	}
	s := c.sel
	if vanished {
		// RFC 7162 §3.2.6: the UIDs of the set expunged since, first.
		_, _, expunged, err := s.folder.Changes(ctx, changedSince)
		if err != nil {
			return err
		}
		var gone []uint32
		for _, u := range expunged {
			if s.seqOf(u) == 0 && set.containsUID(u, s.uidNext-1) {
				gone = append(gone, u)
			}
		}
		c.writeVanished(gone, true)
	}
	rs, err := c.resolve(set, r.uid)
	if err != nil {
		return err
	}
	if partial != nil {
		if rs, err = c.partialFetch(ctx, rs, partial, changedSince); err != nil {
			return err
		}
	}
	if len(rs) == 0 {
		return nil
	}
	var want Want
	needMeta, setSeen := false, false
	for i := range items {
		it := &items[i]
		switch it.kind {
		case fetchUID, fetchFlags:
		default:
			needMeta = true
		}
		if it.needsStructure() {
			want |= WantStructure
		}
		if it.kind == fetchSection {
			want |= WantBodyPrefix
		}
		if it.kind == fetchPreview {
			// The backend may keep it; else it is made from the text
			// part (the parse says where that is).
			want |= WantPreview
		}
		if it.kind == fetchEmailID {
			want |= WantObjectID
		}
		setSeen = setSeen || it.setsSeen()
	}
	// The start of each body comes with its metadata when few messages are
	// fetched (a client opening a message). A long range (a message list's
	// headers, a client downloading a folder) reads shorter heads, fewer
	// messages at a time, so that a small message or a header section
	// needs no read of its own; larger ones stream their bodies.
	batchSize := fetchBatch
	if count(rs) > maxPrefixFetch && want&WantBodyPrefix != 0 {
		want = want&^WantBodyPrefix | WantHeadPrefix
		batchSize = headPrefixBatch
	}
	// Implicit \Seen (RFC 9051 §6.4.5): set it first, so that the FLAGS we
	// send are the new ones; never in a read-only mailbox.
	var seenSet map[uint32]bool
	if setSeen && !s.readOnly {
		var unseen []uint32
		for _, rg := range rs {
			for i := rg.lo; i < rg.hi; i++ {
				if s.flags[i]&FlagSeen == 0 {
					unseen = append(unseen, s.uids[i])
				}
			}
		}
		if len(unseen) > 0 {
			changed, _, err := s.folder.StoreFlags(ctx, &FlagUpdate{UIDs: uidRanges(unseen), Op: FlagsAdd, Flags: FlagSeen})
			if err != nil {
				return err
			}
			seenSet = map[uint32]bool{}
			for i := range changed {
				m := &changed[i]
				if seq := s.seqOf(m.UID); seq != 0 {
					s.setFlags(int(seq-1), m)
					seenSet[m.UID] = true
				}
			}
		}
	}
	f := newFetcher(c, items, seenSet)
	if !needMeta {
		// UID and FLAGS come from the session: no store access at all.
		for _, rg := range rs {
			c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
			for i := rg.lo; i < rg.hi; i++ {
				f.write(ctx, i, nil, nil)
			}
			if c.w.err != nil {
				return &netError{c.w.err}
			}
		}
		return nil
	}
	missing := 0
	batch := make([]MessageData, 0, min(batchSize, count(rs)))
	// What never changes of a message may come from the backend's memory
	// when nothing of the answer needs the store's MODSEQ.
	cache, _ := s.folder.(MessageCache)
	if slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == fetchModSeq }) {
		cache = nil
	}
	for _, chunk := range splitRanges(rs, batchSize) {
		// A long FETCH to a client that keeps reading must not run into
		// the write timeout.
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		batch, err = fetchMeta(ctx, s, cache, chunk, want, batch[:0])
		if err != nil {
			return err
		}
		// Write after the store call returned: no transaction is open while
		// the client reads.
		j := 0
		for _, rg := range chunk {
			for i := rg.lo; i < rg.hi; i++ {
				u := s.uids[i]
				for j < len(batch) && batch[j].UID < u {
					j++
				}
				if j == len(batch) || batch[j].UID != u {
					missing++ // expunged by another session
					continue
				}
				if batch[j].ModSeq <= changedSince {
					continue // CHANGEDSINCE: unchanged
				}
				// Before the first byte of the response: a message whose
				// content is gone is left out, never padded.
				msg, err := f.load(ctx, &batch[j])
				if err != nil {
					if errors.Is(err, ErrExpunged) {
						missing++
						continue
					}
					if errors.Is(err, errUnknownCTE) {
						// RFC 3516 §4.3: the request fails; nothing of
						// this message has been sent.
						return no("UNKNOWN-CTE", "Cannot decode the content transfer encoding of a part")
					}
					return err
				}
				if err := f.write(ctx, i, &batch[j], msg); err != nil {
					return c.abortResponse(err)
				}
				if c.w.err != nil {
					return &netError{c.w.err}
				}
			}
		}
		f.keepPreviews(ctx)
	}
	return f.result(missing)
}

// fetchMeta reads the metadata of the messages of chunk into batch: from
// the backend's memory when it has all of them (cache, when not nil), else
// with Messages, whose callback data is copied (the backend may reuse it).
func fetchMeta(ctx context.Context, s *selected, cache MessageCache, chunk []idxRange, want Want, batch []MessageData) ([]MessageData, error) {
	if cache != nil {
		if out, ok := cache.CachedMessages(s.uidsOf(chunk), want, batch); ok {
			return out, nil
		}
	}
	batch = batch[:0]
	err := s.folder.Messages(ctx, s.backendRanges(chunk), want, func(md *MessageData) error {
		d := *md
		d.Keywords = append([]string(nil), md.Keywords...)
		d.Structure = append([]byte(nil), md.Structure...)
		batch = append(batch, d)
		return nil
	})
	return batch, err
}

// result is the completion of a FETCH that wrote its responses; missing
// counts the messages left out because another session expunged them.
func (f *fetcher) result(missing int) error {
	if missing > 0 {
		return &okResult{code: CodeExpungeIssued, text: "Some messages were expunged"}
	}
	return nil
}

// keepPreviews hands the previews made for the last batch to the backend
// to keep, when it can.
func (f *fetcher) keepPreviews(ctx context.Context) {
	if len(f.made) == 0 {
		return
	}
	if k, ok := f.c.sel.folder.(PreviewKeeper); ok {
		if err := k.KeepPreviews(ctx, f.made); err != nil && ctx.Err() == nil {
			f.c.log.Warn("keeping previews failed; they are made again when asked", "err", err)
		}
	}
	f.made = nil
}

// splitRanges cuts index ranges into chunks of at most n messages.
func splitRanges(rs []idxRange, n int) [][]idxRange {
	var out [][]idxRange
	var cur []idxRange
	k := 0
	for _, r := range rs {
		for r.lo < r.hi {
			take := min(r.hi-r.lo, n-k)
			cur = append(cur, idxRange{r.lo, r.lo + take})
			k += take
			r.lo += take
			if k == n {
				out = append(out, cur)
				cur, k = nil, 0
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetcher writes FETCH responses.
type fetcher struct {
	c       *conn
	items   []fetchItem
	seenSet map[uint32]bool  // messages whose \Seen this FETCH set
	buf     []byte           // the content of the message being written (load)
	preview string           // the PREVIEW of the message being written (load)
	made    map[int64]string // previews made here, by BodyID (PreviewKeeper)
	// With conv, the message being written has binary parts (message.
	// HasBinary): BODY sections, RFC822.SIZE, BODY and BODYSTRUCTURE come
	// from convMD and convMsg, the message with those parts base64-encoded
	// (RFC 9051 §9 allows no NUL in a literal; RFC 3516 content is
	// otherwise only for BINARY). BINARY items use the stored message.
	conv    bool
	convMD  MessageData
	convMsg *message.Message
	// parses: some item needs the message's parse; presents: some item
	// presents its content (BODY[], RFC822.SIZE). Known once per FETCH.
	parses, presents bool
}

func newFetcher(c *conn, items []fetchItem, seenSet map[uint32]bool) *fetcher {
	return &fetcher{c: c, items: items, seenSet: seenSet,
		parses:   slices.ContainsFunc(items, func(it fetchItem) bool { return it.needsStructure() }),
		presents: slices.ContainsFunc(items, func(it fetchItem) bool { return it.presentsContent() })}
}

// pinLimit is the largest message whose content is read whole before its
// FETCH response is written (almost all mail). Larger ones are streamed;
// the store keeps a body readable for a grace period after its message is
// expunged, so that a stream begun never finds it gone.
const pinLimit = 1 << 20

// load makes sure, before anything of a message's response is written,
// that what the items send of its content can be sent, and returns the
// message's parse when an item needs it. The octets the items read (up to
// pinLimit) are read in one go into md.BodyPrefix, so a concurrent expunge
// either happened before the read or not at all; beyond pinLimit the last
// octet needed must at least still be stored. It returns ErrExpunged
// (wrapped) when the content is gone.
func (f *fetcher) load(ctx context.Context, md *MessageData) (*message.Message, error) {
	f.conv, f.convMsg, f.convMD = false, nil, MessageData{}
	var msg *message.Message
	parse := f.parses
	if !parse && md.HasBinary && f.presents {
		// RFC822.SIZE, BODY[]: the parse only for a message with binary
		// parts, which the backend says with every message (the common
		// FETCH of RFC822.SIZE reads no parse).
		parse = true
	}
	if parse {
		m, err := f.c.structure(ctx, md)
		if err != nil {
			return nil, err
		}
		msg = m
	}
	conv := false
	if msg != nil && msg.HasBinary() {
		conv = f.presents
	}
	end := int64(0)
	for i := range f.items {
		it := &f.items[i]
		switch it.kind {
		case fetchSection:
			if conv {
				continue // reads the whole message, below
			}
			r := byteRange{0, md.Size}
			if msg != nil {
				var ok bool
				if r, ok = sectionRange(md, msg, &it.sec); !ok {
					continue
				}
			}
			if strings.HasPrefix(it.sec.text, "HEADER.FIELDS") {
				end = max(end, min(r.end, r.start+maxHeaderRead))
				continue
			}
			off, n := applyPartial(it, r.end-r.start)
			end = max(end, r.start+off+n)
		case fetchBinary, fetchBinarySize:
			if conv && it.sec.text != "" {
				continue // the presented message, read whole below
			}
			if it.sec.text != "" {
				// BINARY.SIZE[1.HEADER]: the size of what BODY[1.HEADER]
				// sends, nothing decoded.
				if r, ok := sectionRange(md, msg, &it.sec); ok {
					end = max(end, min(r.end, r.start+maxHeaderRead))
				}
				continue
			}
			// Decoding reads the whole part.
			if r, ok := binaryRange(md, msg, &it.sec); ok {
				end = max(end, r.end)
				target := &msg.Root
				if len(it.sec.part) > 0 {
					target = msg.Part(it.sec.part)
				}
				if !knownEncoding(binaryEncoding(target, &it.sec)) {
					return nil, errUnknownCTE
				}
			}
		}
	}
	for i := range f.items {
		if f.items[i].kind == fetchPreview {
			p, err := f.c.preview(ctx, md, msg)
			if err != nil {
				return nil, err
			}
			f.preview = p
			if !md.HasPreview {
				if f.made == nil {
					f.made = map[int64]string{}
				}
				f.made[md.BodyID] = p
			}
			break
		}
	}
	if conv {
		// The conversion reads the whole message, whatever its size:
		// only messages appended with binary parts pay for it.
		if err := f.convert(ctx, md, msg); err != nil {
			return nil, err
		}
		return msg, nil
	}
	if end <= int64(len(md.BodyPrefix)) {
		return msg, nil
	}
	if end > pinLimit {
		var probe [1]byte
		return msg, f.c.readBody(ctx, md, end-1, probe[:])
	}
	f.buf = slices.Grow(f.buf[:0], int(end))[:end]
	md.BodyPrefix = nil
	if err := f.c.readBody(ctx, md, 0, f.buf); err != nil {
		return nil, err
	}
	md.BodyPrefix = f.buf
	return msg, nil
}

// convert reads the whole of a message with binary parts into
// md.BodyPrefix and makes the base64-encoded form the non-BINARY items
// send.
func (f *fetcher) convert(ctx context.Context, md *MessageData, msg *message.Message) error {
	if int64(len(md.BodyPrefix)) < md.Size {
		// A buffer beyond pinLimit is not kept for the next message.
		var buf []byte
		if md.Size <= pinLimit {
			buf = f.buf[:0]
		}
		buf = slices.Grow(buf, int(md.Size))[:md.Size]
		md.BodyPrefix = nil
		if err := f.c.readBody(ctx, md, 0, buf); err != nil {
			return err
		}
		if md.Size <= pinLimit {
			f.buf = buf
		}
		md.BodyPrefix = buf
	}
	out := message.BinaryToBase64(md.BodyPrefix[:md.Size], msg)
	f.convMD = *md
	f.convMD.Size = int64(len(out))
	f.convMD.BodyPrefix = out
	f.convMD.Structure = nil
	f.convMsg = message.Parse(out)
	f.conv = true
	return nil
}

// abortResponse ends a connection whose FETCH response could not be
// completed after it began: announced literals cannot be taken back, and
// filling them with anything but the message would hand the client
// invented content to cache for good. The client reconnects and asks again.
func (c *conn) abortResponse(err error) error {
	if isNetError(err) {
		return err
	}
	c.log.Error("FETCH response cut short; closing the connection", "err", err)
	return errClose
}

// write writes "* seq FETCH (...)" for the message at index i; md is nil
// when only session data is asked for, msg the parse from load.
func (f *fetcher) write(ctx context.Context, i int, md *MessageData, msg *message.Message) error {
	c := f.c
	s := c.sel
	w := &c.w
	uid := s.uids[i]
	w.raw("* ")
	w.num(uint32(i + 1))
	w.raw(" FETCH (")
	flagsDone := false
	// What the non-BINARY items present (convert).
	smd, smsg := md, msg
	if f.conv {
		smd, smsg = &f.convMD, f.convMsg
	}
	for k := range f.items {
		it := &f.items[k]
		if k > 0 {
			w.sp()
		}
		if it.needsStructure() && msg == nil {
			m, err := c.structure(ctx, md)
			if err != nil {
				return err
			}
			msg = m
			if !f.conv {
				smsg = m
			}
		}
		switch it.kind {
		case fetchUID:
			w.raw("UID ")
			w.num(uid)
		case fetchFlags:
			w.raw("FLAGS ")
			c.writeFlagList(s.flags[i], s.keywords[uid])
			flagsDone = true
		case fetchInternalDate:
			w.raw(`INTERNALDATE "`)
			w.raw(dateTime(md.InternalDate))
			w.byte('"')
		case fetchSize:
			w.raw("RFC822.SIZE ")
			w.num64(smd.Size)
		case fetchEnvelope:
			w.raw("ENVELOPE ")
			c.writeEnvelope(&msg.Envelope)
		case fetchBody:
			w.raw("BODY ")
			c.writeBodyStructure(&smsg.Root, false)
		case fetchBodyStructure:
			w.raw("BODYSTRUCTURE ")
			c.writeBodyStructure(&smsg.Root, true)
		case fetchSection:
			w.raw(it.name)
			w.sp()
			if err := c.writeSection(ctx, smd, smsg, it); err != nil {
				return err
			}
		case fetchBinary, fetchBinarySize:
			w.raw(it.name)
			w.sp()
			bmd, bmsg := md, msg
			if it.sec.text != "" {
				// BINARY.SIZE[TEXT] measures what BINARY[TEXT] sends: the
				// section as BODY[TEXT] presents it.
				bmd, bmsg = smd, smsg
			}
			if err := f.writeBinary(ctx, bmd, bmsg, it); err != nil {
				return err
			}
		case fetchModSeq:
			w.raw("MODSEQ (")
			w.raw(strconv.FormatUint(md.ModSeq, 10))
			w.byte(')')
		case fetchSaveDate:
			// RFC 8514 §4.2: NIL when the mailbox keeps no save dates.
			w.raw("SAVEDATE ")
			if md.SaveDate.IsZero() {
				w.raw("NIL")
			} else {
				w.byte('"')
				w.raw(dateTime(md.SaveDate))
				w.byte('"')
			}
		case fetchEmailID:
			w.raw("EMAILID ")
			c.writeObjectID(md.EmailID)
		case fetchThreadID:
			// RFC 8474: NIL, threads are not computed.
			w.raw("THREADID NIL")
		case fetchPreview:
			// RFC 8970: always generated, so never NIL, also with LAZY.
			w.raw("PREVIEW ")
			w.str(f.preview)
		}
	}
	if !flagsDone && f.seenSet[uid] {
		// RFC 9051 §6.4.5: a \Seen set by this FETCH is reported with it.
		w.raw(" FLAGS ")
		c.writeFlagList(s.flags[i], s.keywords[uid])
	}
	w.raw(")\r\n")
	return nil
}

// structure returns the parse of a message: the stored one, or, when it is
// missing or unreadable, a fresh parse of the stored message.
func (c *conn) structure(ctx context.Context, md *MessageData) (*message.Message, error) {
	if len(md.Structure) > 0 {
		if m, err := message.Unmarshal(md.Structure); err == nil {
			return m, nil
		}
	}
	if int64(len(md.BodyPrefix)) >= md.Size {
		return message.Parse(md.BodyPrefix[:md.Size]), nil
	}
	raw := make([]byte, md.Size)
	if err := c.readBody(ctx, md, 0, raw); err != nil {
		return nil, err
	}
	return message.Parse(raw), nil
}

// readBody fills p from the stored message at off: from md.BodyPrefix when
// that holds it, else from the store. A body that is gone or shorter than
// its recorded size is ErrExpunged: the caller leaves the message out, or
// ends a response it began, but never sends anything in its place.
func (c *conn) readBody(ctx context.Context, md *MessageData, off int64, p []byte) error {
	if off >= 0 && off+int64(len(p)) <= int64(len(md.BodyPrefix)) {
		copy(p, md.BodyPrefix[off:])
		return nil
	}
	for len(p) > 0 {
		n, err := c.sel.folder.ReadBody(ctx, md.BodyID, off, p)
		p = p[n:]
		off += int64(n)
		if len(p) == 0 {
			return nil
		}
		if errors.Is(err, ErrExpunged) {
			return fmt.Errorf("message UID %d: %w", md.UID, err)
		}
		if n == 0 || errors.Is(err, io.EOF) {
			return fmt.Errorf("message UID %d: stored content ends at %d of %d octets: %w", md.UID, off, md.Size, ErrExpunged)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
