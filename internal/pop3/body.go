package pop3

import (
	"bufio"
	"bytes"
)

// bodyWriter streams a message as a multi-line response (RFC 1939 §3): a
// line that starts with "." gets another "." in front (dot-stuffing), and
// the response ends with CRLF "." CRLF. For TOP it stops after the header,
// the blank line that ends it, and the requested number of body lines
// (RFC 1939 §7 TOP).
type bodyWriter struct {
	w           *bufio.Writer
	atLineStart bool

	// TOP state; top is false for RETR.
	top       bool
	inBody    bool  // past the blank line that ends the header
	lines     int   // body lines still to send
	lineLen   int   // octets of the current line so far, LF excluded
	lineFirst byte  // first octet of the current line
	done      bool  // TOP sent all it should
	written   int64 // octets of the message written, before stuffing
}

func newBodyWriter(w *bufio.Writer) *bodyWriter {
	return &bodyWriter{w: w, atLineStart: true}
}

// newTopWriter returns a writer that sends the header and n body lines.
func newTopWriter(w *bufio.Writer, n int) *bodyWriter {
	return &bodyWriter{w: w, atLineStart: true, top: true, lines: n}
}

// write sends the next octets of the message. It reports whether more are
// wanted (false once TOP has sent everything it should).
func (b *bodyWriter) write(p []byte) bool {
	if !b.top {
		b.writeAll(p)
		return true
	}
	for len(p) > 0 && !b.done {
		if b.atLineStart {
			b.atLineStart = false
			if p[0] == '.' {
				b.w.WriteByte('.')
			}
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			b.w.Write(p)
			b.written += int64(len(p))
			if b.top {
				b.noteLine(p)
			}
			return true
		}
		b.w.Write(p[:i+1])
		b.written += int64(i + 1)
		b.atLineStart = true
		if b.top {
			b.noteLine(p[:i])
			b.endLine()
		}
		p = p[i+1:]
	}
	return !b.done
}

// dotLine is a line end followed by a line that starts with ".".
var dotLine = []byte("\n.")

// writeAll is write for RETR: the octets go out in spans that end before
// the next line that starts with "." (rare in mail), not line by line.
func (b *bodyWriter) writeAll(p []byte) {
	for len(p) > 0 {
		if b.atLineStart && p[0] == '.' {
			b.w.WriteByte('.')
		}
		i := bytes.Index(p, dotLine)
		if i < 0 {
			b.w.Write(p)
			b.written += int64(len(p))
			b.atLineStart = p[len(p)-1] == '\n'
			return
		}
		b.w.Write(p[:i+1])
		b.written += int64(i + 1)
		b.atLineStart = true
		p = p[i+1:]
	}
}

// noteLine records octets of the current line (without its LF).
func (b *bodyWriter) noteLine(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.lineLen == 0 {
		b.lineFirst = p[0]
	}
	b.lineLen += len(p)
}

// endLine is called at each LF during TOP.
func (b *bodyWriter) endLine() {
	empty := b.lineLen == 0 || (b.lineLen == 1 && b.lineFirst == '\r')
	b.lineLen = 0
	if !b.inBody {
		if empty {
			b.inBody = true
			if b.lines == 0 {
				b.done = true
			}
		}
		return
	}
	b.lines--
	if b.lines <= 0 {
		b.done = true
	}
}

// finish ends the multi-line response. A message whose last line lacks its
// line end gets CRLF first, so that the terminating "." stands on a line of
// its own; that CRLF belongs to the terminator, not to the message.
func (b *bodyWriter) finish() {
	if !b.atLineStart {
		b.w.WriteString("\r\n")
	}
	b.w.WriteString(".\r\n")
}
