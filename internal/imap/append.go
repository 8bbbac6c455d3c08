package imap

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// APPEND (RFC 9051 §6.3.12), with APPENDUID (RFC 4315), literal8 (RFC
// 3516), APPENDLIMIT (RFC 7889), UTF8 (RFC 6855 §4), MULTIAPPEND (RFC 3502)
// and CATENATE (RFC 4469):
//
//	append         = "APPEND" SP mailbox 1*append-message
//	append-message = [SP flag-list] [SP date-time] SP append-data
//	append-data    = literal / literal8 / "UTF8" SP "(" literal8 ")" /
//	                 "CATENATE" SP "(" cat-part *(SP cat-part) ")"
//	cat-part       = "TEXT" SP literal / "URL" SP astring
//
// Each message is read as the command streams in and checked at once
// (its size against APPENDLIMIT, all of them together against
// AppendBatchLimit, each URL as it arrives); the first refusal answers the
// command and the rest of it is read and dropped (or, for a synchronizing
// literal, never asked for). Nothing is stored until the whole command has
// been read, and then all messages are stored in one transaction: all or
// none (RFC 3502).
func cmdAppend(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	name, err := p.mailbox()
	if err != nil {
		return err
	}
	a := appender{c: c, p: p, room: -1}
	// A mailbox with a storage limit refuses a literal that cannot fit
	// before the client sends it (RFC 9208 §4.1.3, as TOOBIG does for
	// APPENDLIMIT); the store checks again when it stores, so a race with
	// another writer still ends in NO [OVERQUOTA], never past the limit.
	// With a QuotaReader the same read says whether the mailbox can reach
	// its warning limit with this APPEND (usedBefore + the octets stored),
	// so that most APPENDs need no second read for warnSoftQuota. Another
	// writer's APPEND at the same moment may then take the mailbox over
	// the limit unseen by both; the next write that finds it over warns.
	warnAt, usedBefore := int64(-1), int64(0) // warnAt -1: not read
	usage := func(used, limit, warn int64) {
		if limit > 0 {
			a.room = max(limit-used, 0)
		}
		warnAt, usedBefore = warn, used
	}
	if ar, ok := c.user.(AppendUsageReader); ok {
		if used, limit, warn, err := ar.AppendUsage(ctx, name); err == nil {
			usage(used, limit, warn)
		}
	} else if qr, ok := c.user.(QuotaReader); ok {
		if used, limit, warn, err := qr.StorageUsage(ctx); err == nil {
			usage(used, limit, warn)
		}
	} else if used, limit, ok, err := c.storageQuota(ctx); err == nil && ok {
		a.room = max(limit-used, 0)
	}
	var msgs []*AppendMessage
	for {
		if err := p.sp(); err != nil {
			return err
		}
		msg, err := a.message(ctx)
		if err != nil {
			return a.missingMailbox(ctx, name, err)
		}
		msgs = append(msgs, msg)
		if p.atEOL() {
			break
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	for _, m := range msgs {
		if len(m.Raw) == 0 {
			// RFC 3502: a zero-length message cancels the whole APPEND.
			return no("", "Empty message")
		}
		if m.InternalDate.IsZero() {
			m.InternalDate = time.Now()
		}
	}
	var uidValidity uint32
	var uids []uint32
	// An IMAP4rev1 session appending to the folder it has selected
	// read-write claims \Recent with the message (RecentAppender).
	ra, claiming := c.user.(RecentAppender)
	claiming = claiming && c.sel != nil && c.state == stateSelected && !c.sel.readOnly && !c.rev2
	if len(msgs) == 1 && claiming {
		uidValidity, uids, err = c.appendSelected(ctx, ra, name, msgs[0])
	} else if len(msgs) == 1 {
		var uid uint32
		uidValidity, uid, err = c.user.Append(ctx, name, msgs[0])
		uids = []uint32{uid}
	} else {
		uidValidity, uids, err = c.user.AppendMany(ctx, name, msgs)
	}
	if err != nil {
		if errorCode(err) == CodeNonExistent {
			return no(CodeTryCreate, "Mailbox does not exist")
		}
		return err
	}
	stored := int64(0)
	for _, m := range msgs {
		stored += int64(len(m.Raw))
	}
	if warnAt < 0 || (warnAt > 0 && usedBefore+stored >= warnAt) {
		c.warnSoftQuota(ctx)
	}
	// RFC 3502: the UIDs of all messages, in the order appended.
	return &okResult{code: "APPENDUID " + itoa(uidValidity) + " " + formatSet(uids), text: "APPEND completed"}
}

// appendSelected appends a message through a RecentAppender, claiming
// \Recent when name is the selected folder (readWith).
func (c *conn) appendSelected(ctx context.Context, ra RecentAppender, name string, msg *AppendMessage) (uint32, []uint32, error) {
	var r RecentAppend
	err := c.readWith(func(since uint64) (*FolderChanges, error) {
		var err error
		r, err = ra.AppendRecent(ctx, name, msg, c.sel.folder, since)
		return r.Changes, err
	})
	if err == nil && r.Claimed {
		c.sel.claims = append(c.sel.claims, recentRange{r.First, r.Next})
	}
	return r.UIDValidity, []uint32{r.UID}, err
}

// missingMailbox turns a refusal of an APPEND's content (a CATENATE URL
// that cannot be resolved, a literal too large) into NO [TRYCREATE] when
// the target mailbox does not exist: that the mailbox is missing is the
// first thing a client must learn, whatever else is wrong with the
// command (RFC 9051 §6.3.12, RFC 4469 §5; Dovecot answers the same). A
// BAD (bad syntax) stays as it is.
func (a *appender) missingMailbox(ctx context.Context, name string, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Bad {
		return err
	}
	if _, serr := a.c.user.Status(ctx, name, 0); serr != nil && errorCode(serr) == CodeNonExistent {
		return no(CodeTryCreate, "Mailbox does not exist")
	}
	return err
}

// appender reads the messages of one APPEND command.
type appender struct {
	c *conn
	p *parser
	// total counts the octets of all messages read so far.
	total int64
	// room is what the mailbox's storage limit leaves (-1: no limit).
	room int64
}

// message reads one append-message after its leading SP.
func (a *appender) message(ctx context.Context) (*AppendMessage, error) {
	p := a.p
	msg := &AppendMessage{}
	if p.peek() == '(' {
		list, err := p.flagList()
		if err != nil {
			return nil, err
		}
		if msg.Flags, msg.Keywords, err = parseFlags(list); err != nil {
			p.pos = len(p.line)
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
	if p.peek() == '"' {
		var err error
		if msg.InternalDate, err = p.dateTime(); err != nil {
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
	if p.peek() == '{' || p.peek() == '~' {
		data, _, err := a.literal(0, true)
		if err != nil {
			return nil, err
		}
		msg.Raw = data
		return msg, nil
	}
	start := p.pos
	kw, _ := p.keyword()
	switch {
	case kw == "UTF8" && a.c.utf8Accept:
		// RFC 6855 §4: with UTF8=ACCEPT the message may come as UTF8
		// (literal8).
		if err := p.sp(); err != nil {
			return nil, err
		}
		if err := p.expect('('); err != nil {
			return nil, err
		}
		data, _, err := a.literal(0, true)
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		msg.Raw = data
	case kw == "CATENATE":
		data, err := a.catenate(ctx)
		if err != nil {
			return nil, err
		}
		msg.Raw = data
	default:
		p.pos = start
		if a.c.utf8Accept {
			return nil, p.errorf("expected message literal, UTF8 or CATENATE")
		}
		return nil, p.errorf("expected message literal or CATENATE")
	}
	return msg, nil
}

// literal reads a literal of a message that has used octets so far,
// refusing it (TOOBIG) when it would make the message larger than
// APPENDLIMIT or all messages larger than AppendBatchLimit.
func (a *appender) literal(used int64, allowBinary bool) ([]byte, literalInfo, error) {
	opts := &a.c.srv.opts
	max := opts.AppendLimit - used
	tooBig := &Error{Code: CodeTooBig, Text: "Message too large"}
	if room := opts.AppendBatchLimit - a.total; room < max {
		max = room
		tooBig = &Error{Code: CodeTooBig, Text: "Messages too large together"}
	}
	if a.room >= 0 && a.room-a.total < max {
		max = a.room - a.total
		tooBig = &Error{Code: CodeOverQuota, Text: "Mailbox is full: quota exceeded"}
	}
	data, li, err := a.p.literal(max, allowBinary, tooBig)
	a.total += int64(len(data))
	return data, li, err
}

// catenate reads the cat-parts of a CATENATE (RFC 4469 §3) after the
// keyword and returns the message they make.
func (a *appender) catenate(ctx context.Context) ([]byte, error) {
	p := a.p
	if err := p.sp(); err != nil {
		return nil, err
	}
	if err := p.expect('('); err != nil {
		return nil, err
	}
	if p.peek() == ')' {
		return nil, p.errorf("expected TEXT or URL")
	}
	var out []byte
	for n := 0; !p.consume(')'); n++ {
		if n > 0 {
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		start := p.pos
		kw, err := p.keyword()
		if err != nil {
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
		switch kw {
		case "TEXT":
			// text-literal = "TEXT" SP literal: 8-bit octets are allowed,
			// NUL (and so literal8) is not (RFC 9051 §9 CHAR8).
			if p.peek() == '~' {
				return nil, p.errorf("TEXT takes a literal, not a literal8")
			}
			data, _, err := a.literal(int64(len(out)), false)
			if err != nil {
				return nil, err
			}
			if bytes.IndexByte(data, 0) >= 0 {
				return nil, &Error{Bad: true, Text: "NUL in a TEXT literal"}
			}
			out = append(out, data...)
		case "URL":
			u, err := p.astring()
			if err != nil {
				return nil, err
			}
			data, err := a.urlContent(ctx, u, int64(len(out)))
			if err != nil {
				return nil, err
			}
			a.total += int64(len(data))
			out = append(out, data...)
		default:
			p.pos = start
			return nil, p.errorf("expected TEXT or URL")
		}
	}
	return out, nil
}

// urlContent returns what an IMAP URL of a catenated part addresses: the
// octets a FETCH BODY[section]<partial> of that message would return (RFC
// 4469 §3). used is the size of the message so far.
func (a *appender) urlContent(ctx context.Context, raw string, used int64) ([]byte, error) {
	c := a.c
	bad := func() error { return badURL(raw) }
	u, ok := parseIMAPURL(raw)
	if !ok {
		return nil, bad()
	}
	st, err := c.user.Status(ctx, u.mailbox, 0)
	if err != nil {
		if isNetError(err) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, bad()
	}
	if u.uidValidity != 0 && u.uidValidity != st.UIDValidity {
		return nil, bad()
	}
	f, err := c.user.Open(ctx, u.mailbox, func() {})
	if err != nil {
		return nil, bad()
	}
	defer f.Close()
	var md *MessageData
	err = f.Messages(ctx, []UIDRange{{u.uid, u.uid}}, WantStructure, func(m *MessageData) error {
		d := *m
		d.Keywords = nil
		d.Structure = append([]byte(nil), m.Structure...)
		d.BodyPrefix = nil
		md = &d
		return nil
	})
	if err != nil {
		return nil, err
	}
	if md == nil {
		return nil, bad()
	}
	read := func(off, n int64) ([]byte, error) {
		buf := make([]byte, n)
		for got := int64(0); got < n; {
			k, err := f.ReadBody(ctx, md.BodyID, off+got, buf[got:])
			got += int64(k)
			if got < n && (err != nil || k == 0) {
				// Expunged meanwhile, or shorter than recorded.
				return nil, bad()
			}
		}
		return buf, nil
	}
	r := byteRange{0, md.Size}
	var msg *message.Message
	if len(u.sec.part) > 0 || u.sec.text != "" {
		if m, err := message.Unmarshal(md.Structure); err == nil && len(md.Structure) > 0 {
			msg = m
		} else {
			whole, err := read(0, md.Size)
			if err != nil {
				return nil, err
			}
			msg = message.Parse(whole)
		}
		if r, ok = sectionRange(md, msg, &u.sec); !ok {
			return nil, bad()
		}
	}
	var data []byte
	if strings.HasPrefix(u.sec.text, "HEADER.FIELDS") {
		hdr, err := read(r.start, min(r.end-r.start, maxHeaderRead))
		if err != nil {
			return nil, err
		}
		data = message.FilterHeader(hdr, u.sec.fields, u.sec.text == "HEADER.FIELDS.NOT")
		if u.partial {
			off, n := applyPartial(&fetchItem{partial: true, offset: u.offset, count: u.count}, int64(len(data)))
			data = data[off : off+n]
		}
	} else {
		off, n := r.start, r.end-r.start
		if u.partial {
			o, k := applyPartial(&fetchItem{partial: true, offset: u.offset, count: u.count}, n)
			off, n = r.start+o, k
		}
		if used+n > c.srv.opts.AppendLimit || a.total+n > c.srv.opts.AppendBatchLimit {
			return nil, no(CodeTooBig, "Message too large")
		}
		if data, err = read(off, n); err != nil {
			return nil, err
		}
	}
	if used+int64(len(data)) > c.srv.opts.AppendLimit || a.total+int64(len(data)) > c.srv.opts.AppendBatchLimit {
		return nil, no(CodeTooBig, "Message too large")
	}
	return data, nil
}

// badURL is the refusal of a CATENATE URL (RFC 4469 §4.1). The URL goes
// into the response code as url-resp-text: octets that text may not hold
// are percent-encoded.
func badURL(raw string) *Error {
	var b strings.Builder
	for i := 0; i < len(raw) && b.Len() < 400; i++ {
		ch := raw[i]
		if ch == 0 || ch == '\r' || ch == '\n' || ch == ']' || ch == 0xff {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(ch)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(ch)
	}
	if b.Len() == 0 {
		b.WriteString("/")
	}
	return &Error{Code: "BADURL " + b.String(), Text: "Cannot catenate this URL"}
}

// imapURL is a relative IMAP URL to a message or part in the user's own
// mailboxes (RFC 5092 §5, as RFC 4469 §3 restricts it):
//
//	"/" enc-mailbox [";UIDVALIDITY=" nz-number] "/;UID=" nz-number
//	    ["/;SECTION=" enc-section] ["/;PARTIAL=" number ["." nz-number]]
type imapURL struct {
	mailbox       string
	uidValidity   uint32 // 0 when the URL does not name one
	uid           uint32
	sec           section // the whole message when empty
	partial       bool
	offset, count int64
}

// parseIMAPURL parses a relative IMAP URL. Anything else (an absolute URL,
// one naming a server or user, URLAUTH, a mailbox without a message) is
// not ours to follow: ok is false.
func parseIMAPURL(s string) (u imapURL, ok bool) {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return u, false
	}
	lower := strings.ToLower(s)
	i := strings.Index(lower, "/;uid=")
	if i < 0 {
		return u, false
	}
	mbox := s[1:i]
	if j := strings.Index(strings.ToLower(mbox), ";uidvalidity="); j >= 0 {
		v, err := strconv.ParseUint(mbox[j+len(";uidvalidity="):], 10, 32)
		if err != nil || v == 0 {
			return u, false
		}
		u.uidValidity = uint32(v)
		mbox = mbox[:j]
	}
	name, ok := percentDecode(mbox)
	if !ok || name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n") {
		return u, false
	}
	u.mailbox = normalizeInbox(name)
	rest := s[i+len("/;uid="):]
	digits := 0
	for digits < len(rest) && isDigit(rest[digits]) {
		digits++
	}
	v, err := strconv.ParseUint(rest[:digits], 10, 32)
	if err != nil || v == 0 {
		return u, false
	}
	u.uid = uint32(v)
	rest = rest[digits:]
	if strings.HasPrefix(strings.ToLower(rest), "/;section=") {
		rest = rest[len("/;section="):]
		end := strings.Index(strings.ToLower(rest), "/;partial=")
		if end < 0 {
			end = len(rest)
		}
		text, ok := percentDecode(rest[:end])
		if !ok || text == "" || strings.ContainsAny(text, "{\r\n\x00") {
			// A "{" would make the section parser read a literal.
			return u, false
		}
		sp := &parser{line: []byte("[" + text + "]")}
		sec, err := sp.section()
		if err != nil || !sp.atEOL() {
			return u, false
		}
		u.sec = sec
		rest = rest[end:]
	}
	if strings.HasPrefix(strings.ToLower(rest), "/;partial=") {
		rest = rest[len("/;partial="):]
		offText, countText, hasCount := strings.Cut(rest, ".")
		off, err := strconv.ParseUint(offText, 10, 32)
		if err != nil {
			return u, false
		}
		u.partial, u.offset, u.count = true, int64(off), 1<<62
		if hasCount {
			n, err := strconv.ParseUint(countText, 10, 32)
			if err != nil || n == 0 {
				return u, false
			}
			u.count = int64(n)
		}
		rest = ""
	}
	// Whatever is left (";URLAUTH=...", junk) is not a URL we follow.
	return u, rest == ""
}

// percentDecode undoes %XX escapes (RFC 3986 §2.1).
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}
