package imap

import (
	"bufio"
	"strconv"
	"time"
	"unicode/utf8"
)

// writer encodes responses (RFC 9051 §7, §9 formal syntax) into a buffered
// writer. The first write error sticks; later writes do nothing.
type writer struct {
	bw   *bufio.Writer
	z    *deflater // under bw after COMPRESS (compress.go), else nil
	err  error
	utf8 bool // IMAP4rev2: UTF-8 may appear in quoted strings (RFC 9051 §9 QUOTED-CHAR)
}

func (w *writer) raw(s string) {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
}

func (w *writer) bytes(b []byte) {
	if w.err == nil {
		_, w.err = w.bw.Write(b)
	}
}

func (w *writer) byte(c byte) {
	if w.err == nil {
		w.err = w.bw.WriteByte(c)
	}
}

func (w *writer) sp() { w.byte(' ') }

func (w *writer) crlf() { w.raw("\r\n") }

func (w *writer) num(n uint32) {
	if w.err == nil {
		var b [10]byte
		_, w.err = w.bw.Write(strconv.AppendUint(b[:0], uint64(n), 10))
	}
}

func (w *writer) num64(n int64) {
	if w.err == nil {
		var b [20]byte
		_, w.err = w.bw.Write(strconv.AppendInt(b[:0], n, 10))
	}
}

func (w *writer) unum64(n uint64) {
	if w.err == nil {
		var b [20]byte
		_, w.err = w.bw.Write(strconv.AppendUint(b[:0], n, 10))
	}
}

// maxQuoted is the longest string sent quoted; longer ones go as literals.
const maxQuoted = 1000

// canQuote reports whether s can be sent as a quoted string.
func (w *writer) canQuote(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			return false
		}
		if c >= 0x80 && !(w.utf8 && utf8.ValidString(s)) {
			return false
		}
	}
	return true
}

// str writes s as a quoted string or, when it cannot be quoted, a literal.
func (w *writer) str(s string) {
	if !w.canQuote(s) {
		w.literal(s)
		return
	}
	w.byte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			w.byte('\\')
		}
		w.byte(c)
	}
	w.byte('"')
}

// nstring writes s, or NIL when it is empty.
func (w *writer) nstring(s string) {
	if s == "" {
		w.raw("NIL")
		return
	}
	w.str(s)
}

// astring writes s as an atom when it is one, else as a string.
func (w *writer) astring(s string) {
	if isAtom(s) && s != "NIL" {
		w.raw(s)
		return
	}
	w.str(s)
}

func (w *writer) literal(s string) {
	w.literalHeader(int64(len(s)), false)
	w.raw(s)
}

// literalHeader writes "{n}\r\n" or, for binary data, "~{n}\r\n" (RFC 3516).
func (w *writer) literalHeader(n int64, binary bool) {
	if binary {
		w.byte('~')
	}
	w.byte('{')
	w.num64(n)
	w.raw("}\r\n")
}

// flush sends what is buffered; with COMPRESS, as a sync flush, so that
// the client can decompress everything sent so far (RFC 4978 §4).
func (w *writer) flush() {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err == nil && w.z != nil {
		w.err = w.z.Flush()
	}
}

// isAtom reports whether s is a non-empty atom (RFC 9051 §9 ATOM-CHAR).
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return false
		}
	}
	return true
}

// isAtomChar: any CHAR except atom-specials: "(" ")" "{" SP CTL "%" "*"
// DQUOTE "\" "]".
func isAtomChar(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAstringChar: ATOM-CHAR or resp-specials ("]").
func isAstringChar(c byte) bool { return isAtomChar(c) || c == ']' }

// isListChar: ATOM-CHAR, list-wildcards or resp-specials.
func isListChar(c byte) bool { return isAstringChar(c) || c == '%' || c == '*' }

// dateTime formats an IMAP date-time ("17-Jul-1996 02:44:25 -0700").
func dateTime(t time.Time) string {
	return t.Format("02-Jan-2006 15:04:05 -0700")
}
