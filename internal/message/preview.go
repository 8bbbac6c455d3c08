package message

import (
	"html"
	"strings"
	"unicode"
)

// PreviewChars is the most characters a preview holds (RFC 8970).
const PreviewChars = 256

// maxPreviewRead bounds how much of the chosen part a preview reads: the
// start of a large message is enough for 256 characters, even behind the
// style sheet of an HTML message.
const maxPreviewRead = 64 << 10

// Preview makes the message's preview (IMAP PREVIEW, RFC 8970): the text
// of its first inline text/plain part (of alternatives, text/plain first;
// lacking one, text/html stripped to text), transfer encoding and charset
// undone, runs of white space made one space, at most PreviewChars
// characters. A message without such a part has the empty preview. read
// fills p from the raw message at off; at most 64 KiB of the part are read.
func (m *Message) Preview(read func(off int64, p []byte) error) (string, error) {
	p, n := m.previewSpan()
	if n <= 0 {
		return "", nil
	}
	body := make([]byte, n)
	if err := read(p.BodyStart, body); err != nil {
		return "", err
	}
	return p.preview(body, n < p.End-p.BodyStart), nil
}

// PreviewOf is Preview of the message whose raw form is raw (what Parse
// parsed), made from raw itself.
func (m *Message) PreviewOf(raw []byte) string {
	p, n := m.previewSpan()
	if n <= 0 || p.BodyStart < 0 || p.BodyStart+n > int64(len(raw)) {
		return ""
	}
	return p.preview(raw[p.BodyStart:p.BodyStart+n], n < p.End-p.BodyStart)
}

// previewSpan returns the part a preview is made of and how much of its
// body to read (0: no preview).
func (m *Message) previewSpan() (*Part, int64) {
	p := previewPart(&m.Root)
	if p == nil {
		return nil, 0
	}
	return p, min(p.End-p.BodyStart, maxPreviewRead)
}

// preview makes the preview of p from the start of its body; cut says
// that body is not the whole of it.
func (p *Part) preview(body []byte, cut bool) string {
	text := p.Text(body)
	if cut {
		// Cut off: the last character may be a partial one.
		text = strings.TrimRight(text, "\uFFFD")
	}
	if p.Subtype == "html" {
		text = htmlText(text)
	}
	return previewText(text)
}

// previewPart finds the part a preview is made of: depth first, the first
// inline text/plain or text/html; of the alternatives of a
// multipart/alternative, text/plain first.
func previewPart(p *Part) *Part {
	switch {
	case p.IsMultipart():
		if p.Subtype == "alternative" {
			var html *Part
			for i := range p.Parts {
				q := previewPart(&p.Parts[i])
				if q == nil {
					continue
				}
				if q.Subtype == "plain" {
					return q
				}
				if html == nil {
					html = q
				}
			}
			return html
		}
		for i := range p.Parts {
			if q := previewPart(&p.Parts[i]); q != nil {
				return q
			}
		}
		return nil
	case p.IsMessage():
		// An attached message is not this message's text.
		return nil
	case p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html") && p.Disposition != "attachment":
		return p
	}
	return nil
}

// previewText collapses white space and control characters into single
// spaces, trims, and cuts to PreviewChars characters.
func previewText(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u200b' || r == '\ufeff' {
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 >= PreviewChars {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= PreviewChars {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// htmlText reduces HTML to its text: tags go (block-level ones leave a
// space), comments and the content of head, script, style and title go,
// and character references are decoded.
func htmlText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				break
			}
			s = s[4+end+3:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			break // a tag cut off by the read limit
		}
		tag := s[1:end]
		s = s[end+1:]
		name := strings.ToLower(strings.TrimLeft(tagName(tag), "/"))
		switch name {
		case "head", "script", "style", "title":
			if strings.HasPrefix(tag, "/") || strings.HasSuffix(tag, "/") {
				continue
			}
			// Skip to the closing tag.
			closing := "</" + name
			j := indexFold(s, closing)
			if j < 0 {
				s = ""
				continue
			}
			s = s[j+len(closing):]
			if k := strings.IndexByte(s, '>'); k >= 0 {
				s = s[k+1:]
			} else {
				s = ""
			}
			b.WriteByte(' ')
		default:
			// Any tag may separate words ("a<br>b", "<td>1</td><td>2</td>");
			// inline ones seldom do, but a space too many costs nothing
			// once spaces are collapsed.
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// tagName is the name at the start of a tag's content ("p class=x" -> "p").
func tagName(tag string) string {
	end := len(tag)
	for i, r := range tag {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || (r == '/' && i > 0) {
			end = i
			break
		}
	}
	return tag[:end]
}

// indexFold is strings.Index ignoring ASCII case; needle is lower case.
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}
