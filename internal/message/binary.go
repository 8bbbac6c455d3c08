package message

import (
	"bytes"
	"encoding/base64"
)

// isBinaryLeaf reports whether p is a leaf part whose body is binary data:
// labelled binary, or holding NUL whatever its label. A multipart labelled
// binary is not one (its parts are looked at instead).
func isBinaryLeaf(p *Part) bool {
	return !p.IsMultipart() && !p.IsMessage() && (p.Encoding == "binary" || p.NUL)
}

// HasBinary reports whether a leaf part of m has binary content (see
// BinaryToBase64). It looks only at the parse.
func (m *Message) HasBinary() bool { return hasBinary(&m.Root) }

func hasBinary(p *Part) bool {
	switch {
	case p.IsMultipart():
		for i := range p.Parts {
			if hasBinary(&p.Parts[i]) {
				return true
			}
		}
		return false
	case p.IsMessage():
		return hasBinary(p.Inner)
	}
	return isBinaryLeaf(p)
}

// base64LineLen is the length of an encoded line (RFC 2045 §6.8: at most 76).
const base64LineLen = 76

// cteBase64 is the header field a converted part gets.
const cteBase64 = "Content-Transfer-Encoding: base64\r\n"

// BinaryToBase64 returns raw, whose parse is m, with the body of every
// binary leaf part (HasBinary) base64-encoded in CRLF-separated lines of 76
// characters and its Content-Transfer-Encoding fields replaced by one that
// says base64; everything else is copied as it is. The result is a valid
// message without NUL octets for clients that do not speak BINARY (RFC
// 3516; RFC 9051 §9 forbids NUL in a literal). It returns raw itself when
// there is nothing to convert.
func BinaryToBase64(raw []byte, m *Message) []byte {
	if !m.HasBinary() {
		return raw
	}
	var leaves []*Part
	leaves = binaryLeaves(&m.Root, leaves)
	size := int64(len(raw))
	out := make([]byte, 0, len(raw)+len(raw)/3+len(raw)/38+64)
	pos := int64(0)
	clamp := func(v int64) int64 { return min(max(v, pos), size) }
	for _, p := range leaves {
		hs, bs := clamp(p.HeaderStart), clamp(p.BodyStart)
		be := max(clamp(p.End), bs)
		out = append(out, raw[pos:hs]...)
		out = rewriteCTE(out, raw[hs:bs])
		out = appendBase64Lines(out, raw[bs:be])
		pos = be
	}
	return append(out, raw[pos:]...)
}

func binaryLeaves(p *Part, out []*Part) []*Part {
	switch {
	case p.IsMultipart():
		for i := range p.Parts {
			out = binaryLeaves(&p.Parts[i], out)
		}
	case p.IsMessage():
		out = binaryLeaves(p.Inner, out)
	case isBinaryLeaf(p):
		out = append(out, p)
	}
	return out
}

// rewriteCTE appends header h with its Content-Transfer-Encoding fields
// (folded lines included) removed and one saying base64 in place of the
// first, or at the end of the fields when there is none. A part without a
// header gets one.
func rewriteCTE(out, h []byte) []byte {
	done := false
	skipping := false // inside a removed field's folded lines
	pos := 0
	if len(h) == 0 {
		// No header at all: the body began right away.
		out = append(out, cteBase64...)
		return append(out, "\r\n"...)
	}
	for pos < len(h) {
		next := len(h)
		if nl := bytes.IndexByte(h[pos:], '\n'); nl >= 0 {
			next = pos + nl + 1
		}
		line := h[pos:next]
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trimmed) == 0 && next > pos && line[len(line)-1] == '\n':
			// The empty line that ends the header.
			if !done {
				out = append(out, cteBase64...)
				done = true
			}
			return append(out, h[pos:]...)
		case len(trimmed) == 0:
			out = append(out, line...)
		case trimmed[0] == ' ' || trimmed[0] == '\t':
			if !skipping {
				out = append(out, line...)
			}
		case isCTEField(trimmed):
			skipping = true
			if !done {
				out = append(out, cteBase64...)
				done = true
			}
		default:
			skipping = false
			out = append(out, line...)
		}
		pos = next
	}
	// The header ran to the end of the part: no blank line, no body.
	if !done {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, "\r\n"...)
		}
		out = append(out, cteBase64...)
	}
	return out
}

// isCTEField reports whether a header line starts a
// Content-Transfer-Encoding field (white space before the colon allowed,
// as Parse allows it).
func isCTEField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	return bytes.EqualFold(bytes.TrimRight(line[:colon], " \t"), []byte("content-transfer-encoding"))
}

// appendBase64Lines appends the base64 encoding of b in lines of
// base64LineLen characters separated by CRLF; the last line has no line
// break (the one before a boundary belongs to the boundary).
func appendBase64Lines(out, b []byte) []byte {
	const chunk = base64LineLen / 4 * 3
	for i := 0; i < len(b); i += chunk {
		if i > 0 {
			out = append(out, "\r\n"...)
		}
		out = base64.StdEncoding.AppendEncode(out, b[i:min(i+chunk, len(b))])
	}
	return out
}
