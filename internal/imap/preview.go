package imap

import (
	"context"
	"html"
	"strings"
	"unicode"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// previewChars is the most characters a PREVIEW holds (RFC 8970 §3).
const previewChars = 256

// maxPreviewRead bounds how much of the chosen part a PREVIEW reads: the
// start of a large message is enough for 256 characters, even behind the
// style sheet of an HTML message.
const maxPreviewRead = 64 << 10

// previewModifiers reads the optional preview modifiers after PREVIEW
// (RFC 8970 §6: "(" preview-mod *(SP preview-mod) ")"; LAZY is the only
// one). A parenthesized list that does not start with a preview modifier
// is left alone: it is FETCH's own modifier list.
func (p *parser) previewModifiers() error {
	if p.pos+1 >= len(p.line) || p.line[p.pos] != ' ' || p.line[p.pos+1] != '(' {
		return nil
	}
	start := p.pos
	p.pos += 2
	if kw, _ := p.keyword(); kw != "LAZY" {
		p.pos = start
		return nil
	}
	// The preview is always made at once, so LAZY changes nothing.
	for !p.consume(')') {
		if err := p.sp(); err != nil {
			return err
		}
		at := p.pos
		kw, err := p.keyword()
		if err != nil {
			return err
		}
		if kw != "LAZY" {
			p.pos = at
			return p.errorf("unknown PREVIEW modifier %s", truncate(kw, 30))
		}
	}
	return nil
}

// preview makes a message's PREVIEW (RFC 8970 §3): the text of its first
// text/plain part (or, lacking one, text/html stripped to text), not an
// attachment, transfer encoding and charset undone, runs of white space
// made one space, at most previewChars characters. A message without such
// a part has the empty preview. At most maxPreviewRead octets of the part
// are read.
func (c *conn) preview(ctx context.Context, md *MessageData, msg *message.Message) (string, error) {
	p := previewPart(&msg.Root)
	if p == nil {
		return "", nil
	}
	n := min(p.End-p.BodyStart, maxPreviewRead)
	if n <= 0 || p.BodyStart+n > md.Size {
		return "", nil
	}
	body := make([]byte, n)
	if err := c.readBody(ctx, md, p.BodyStart, body); err != nil {
		return "", err
	}
	text := p.Text(body)
	if n < p.End-p.BodyStart {
		// Cut off: the last character may be a partial one.
		text = strings.TrimRight(text, "\uFFFD")
	}
	if p.Subtype == "html" {
		text = htmlText(text)
	}
	return previewText(text), nil
}

// previewPart finds the part a preview is made of: depth first, the first
// inline text/plain or text/html; of the alternatives of a
// multipart/alternative, text/plain first.
func previewPart(p *message.Part) *message.Part {
	switch {
	case p.IsMultipart():
		if p.Subtype == "alternative" {
			var html *message.Part
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
// spaces, trims, and cuts to previewChars characters.
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
			if n+1 >= previewChars {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= previewChars {
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

// writeObjectID writes "(" objectid ")" (RFC 8474), or NIL when the
// backend has no id.
func (c *conn) writeObjectID(id string) {
	if id == "" {
		c.w.raw("NIL")
		return
	}
	c.w.byte('(')
	c.w.raw(id)
	c.w.byte(')')
}

// validObjectID reports whether s is an RFC 8474 objectid: 1 to 255 of
// A-Z, a-z, 0-9, "_" and "-".
func validObjectID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
