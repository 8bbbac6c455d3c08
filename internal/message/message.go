// Package message parses Internet messages (RFC 5322) and their MIME
// structure (RFC 2045, RFC 2046) once, at delivery, into what an IMAP server
// needs to answer ENVELOPE, BODYSTRUCTURE and body section fetches without
// parsing the message again (RFC 9051 §6.4.5, §7.5.2).
//
// Invariants:
//   - Parse never fails and never panics: malformed MIME is parsed as far as
//     it goes and the rest is treated as a text/plain body, so that malformed
//     mail is still delivered and served.
//   - Every part carries byte offsets into the raw message: its header is
//     raw[HeaderStart:BodyStart] (including the blank line that ends it, when
//     there is one) and its body raw[BodyStart:End]. A server serves
//     BODY[1.2.MIME], BODY[1.TEXT], partials and so on by reading a byte range
//     of the stored message; nothing here holds the message itself.
//   - Envelope strings are kept raw (unfolded, encoded words not decoded), as
//     IMAP sends them; the summary accessors (Subject, From, ...) decode them
//     to valid UTF-8 for storage in columns and for SEARCH.
//   - Unmarshal(Marshal(m)) is deeply equal to m.
//
// The package imports nothing internal.
package message

import (
	"bytes"
	"strings"
)

// Limits that keep a hostile message from costing more than a normal one.
// Beyond them the rest of a part is treated as text/plain.
const (
	// maxDepth bounds nesting of multipart and message/rfc822 parts. Each
	// level scans its body once for its boundary, so parse time is at most
	// maxDepth times the message size.
	maxDepth = 32
	// maxParts bounds the number of parts in one message.
	maxParts = 5000
)

// Message is the parse result of one message.
type Message struct {
	// Envelope is the top-level ENVELOPE (RFC 9051 §7.5.2).
	Envelope Envelope
	// Root is the whole message as a part: its header is the message header
	// (HeaderStart 0), its type that of the message body.
	Root Part
}

// Part is one MIME entity with what BODYSTRUCTURE needs and its offsets.
type Part struct {
	// Type and Subtype are lower case ("text", "plain").
	Type    string
	Subtype string
	// Params are the Content-Type parameters, attribute names lower case,
	// values unquoted but otherwise raw (RFC 2231 encodings are not undone,
	// as IMAP servers traditionally send them).
	Params      []Param
	ID          string // Content-ID, raw
	Description string // Content-Description, raw (may hold encoded words)
	// Encoding is the Content-Transfer-Encoding, lower case; "7bit" when absent.
	Encoding string
	MD5      string // Content-MD5, raw
	// Disposition is the Content-Disposition value, lower case ("" when absent).
	Disposition       string
	DispositionParams []Param
	Language          []string // Content-Language tags
	Location          string   // Content-Location, raw

	// Byte offsets into the raw message: header [HeaderStart, BodyStart),
	// body [BodyStart, End).
	HeaderStart int64
	BodyStart   int64
	End         int64
	// Lines is the number of lines of the body (text/* and message/rfc822
	// report it in BODYSTRUCTURE).
	Lines int64
	// NUL is set for a leaf part (neither multipart nor an encapsulated
	// message) whose body holds a NUL octet, which only the binary
	// transfer encoding allows (RFC 2045 §2.7, §2.8).
	NUL bool

	// Parts are the children of a multipart part.
	Parts []Part
	// Envelope and Inner are set for message/rfc822 and message/global
	// parts: the encapsulated message's envelope and the encapsulated
	// message as a part (its header is the encapsulated header).
	Envelope *Envelope
	Inner    *Part
}

// Param is one MIME parameter (attribute=value).
type Param struct {
	Name  string
	Value string
}

// Envelope holds the ENVELOPE fields in raw form (unfolded, trimmed, encoded
// words kept). Empty strings and nil lists are sent as NIL.
type Envelope struct {
	Date      string
	Subject   string
	From      []Address
	Sender    []Address
	ReplyTo   []Address
	To        []Address
	Cc        []Address
	Bcc       []Address
	InReplyTo string
	MessageID string
}

// AddressKind distinguishes ordinary addresses from RFC 5322 group syntax.
type AddressKind uint8

// Address kinds, as RFC 9051 §7.5.2 encodes group syntax in the address list.
const (
	// AddrMailbox is an ordinary address.
	AddrMailbox AddressKind = iota
	// AddrGroupStart starts a group; Mailbox holds the group name
	// (sent as (NIL NIL "name" NIL)).
	AddrGroupStart
	// AddrGroupEnd ends a group (sent as (NIL NIL NIL NIL)).
	AddrGroupEnd
)

// Address is one entry of an ENVELOPE address list.
type Address struct {
	Kind    AddressKind
	Name    string // display name, raw (quotes removed, encoded words kept)
	Adl     string // source route ("@a,@b"), obsolete but part of ENVELOPE
	Mailbox string // local part (or group name for AddrGroupStart)
	Host    string // domain
}

// IsMultipart reports whether the part is a multipart with children.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" && len(p.Parts) > 0 }

// IsMessage reports whether the part encapsulates a message
// (message/rfc822 or message/global) that was parsed.
func (p *Part) IsMessage() bool { return p.Inner != nil }

// Size is the size of the part's body in octets.
func (p *Part) Size() int64 { return p.End - p.BodyStart }

// Param returns the value of the Content-Type parameter name (lower case)
// and whether it is present.
func (p *Part) Param(name string) (string, bool) {
	for _, pr := range p.Params {
		if pr.Name == name {
			return pr.Value, true
		}
	}
	return "", false
}

// Part resolves an IMAP part specifier (RFC 9051 §6.4.5), e.g. [1 2] for
// "1.2", and returns the addressed part, or nil when there is none. An empty
// path returns the root. A non-multipart message has only part 1, the
// message body itself; the parts of a message/rfc822 part are those of the
// encapsulated message's body.
func (m *Message) Part(path []int) *Part {
	cur := &m.Root
	isMessage := true // cur is a message (root or encapsulated), not a body part
	for _, n := range path {
		for !cur.IsMultipart() && !isMessage && cur.Inner != nil {
			// A message/rfc822 body part: descend into the message.
			cur, isMessage = cur.Inner, true
		}
		switch {
		case cur.IsMultipart():
			if n < 1 || n > len(cur.Parts) {
				return nil
			}
			cur, isMessage = &cur.Parts[n-1], false
		case isMessage:
			// A non-multipart message has exactly one part: its body.
			if n != 1 {
				return nil
			}
			isMessage = false
		default:
			return nil
		}
	}
	return cur
}

// Subject returns the decoded Subject, as valid UTF-8.
func (m *Message) Subject() string { return DecodeText(m.Envelope.Subject) }

// From returns the decoded From addresses as a "Name <a@b>, ..." list.
func (m *Message) From() string { return FormatAddresses(m.Envelope.From) }

// To returns the decoded To addresses as a "Name <a@b>, ..." list.
func (m *Message) To() string { return FormatAddresses(m.Envelope.To) }

// Cc returns the decoded Cc addresses as a "Name <a@b>, ..." list.
func (m *Message) Cc() string { return FormatAddresses(m.Envelope.Cc) }

// Normalize returns raw with every bare LF turned into CRLF (a final CRLF is
// not added), except inside the bodies of parts whose transfer encoding is
// binary: those octets are data, not lines, and are kept exactly (RFC 3516
// §4.4: a transformation of appended binary content must lose nothing). It
// returns raw itself when nothing changes.
func Normalize(raw []byte) []byte {
	n := 0
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			n++
		}
	}
	if n == 0 {
		return raw
	}
	keep := binaryBodies(raw, &Parse(raw).Root, nil)
	out := make([]byte, 0, len(raw)+n)
	pos := int64(0)
	for _, r := range keep {
		out = appendCRLF(out, raw[pos:r[0]])
		out = append(out, raw[r[0]:r[1]]...)
		pos = r[1]
	}
	out = appendCRLF(out, raw[pos:])
	if len(out) == len(raw) {
		return raw
	}
	return out
}

// binaryBodies appends the body ranges of the leaf parts of p that hold
// binary data, in message order: those whose transfer encoding is binary,
// and those with a NUL octet, which no line-oriented encoding allows (RFC
// 2045 §2.7, §2.8), whatever their label says.
func binaryBodies(raw []byte, p *Part, out [][2]int64) [][2]int64 {
	switch {
	case p.IsMultipart():
		for i := range p.Parts {
			out = binaryBodies(raw, &p.Parts[i], out)
		}
	case p.IsMessage():
		out = binaryBodies(raw, p.Inner, out)
	case p.End > p.BodyStart && (p.Encoding == "binary" || bytes.IndexByte(raw[p.BodyStart:p.End], 0) >= 0):
		out = append(out, [2]int64{p.BodyStart, p.End})
	}
	return out
}

// appendCRLF appends b to out with each bare LF (one not preceded by CR,
// counting the last octet of out) written as CRLF.
func appendCRLF(out, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		if len(out) == 0 || out[len(out)-1] != '\r' {
			out = append(out, '\r')
		}
		out = append(out, '\n')
		b = b[i+1:]
	}
}

// Parse parses a whole message (CRLF line ends; bare LF is tolerated). It
// never fails: malformed MIME is parsed as far as it goes, the rest treated
// as a text/plain body.
func Parse(raw []byte) *Message {
	p := parser{raw: raw}
	m := &Message{}
	hdr := p.parseEntity(&m.Root, 0, int64(len(raw)), 0, false)
	m.Envelope = envelopeOf(hdr)
	return m
}

type parser struct {
	raw   []byte
	parts int
}

// parseEntity parses the entity raw[start:end] into pt and returns its header
// fields. digest says the default content type is message/rfc822 (RFC 2046
// §5.1.5).
func (p *parser) parseEntity(pt *Part, start, end int64, depth int, digest bool) []field {
	p.parts++
	b := p.raw[start:end]
	fields, hdrLen := parseHeader(b)
	pt.HeaderStart = start
	pt.BodyStart = start + int64(hdrLen)
	pt.End = end
	body := p.raw[pt.BodyStart:end]
	pt.Lines = countLines(body)
	pt.Encoding = "7bit"

	typeSet := false
	for i := range fields {
		f := &fields[i]
		switch f.name {
		case "content-type":
			if typeSet {
				continue
			}
			if t, st, params, ok := parseContentType(f.value); ok {
				pt.Type, pt.Subtype, pt.Params = t, st, params
				typeSet = true
			}
		case "content-transfer-encoding":
			if v := strings.ToLower(trimCFWS(f.value)); v != "" {
				pt.Encoding = v
			}
		case "content-id":
			pt.ID = f.value
		case "content-description":
			pt.Description = f.value
		case "content-md5":
			pt.MD5 = f.value
		case "content-disposition":
			if d, params, ok := parseDisposition(f.value); ok {
				pt.Disposition, pt.DispositionParams = d, params
			}
		case "content-language":
			pt.Language = parseLanguage(f.value)
		case "content-location":
			pt.Location = f.value
		}
	}
	if !typeSet {
		if digest {
			pt.Type, pt.Subtype = "message", "rfc822"
		} else {
			pt.Type, pt.Subtype = "text", "plain"
			pt.Params = []Param{{Name: "charset", Value: "us-ascii"}}
		}
	}

	switch {
	case pt.Type == "multipart":
		if !p.parseMultipart(pt, depth) {
			toText(pt)
		}
	case pt.Type == "message" && (pt.Subtype == "rfc822" || pt.Subtype == "global"):
		if depth >= maxDepth || p.parts >= maxParts {
			toText(pt)
			break
		}
		inner := &Part{}
		ih := p.parseEntity(inner, pt.BodyStart, pt.End, depth+1, false)
		env := envelopeOf(ih)
		pt.Inner, pt.Envelope = inner, &env
	}
	if !pt.IsMultipart() && !pt.IsMessage() {
		pt.NUL = bytes.IndexByte(body, 0) >= 0
	}
	return fields
}

// toText turns a part that could not be parsed as declared into the
// text/plain part it is served as.
func toText(pt *Part) {
	pt.Type, pt.Subtype = "text", "plain"
	pt.Params = []Param{{Name: "charset", Value: "us-ascii"}}
	pt.Parts, pt.Inner, pt.Envelope = nil, nil, nil
}

// parseMultipart splits pt's body at its boundary (RFC 2046 §5.1.1) and
// parses each body part. It reports false when there is no boundary
// parameter, no delimiter line, or a limit is reached.
func (p *parser) parseMultipart(pt *Part, depth int) bool {
	boundary, ok := pt.Param("boundary")
	if !ok || boundary == "" || depth >= maxDepth || p.parts >= maxParts {
		return false
	}
	digest := pt.Subtype == "digest"
	delim := make([]byte, 0, len(boundary)+2)
	delim = append(delim, "--"...)
	delim = append(delim, boundary...)

	body := p.raw[pt.BodyStart:pt.End]
	base := pt.BodyStart
	partStart := int64(-1) // start of the current body part, -1 in the preamble
	var parts []Part
	pos := 0
	for pos <= len(body) {
		// Find the next line that starts with the delimiter.
		i := indexLineStart(body, pos, delim)
		if i < 0 {
			break
		}
		lineEnd := bytes.IndexByte(body[i:], '\n')
		next := len(body)
		if lineEnd >= 0 {
			next = i + lineEnd + 1
		}
		rest := body[i+len(delim) : next]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if !closing && !isTransportPadding(rest) {
			// A longer boundary that merely starts with ours.
			pos = i + 1
			continue
		}
		if partStart >= 0 {
			// The line break before the delimiter belongs to the delimiter.
			e := i
			if e > 0 && body[e-1] == '\n' {
				e--
				if e > 0 && body[e-1] == '\r' {
					e--
				}
			}
			if int64(e) < partStart {
				e = int(partStart)
			}
			parts = p.addPart(parts, base+partStart, base+int64(e), depth, digest)
			if p.parts >= maxParts {
				partStart = -1
				break
			}
		}
		if closing {
			partStart = -1
			break
		}
		partStart = int64(next)
		pos = next
	}
	if partStart >= 0 {
		// No close delimiter: the last part runs to the end.
		parts = p.addPart(parts, base+partStart, pt.End, depth, digest)
	}
	if len(parts) == 0 {
		return false
	}
	pt.Parts = parts
	return true
}

func (p *parser) addPart(parts []Part, start, end int64, depth int, digest bool) []Part {
	parts = append(parts, Part{})
	p.parseEntity(&parts[len(parts)-1], start, end, depth+1, digest)
	return parts
}

// indexLineStart returns the index of the first occurrence of delim at or
// after from that starts a line, or -1.
func indexLineStart(b []byte, from int, delim []byte) int {
	for from <= len(b) {
		i := bytes.Index(b[from:], delim)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || b[i-1] == '\n' {
			return i
		}
		from = i + 1
	}
	return -1
}

// isTransportPadding reports whether the rest of a delimiter line is only
// linear white space and the line break (RFC 2046 §5.1.1 transport-padding).
func isTransportPadding(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// countLines counts the lines of b: line breaks, plus a last line without one.
func countLines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte{'\n'}))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
