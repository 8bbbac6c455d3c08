package message

import (
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Placeholders for the parts of a malformed address, so that an ENVELOPE
// never carries a NIL host outside group syntax (RFC 9051 §7.5.2: a NIL host
// starts a group).
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

// maxAddresses bounds one address list.
const maxAddresses = 1000

// envelopeOf builds the ENVELOPE from header fields; the first of each
// repeated field counts.
func envelopeOf(fields []field) Envelope {
	var e Envelope
	e.Date, _ = first(fields, "date")
	e.Subject, _ = first(fields, "subject")
	e.InReplyTo, _ = first(fields, "in-reply-to")
	e.MessageID, _ = first(fields, "message-id")
	addr := func(name string) []Address {
		v, ok := first(fields, name)
		if !ok {
			return nil
		}
		return ParseAddressList(v)
	}
	e.From = addr("from")
	e.Sender = addr("sender")
	e.ReplyTo = addr("reply-to")
	e.To = addr("to")
	e.Cc = addr("cc")
	e.Bcc = addr("bcc")
	return e
}

// ParseAddressList parses an RFC 5322 §3.4 address list leniently into
// ENVELOPE addresses: display names stay raw, groups become start and end
// markers, and malformed entries are kept as well as they parse. It returns
// nil for an empty list.
func ParseAddressList(v string) []Address {
	s := addrScanner{scanner{s: v}}
	var out []Address
	inGroup := false
	for !s.done() && len(out) < maxAddresses {
		s.skipCFWS()
		if s.done() {
			break
		}
		switch s.peek() {
		case ',':
			s.i++
			continue
		case ';':
			s.i++
			if inGroup {
				out = append(out, Address{Kind: AddrGroupEnd})
				inGroup = false
			}
			continue
		}
		a, group, ok := s.address()
		switch {
		case group != "" && !inGroup:
			out = append(out, Address{Kind: AddrGroupStart, Mailbox: group})
			inGroup = true
		case ok:
			out = append(out, a)
		}
	}
	if inGroup {
		out = append(out, Address{Kind: AddrGroupEnd})
	}
	return out
}

type addrScanner struct {
	scanner
}

func (s *addrScanner) peek() byte { return s.s[s.i] }

// address reads one mailbox, or the display name of a group followed by its
// colon (returned as group). ok is false when nothing usable was found.
func (s *addrScanner) address() (a Address, group string, ok bool) {
	// Collect words (atoms, quoted strings) up to '<', ':', '@', ',' or ';'.
	var words []string
	var comment string
	glue := false // a '.' joins the next word to the last one
	for !s.done() {
		before := s.i
		s.skipCFWSKeep(&comment)
		if s.i != before {
			glue = false
		}
		if s.done() {
			break
		}
		c := s.peek()
		switch {
		case c == '.':
			s.i++
			if len(words) > 0 {
				words[len(words)-1] += "."
			} else {
				words = append(words, ".")
			}
			glue = true
		case c == '"':
			q := s.quoted()
			if glue && len(words) > 0 {
				words[len(words)-1] += q
			} else {
				words = append(words, q)
			}
			glue = false
		case c == '<':
			s.i++
			a = s.angleAddr()
			a.Name = strings.Join(words, " ")
			s.skipTrailing()
			return a, "", true
		case c == ':':
			s.i++
			if len(words) == 0 {
				return Address{}, "", false
			}
			return Address{}, strings.Join(words, " "), false
		case c == '@':
			// An addr-spec without angle brackets: the words were the local part.
			local := strings.Join(words, "")
			s.i++
			a = Address{Mailbox: local, Host: s.domain()}
			s.skipCFWSKeep(&comment)
			if a.Host == "" {
				a.Host = missingDomain
			}
			if a.Mailbox == "" {
				a.Mailbox = missingMailbox
			}
			a.Name = comment // obsolete "a@b (Name)" form
			s.skipTrailing()
			return a, "", true
		case c == ',' || c == ';':
			return s.bare(words, comment)
		case c == '>' || c == ')':
			s.i++ // stray
		default:
			w := s.atom()
			if w == "" {
				s.i++ // a special we do not expect
				continue
			}
			if glue && len(words) > 0 {
				words[len(words)-1] += w
			} else {
				words = append(words, w)
			}
			glue = false
		}
	}
	return s.bare(words, comment)
}

// bare turns words without an '@' into an address with a missing domain
// ("undisclosed-recipients" and the like).
func (s *addrScanner) bare(words []string, comment string) (Address, string, bool) {
	if len(words) == 0 {
		return Address{}, "", false
	}
	return Address{Name: comment, Mailbox: strings.Join(words, ""), Host: missingDomain}, "", true
}

// skipTrailing skips what follows an address up to the next ',' or ';'.
func (s *addrScanner) skipTrailing() {
	for !s.done() {
		s.skipCFWS()
		if s.done() {
			return
		}
		switch s.peek() {
		case ',', ';':
			return
		case '"':
			s.quoted()
		default:
			s.i++
		}
	}
}

// angleAddr reads [route ":"] local "@" domain ">" after the '<'.
func (s *addrScanner) angleAddr() Address {
	var a Address
	s.skipCFWS()
	// Obsolete source route: "@a,@b:" (RFC 5322 §4.4).
	if !s.done() && s.peek() == '@' {
		j := strings.IndexByte(s.s[s.i:], ':')
		k := strings.IndexByte(s.s[s.i:], '>')
		if j >= 0 && (k < 0 || j < k) {
			a.Adl = strings.ReplaceAll(strings.ReplaceAll(s.s[s.i:s.i+j], " ", ""), "\t", "")
			s.i += j + 1
		}
	}
	var local strings.Builder
	for !s.done() {
		s.skipCFWS()
		if s.done() {
			break
		}
		c := s.peek()
		if c == '@' || c == '>' {
			break
		}
		if c == '"' {
			local.WriteString(s.quoted())
			continue
		}
		if c == '.' {
			local.WriteByte('.')
			s.i++
			continue
		}
		w := s.atom()
		if w == "" {
			s.i++
			continue
		}
		local.WriteString(w)
	}
	a.Mailbox = local.String()
	if !s.done() && s.peek() == '@' {
		s.i++
		a.Host = s.domain()
	}
	s.skipCFWS()
	if !s.done() && s.peek() == '>' {
		s.i++
	}
	if a.Mailbox == "" && a.Host == "" {
		// "<>" (the null return path): keep it recognisable but well-formed.
		a.Mailbox = missingMailbox
	}
	if a.Mailbox == "" {
		a.Mailbox = missingMailbox
	}
	if a.Host == "" {
		a.Host = missingDomain
	}
	return a
}

// domain reads a domain (dot-atom or domain literal).
func (s *addrScanner) domain() string {
	var d strings.Builder
	wantWord := true // after '@' or '.', a word may follow white space
	for !s.done() {
		if wantWord {
			// Where a domain word is due (after '@' or '.'), comments
			// and white space are CFWS of the obs-domain (RFC 5322
			// §3.4.1, §4.4): "<a (c)@ (c) example.org>".
			s.skipCFWS()
		}
		// After a word, white space only: a comment after the domain may
		// be the display name of the obsolete "a@b (Name)" form.
		j := s.i
		for j < len(s.s) && (s.s[j] == ' ' || s.s[j] == '\t') {
			j++
		}
		if j == len(s.s) || (!wantWord && s.s[j] != '.') {
			break
		}
		s.i = j
		c := s.peek()
		wantWord = c == '.'
		switch {
		case c == '[':
			j := strings.IndexByte(s.s[s.i:], ']')
			if j < 0 {
				d.WriteString(s.s[s.i:])
				s.i = len(s.s)
			} else {
				d.WriteString(s.s[s.i : s.i+j+1])
				s.i += j + 1
			}
		case c == '.':
			d.WriteByte('.')
			s.i++
		default:
			w := s.atom()
			if w == "" {
				return d.String()
			}
			d.WriteString(w)
		}
	}
	return d.String()
}

// atom reads RFC 5322 atext characters (and 8-bit bytes, RFC 6532).
func (s *addrScanner) atom() string {
	j := s.i
	for j < len(s.s) && isAtext(s.s[j]) {
		j++
	}
	w := s.s[s.i:j]
	s.i = j
	return w
}

func isAtext(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '.', '"', ' ', '\t', '\r', '\n':
		return false
	}
	return c > 0x20 && c != 0x7f
}

// skipCFWSKeep skips white space and comments, remembering the text of the
// first comment (the display name of the obsolete "a@b (Name)" form).
func (s *addrScanner) skipCFWSKeep(comment *string) {
	for !s.done() {
		switch s.s[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '(':
			j := s.i
			s.skipComment()
			if *comment == "" && s.i-j >= 2 {
				c := s.s[j+1 : s.i]
				c = strings.TrimSuffix(c, ")")
				*comment = strings.TrimSpace(c)
			}
		default:
			return
		}
	}
}

// DecodeText decodes RFC 2047 encoded words in a header value, in any
// charset the go-message charset package knows, and returns valid UTF-8
// without NUL bytes (so that every SQL engine stores it). Words that cannot
// be decoded are kept as they are.
func DecodeText(v string) string {
	if strings.Contains(v, "=?") {
		d := mime.WordDecoder{CharsetReader: charset.Reader}
		if dec, err := d.DecodeHeader(v); err == nil {
			v = dec
		}
	}
	return clean(v)
}

// clean makes s valid UTF-8 without NUL or other C0 controls but tab.
func clean(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' {
			return -1
		}
		return r
	}, s)
}

// FormatAddresses renders addresses decoded, as "Name <local@host>" joined
// by ", "; an address without a name is just "local@host". Group markers are
// left out; their members are listed.
func FormatAddresses(list []Address) string {
	var b strings.Builder
	for _, a := range list {
		if a.Kind != AddrMailbox {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		addr := a.Mailbox + "@" + a.Host
		if name := DecodeText(a.Name); name != "" {
			b.WriteString(name)
			b.WriteString(" <")
			b.WriteString(addr)
			b.WriteString(">")
		} else {
			b.WriteString(addr)
		}
	}
	return clean(b.String())
}
