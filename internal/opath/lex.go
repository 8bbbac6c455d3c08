package opath

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind is the kind of a lexical token.
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokLParen           // (
	tokRParen           // )
	tokBang             // !
	tokDash             // -word: an operator (-eq, -and, -not, ...)
	tokString           // 'text' or "text"; val is the unquoted text
	tokVar              // $word; val is the word without '$'
	tokWord             // a bareword: property name, number, date or unquoted text
	tokError            // val is the message; pos the offending offset
)

type token struct {
	kind tokenKind
	pos  int    // byte offset in the input
	val  string // decoded text
	raw  string // the text as written
}

// lexer turns a filter into tokens. It runs synchronously: next returns
// one token at a time, as the parser asks for it.
type lexer struct {
	input string
	pos   int
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// isWordRune reports whether r may continue a bareword: anything but space,
// parentheses and quotes.
func isWordRune(r rune) bool {
	switch r {
	case '(', ')', '\'', '"':
		return false
	}
	return !isSpace(r)
}

func (l *lexer) next() token {
	for l.pos < len(l.input) {
		r, w := utf8.DecodeRuneInString(l.input[l.pos:])
		if !isSpace(r) {
			break
		}
		l.pos += w
	}
	if l.pos >= len(l.input) {
		return token{kind: tokEOF, pos: l.pos}
	}
	start := l.pos
	r, w := utf8.DecodeRuneInString(l.input[l.pos:])
	switch {
	case r == '(':
		l.pos += w
		return token{kind: tokLParen, pos: start, raw: "("}
	case r == ')':
		l.pos += w
		return token{kind: tokRParen, pos: start, raw: ")"}
	case r == '!':
		l.pos += w
		return token{kind: tokBang, pos: start, raw: "!"}
	case r == '\'' || r == '"':
		return l.lexString(r)
	case r == '$':
		l.pos += w
		wordStart := l.pos
		for l.pos < len(l.input) {
			r, w := utf8.DecodeRuneInString(l.input[l.pos:])
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
				break
			}
			l.pos += w
		}
		return token{kind: tokVar, pos: start, val: l.input[wordStart:l.pos], raw: l.input[start:l.pos]}
	case r == '-' && l.pos+1 < len(l.input) && isLetter(l.input[l.pos+1]):
		l.pos++
		wordStart := l.pos
		for l.pos < len(l.input) && isLetter(l.input[l.pos]) {
			l.pos++
		}
		return token{kind: tokDash, pos: start, val: strings.ToLower(l.input[wordStart:l.pos]), raw: l.input[start:l.pos]}
	}
	for l.pos < len(l.input) {
		r, w := utf8.DecodeRuneInString(l.input[l.pos:])
		if !isWordRune(r) {
			break
		}
		l.pos += w
	}
	word := l.input[start:l.pos]
	return token{kind: tokWord, pos: start, val: word, raw: word}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// lexString reads a quoted string. Inside either quote a doubled quote
// stands for one; inside double quotes a backtick escapes the next
// character (`n, `t, `r, `0 are control characters), as in PowerShell.
func (l *lexer) lexString(q rune) token {
	start := l.pos
	l.pos++ // both quotes are one byte
	var b strings.Builder
	for l.pos < len(l.input) {
		r, w := utf8.DecodeRuneInString(l.input[l.pos:])
		l.pos += w
		switch {
		case r == q:
			if l.pos < len(l.input) && rune(l.input[l.pos]) == q {
				b.WriteRune(q)
				l.pos++
				continue
			}
			return token{kind: tokString, pos: start, val: b.String(), raw: l.input[start:l.pos]}
		case r == '`' && q == '"' && l.pos < len(l.input):
			e, w := utf8.DecodeRuneInString(l.input[l.pos:])
			l.pos += w
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteRune(e)
			}
		default:
			b.WriteRune(r)
		}
	}
	// PowerShell's text for the same mistake.
	return token{kind: tokError, pos: start, val: "The string is missing the terminator: " + string(q) + "."}
}
