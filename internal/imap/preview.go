package imap

import (
	"context"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// previewModifiers reads the optional preview modifiers after PREVIEW
// (RFC 8970: "(" preview-mod *(SP preview-mod) ")"; LAZY is the only
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

// preview makes a message's PREVIEW (RFC 8970, message.Preview): the
// one stored with it, else made from the stored message.
func (c *conn) preview(ctx context.Context, md *MessageData, msg *message.Message) (string, error) {
	if md.HasPreview {
		return md.Preview, nil
	}
	return msg.Preview(func(off int64, p []byte) error {
		if off+int64(len(p)) > md.Size {
			return nil // a parse that does not fit the message: no text
		}
		return c.readBody(ctx, md, off, p)
	})
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
