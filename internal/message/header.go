package message

import (
	"bytes"
	"strings"
)

// field is one header field: the name in lower case and the value unfolded
// (RFC 5322 §2.2.3) with surrounding white space trimmed.
type field struct {
	name  string
	value string
}

// maxFieldsKept bounds the fields a header parse keeps; only a handful are
// used, but a hostile header may have millions of lines.
const maxFieldsKept = 1000

// parseHeader scans the header at the start of b and returns the fields this
// package uses and the header's length including the empty line that ends
// it. Without an empty line the whole of b is header. Lines without a colon
// are skipped, as are continuation lines with nothing to continue. Content
// whose first line is no header field (raw binary data appended without a
// header) has an empty header: it is all body, not all header. A first line
// "From ..." (an mbox separator left in) does not count as such.
func parseHeader(b []byte) ([]field, int) {
	if !startsWithField(b) {
		return nil, 0
	}
	var fields []field
	// The value of the field being read runs from vs to ve in b, line
	// breaks included; it is unfolded when the field ends.
	vs, ve := -1, -1
	var name string
	flush := func() {
		if vs >= 0 {
			fields = append(fields, field{name: name, value: unfold(b[vs:ve])})
			vs = -1
		}
	}
	pos := 0
	for pos < len(b) {
		nl := bytes.IndexByte(b[pos:], '\n')
		next := len(b)
		if nl >= 0 {
			next = pos + nl + 1
		}
		line := bytes.TrimRight(b[pos:next], "\r\n")
		if len(line) == 0 && nl >= 0 {
			// The empty line ends the header (RFC 5322 §2.1).
			flush()
			return fields, next
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if vs >= 0 {
				ve = next
			}
			pos = next
			continue
		}
		flush()
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && len(fields) < maxFieldsKept {
			n := bytes.TrimRight(line[:colon], " \t")
			if wanted(n) {
				name = strings.ToLower(string(n))
				vs, ve = pos+colon+1, next
			}
		}
		pos = next
	}
	flush()
	return fields, len(b)
}

// unfold removes the line breaks of a folded value (RFC 5322 §2.2.3) and
// trims it.
func unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(bytes.TrimSpace(v))
	}
	out := make([]byte, 0, len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return string(bytes.TrimSpace(out))
}

// wantedFields are the header fields Parse looks at.
var wantedFields = [...]string{
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
	"in-reply-to", "message-id",
	"content-type", "content-transfer-encoding", "content-id",
	"content-description", "content-md5", "content-disposition",
	"content-language", "content-location",
}

func wanted(name []byte) bool {
	for _, w := range wantedFields {
		if len(w) == len(name) && strings.EqualFold(w, string(name)) {
			return true
		}
	}
	return false
}

// first returns the value of the first field called name, and whether there is one.
func first(fields []field, name string) (string, bool) {
	for _, f := range fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// parseContentType parses a Content-Type value (RFC 2045 §5.1) leniently. ok
// is false when there is no type/subtype, so that the default applies.
func parseContentType(v string) (typ, subtype string, params []Param, ok bool) {
	s := scanner{s: v}
	s.skipCFWS()
	typ = strings.ToLower(s.token())
	s.skipCFWS()
	if typ == "" || !s.consume('/') {
		return "", "", nil, false
	}
	s.skipCFWS()
	subtype = strings.ToLower(s.token())
	if subtype == "" {
		return "", "", nil, false
	}
	return typ, subtype, s.params(), true
}

// parseDisposition parses a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (string, []Param, bool) {
	s := scanner{s: v}
	s.skipCFWS()
	d := strings.ToLower(s.token())
	if d == "" {
		return "", nil, false
	}
	return d, s.params(), true
}

// parseLanguage splits a Content-Language value (RFC 3282) into its tags.
func parseLanguage(v string) []string {
	var tags []string
	s := scanner{s: v}
	for !s.done() {
		s.skipCFWS()
		if t := s.token(); t != "" {
			tags = append(tags, t)
			continue
		}
		if !s.done() {
			s.i++ // a comma or a stray special
		}
	}
	return tags
}

// trimCFWS returns the first token of v, without comments and white space.
func trimCFWS(v string) string {
	s := scanner{s: v}
	s.skipCFWS()
	return s.token()
}

// scanner reads MIME header values (RFC 2045 §5.1 tokens, quoted strings,
// comments), leniently.
type scanner struct {
	s string
	i int
}

func (s *scanner) done() bool { return s.i >= len(s.s) }

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.s) && s.s[s.i] == c {
		s.i++
		return true
	}
	return false
}

// skipCFWS skips white space and (nested) comments.
func (s *scanner) skipCFWS() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '(':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *scanner) skipComment() {
	depth := 0
	for s.i < len(s.s) {
		c := s.s[s.i]
		s.i++
		switch c {
		case '\\':
			if s.i < len(s.s) {
				s.i++
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// isTSpecial reports RFC 2045 tspecials and the characters that end a token.
func isTSpecial(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', ' ', '\t', '\r', '\n':
		return true
	}
	return c < 0x20 || c == 0x7f
}

func (s *scanner) token() string {
	j := s.i
	for j < len(s.s) && !isTSpecial(s.s[j]) {
		j++
	}
	t := s.s[s.i:j]
	s.i = j
	return t
}

// quoted reads a quoted string (the scanner is at the opening quote) and
// returns its content with quoted pairs undone. An unterminated string runs
// to the end.
func (s *scanner) quoted() string {
	s.i++ // opening quote
	var b strings.Builder
	for s.i < len(s.s) {
		c := s.s[s.i]
		s.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if s.i < len(s.s) {
				b.WriteByte(s.s[s.i])
				s.i++
			}
		case '\r', '\n':
			// Left over from folding; drop.
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// params reads "; attribute=value" pairs to the end, skipping what does not
// parse. Attribute names are lower-cased; a repeated attribute keeps its
// first value.
func (s *scanner) params() []Param {
	var params []Param
	for !s.done() {
		s.skipCFWS()
		if s.consume(';') {
			continue
		}
		name := strings.ToLower(s.token())
		s.skipCFWS()
		if name == "" || !s.consume('=') {
			// Garbage: skip to the next semicolon.
			s.skipTo(';')
			continue
		}
		s.skipCFWS()
		var value string
		if s.i < len(s.s) && s.s[s.i] == '"' {
			value = s.quoted()
		} else {
			// Lenient: an unquoted value may hold tspecials other than ';'
			// and white space (common with unquoted boundaries).
			j := s.i
			for j < len(s.s) && s.s[j] != ';' && s.s[j] != ' ' && s.s[j] != '\t' && s.s[j] != '\r' && s.s[j] != '\n' {
				j++
			}
			value = s.s[s.i:j]
			s.i = j
		}
		if len(params) >= 100 {
			continue
		}
		dup := false
		for _, p := range params {
			if p.Name == name {
				dup = true
				break
			}
		}
		if !dup {
			params = append(params, Param{Name: name, Value: value})
		}
	}
	return params
}

func (s *scanner) skipTo(c byte) {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case c:
			return
		case '"':
			s.quoted()
		default:
			s.i++
		}
	}
}

// FilterHeader returns the fields of the header hdr (raw, as stored) whose
// names are in names (case-insensitive), or, with not, those whose names are
// not, each with its folded lines intact, followed by the empty line: the
// answer to BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)]
// (RFC 9051 §6.4.5).
func FilterHeader(hdr []byte, names []string, not bool) []byte {
	out := make([]byte, 0, 256)
	pos := 0
	keep := false
	for pos < len(hdr) {
		nl := bytes.IndexByte(hdr[pos:], '\n')
		next := len(hdr)
		if nl >= 0 {
			next = pos + nl + 1
		}
		line := hdr[pos:next]
		content := bytes.TrimRight(line, "\r\n")
		if len(content) == 0 {
			break // the empty line ending the header
		}
		if content[0] == ' ' || content[0] == '\t' {
			if keep {
				out = appendLine(out, content)
			}
			pos = next
			continue
		}
		keep = false
		if colon := bytes.IndexByte(content, ':'); colon > 0 {
			name := string(bytes.TrimRight(content[:colon], " \t"))
			in := false
			for _, n := range names {
				if strings.EqualFold(n, name) {
					in = true
					break
				}
			}
			keep = in != not
		}
		if keep {
			out = appendLine(out, content)
		}
		pos = next
	}
	return append(out, '\r', '\n')
}

func appendLine(out, content []byte) []byte {
	out = append(out, content...)
	return append(out, '\r', '\n')
}

// startsWithField reports whether b starts with an empty line, a header
// field name (printable ASCII without colon, RFC 5322 §2.2) followed by a
// colon, or an mbox "From " line.
func startsWithField(b []byte) bool {
	if len(b) == 0 || b[0] == '\n' || b[0] == '\r' || bytes.HasPrefix(b, []byte("From ")) {
		return true
	}
	for i, c := range b {
		switch {
		case c == ':':
			return i > 0
		case c == ' ' || c == '\t':
			// White space may precede the colon (obsolete syntax, RFC
			// 5322 §4.5), but only white space.
			rest := bytes.TrimLeft(b[i:], " \t")
			return i > 0 && len(rest) > 0 && rest[0] == ':'
		case c < 33 || c > 126:
			return false
		}
	}
	return false
}
