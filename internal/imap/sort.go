package imap

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// sortKey is one SORT criterion (RFC 5256 §3).
type sortKey struct {
	by      string // ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO
	reverse bool
}

// sortCriteria reads "(" [REVERSE] key *(SP [REVERSE] key) ")".
func (p *parser) sortCriteria() ([]sortKey, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var keys []sortKey
	for !p.consume(')') {
		if len(keys) > 0 {
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		var k sortKey
		start := p.pos
		kw, err := p.keyword()
		if err != nil {
			return nil, err
		}
		if kw == "REVERSE" {
			k.reverse = true
			if err := p.sp(); err != nil {
				return nil, err
			}
			start = p.pos
			if kw, err = p.keyword(); err != nil {
				return nil, err
			}
		}
		switch kw {
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO",
			"DISPLAYFROM", "DISPLAYTO": // RFC 5957
			k.by = kw
		default:
			p.pos = start
			return nil, p.errorf("unknown sort criterion %s", truncate(kw, 30))
		}
		keys = append(keys, k)
		if len(keys) > 16 {
			return nil, p.errorf("too many sort criteria")
		}
	}
	if len(keys) == 0 {
		return nil, p.errorf("expected sort criterion")
	}
	return keys, nil
}

// SORT and UID SORT (RFC 5256): SORT [RETURN (options)] (criteria) charset
// search-keys. With RETURN the result is an ESEARCH response (ESORT, RFC
// 5267 §3), which may ask for PARTIAL results (RFC 9394) and UPDATE
// (CONTEXT=SORT, RFC 5267 §4).
func cmdSort(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	var ret searchReturn
	if err := p.searchReturnOpts(&ret); err != nil {
		return err
	}
	keys, err := p.sortCriteria()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if err := p.charset(); err != nil {
		return err
	}
	if !ret.given {
		// The return options are accepted after the charset too
		// ("SORT (ARRIVAL) US-ASCII RETURN (PARTIAL 1:10) ALL"), the
		// place where a SEARCH names them: no search key is called
		// RETURN, and Dovecot's test suite sends this form.
		if err := p.searchReturnOpts(&ret); err != nil {
			return err
		}
	}
	root, err := c.searchCriteria(p)
	if err != nil {
		return err
	}
	if err := c.checkUpdateTag(r, &ret); err != nil {
		return err
	}
	fail := func(err error) error {
		if ret.save {
			c.sel.saved = nil
		}
		return err
	}
	if err := c.resolveKeys(root); err != nil {
		return fail(err)
	}
	matches, err := c.search(ctx, root)
	if err != nil {
		return fail(err)
	}
	order, err := c.sortMessages(ctx, matches, keys)
	if err != nil {
		return fail(err)
	}
	var modSeq uint64
	if hasKind(root, sModSeq) {
		// RFC 7162 §3.1.5 (sort-data and ESEARCH alike).
		c.enableCondstore()
		if modSeq, err = c.highestModSeq(ctx, &ret, order); err != nil {
			return err
		}
	}
	if ret.given {
		c.startContext(r, &ret, root, keys, order)
		c.writeSearchResult(r, &ret, order, modSeq)
		return nil
	}
	s := c.sel
	w := &c.w
	w.raw("* SORT")
	for _, i := range order {
		w.sp()
		if r.uid {
			w.num(s.uids[i])
		} else {
			w.num(uint32(i + 1))
		}
	}
	if modSeq > 0 {
		w.raw(" (MODSEQ ")
		w.raw(strconv.FormatUint(modSeq, 10))
		w.byte(')')
	}
	w.crlf()
	return nil
}

// sortFields are what the criteria compare, per message.
type sortFields struct {
	idx     int // index in the session: the final tie-break (RFC 5256 §3)
	arrival time.Time
	date    time.Time
	size    int64
	subject string
	from    string
	to      string
	cc      string
	// RFC 5957 display values of the first From and To addresses.
	displayFrom string
	displayTo   string
}

// sortMessages orders the messages at the given session indexes.
func (c *conn) sortMessages(ctx context.Context, idx []int, keys []sortKey) ([]int, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	s := c.sel
	uids := make([]uint32, len(idx))
	for j, i := range idx {
		uids[j] = s.uids[i]
	}
	want := WantSummary
	addresses := slices.ContainsFunc(keys, func(k sortKey) bool {
		switch k.by {
		case "FROM", "TO", "CC", "DISPLAYFROM", "DISPLAYTO":
			return true
		}
		return false
	})
	if addresses {
		// The first address's addr-mailbox comes from the parsed
		// envelope: the summary columns flatten groups and quoting.
		want |= WantStructure
	}
	type pending struct {
		f  sortFields
		md MessageData
	}
	var rows []pending
	err := s.folder.Messages(ctx, uidRanges(uids), want, func(md *MessageData) error {
		seq := s.seqOf(md.UID)
		if seq == 0 {
			return nil
		}
		f := sortFields{idx: int(seq - 1), arrival: md.InternalDate, date: md.SentDate, size: md.Size}
		if f.date.IsZero() {
			f.date = md.InternalDate // RFC 5256 §3 DATE
		}
		if slices.ContainsFunc(keys, func(k sortKey) bool { return k.by == "SUBJECT" }) {
			f.subject = asciiCasemap(baseSubject(md.Subject))
		}
		p := pending{f: f}
		if addresses {
			p.md = MessageData{UID: md.UID, Size: md.Size, BodyID: md.BodyID,
				Structure: slices.Clone(md.Structure), BodyPrefix: slices.Clone(md.BodyPrefix)}
		}
		rows = append(rows, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	fields := make([]sortFields, len(rows))
	for j := range rows {
		f := &rows[j].f
		if addresses {
			m, err := c.structure(ctx, &rows[j].md)
			if err != nil {
				return nil, err
			}
			f.from = asciiCasemap(firstMailbox(m.Envelope.From))
			f.to = asciiCasemap(firstMailbox(m.Envelope.To))
			f.cc = asciiCasemap(firstMailbox(m.Envelope.Cc))
			f.displayFrom = asciiCasemap(displayAddress(m.Envelope.From))
			f.displayTo = asciiCasemap(displayAddress(m.Envelope.To))
		}
		fields[j] = *f
	}
	slices.SortFunc(fields, func(a, b sortFields) int {
		for _, k := range keys {
			var d int
			switch k.by {
			case "ARRIVAL":
				d = a.arrival.Compare(b.arrival)
			case "DATE":
				d = a.date.Compare(b.date)
			case "SIZE":
				d = cmp.Compare(a.size, b.size)
			case "SUBJECT":
				d = strings.Compare(a.subject, b.subject)
			case "FROM":
				d = strings.Compare(a.from, b.from)
			case "TO":
				d = strings.Compare(a.to, b.to)
			case "CC":
				d = strings.Compare(a.cc, b.cc)
			case "DISPLAYFROM":
				d = strings.Compare(a.displayFrom, b.displayFrom)
			case "DISPLAYTO":
				d = strings.Compare(a.displayTo, b.displayTo)
			}
			if k.reverse {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return cmp.Compare(a.idx, b.idx)
	})
	out := make([]int, len(fields))
	for j, f := range fields {
		out[j] = f.idx
	}
	return out, nil
}

// asciiCasemap is the i;ascii-casemap collation SORT compares with (RFC
// 5256 §3, RFC 4790 §9.2): a-z are mapped to A-Z and everything else
// compares as octets. Mapping to upper case, not lower, is what the
// collation says and it orders differently: "[", "\\", "]", "^", "_" and "`"
// lie between "Z" and "a", so they sort after the letters, as Dovecot
// sorts them.
func asciiCasemap(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}, s)
}

// firstMailbox returns the addr-mailbox of the first address of a list (RFC
// 5256 §3 FROM, TO, CC), decoded, or "" when there is none, so that a
// message without the field sorts first. For a list that starts with a
// group it is the group's name, the addr-mailbox of the group's first
// ENVELOPE address (RFC 9051 §7.5.2), as Dovecot sorts it.
func firstMailbox(list []message.Address) string {
	if len(list) == 0 {
		return ""
	}
	a := list[0]
	if a.Kind == message.AddrGroupEnd {
		return ""
	}
	return message.DecodeText(a.Mailbox)
}

// displayAddress is the sort value of the first address of a list (RFC
// 5957 §3, §4): its display name with encoded words decoded when that is
// not empty, else mailbox@host, else the mailbox alone (a group's name: the
// addr-mailbox of a group's first ENVELOPE address), else "" (no address),
// which sorts first.
func displayAddress(list []message.Address) string {
	if len(list) == 0 {
		return ""
	}
	a := list[0]
	if a.Kind == message.AddrGroupEnd {
		return ""
	}
	if name := message.DecodeText(a.Name); name != "" {
		return name
	}
	if a.Mailbox != "" && a.Host != "" {
		return a.Mailbox + "@" + a.Host
	}
	return message.DecodeText(a.Mailbox)
}

// baseSubject extracts the base subject of RFC 5256 §2.1 from a decoded
// Subject: no reply/forward markers, [blobs] or "(fwd)" trailers, and
// white space collapsed, so that a thread sorts together.
func baseSubject(subj string) string {
	s, _ := baseSubjectRefwd(subj)
	return s
}

// baseSubjectRefwd is baseSubject that also reports whether the subject
// was a reply or forward: whether a subj-refwd, a "(fwd)" trailer or a
// "[fwd: ...]" wrapper was removed (THREAD=REFERENCES, RFC 5256 §3, step 5).
func baseSubjectRefwd(subj string) (string, bool) {
	s := strings.Join(strings.Fields(subj), " ") // (1)
	refwd := false
	for {
		// (2) remove trailing "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				refwd = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3)-(5) remove subj-leaders and blobs until nothing changes.
		for {
			t := strings.TrimLeft(s, " ")
			if r := trimRefwd(t); r != t {
				t, refwd = r, true
			}
			if b := skipBlob(t); b != t && strings.TrimSpace(b) != "" {
				t = b // (4) a blob before the rest, unless it is all there is
			}
			if t == s {
				break
			}
			s = t
		}
		// (6) [fwd: ... ] wraps the whole subject.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			refwd = true
			continue
		}
		return strings.TrimSpace(s), refwd
	}
}

// trimRefwd removes one subj-leader: *subj-blob ("re" / "fw" / "fwd")
// *WSP [subj-blob] ":", when present.
func trimRefwd(s string) string {
	t := s
	for {
		b := skipBlob(t)
		if b == t {
			break
		}
		t = b
	}
	lower := strings.ToLower(t)
	var n int
	switch {
	case strings.HasPrefix(lower, "re"):
		n = 2
	case strings.HasPrefix(lower, "fwd"):
		n = 3
	case strings.HasPrefix(lower, "fw"):
		n = 2
	default:
		return s
	}
	t = strings.TrimLeft(t[n:], " ")
	t = skipBlob(t)
	if !strings.HasPrefix(t, ":") {
		return s
	}
	return t[1:]
}

// skipBlob removes a leading subj-blob, "[" *BLOBCHAR "]" *WSP, if any.
func skipBlob(s string) string {
	if !strings.HasPrefix(s, "[") {
		return s
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s
	}
	return strings.TrimLeft(s[end+2:], " ")
}
