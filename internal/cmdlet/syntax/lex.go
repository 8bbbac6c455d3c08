package syntax

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mode is the lexer mode the parser asks for.
type Mode int

// The lexer modes.
const (
	// ModeExpression: operators, numbers, strings, variables; barewords are
	// words that only the parser may accept (keywords, command names).
	ModeExpression Mode = iota
	// ModeArgument: the arguments of a command. -Name is a parameter and a
	// bareword runs to the next space or one of ;|,(){} and is a string (or
	// a number when it reads as one).
	ModeArgument
	// ModeMember: the name after '.' or '::'.
	ModeMember
)

// lexer produces one token at a time from a position, driven by state
// functions in the manner of text/template/parse.
type lexer struct {
	input string
	mode  Mode
	from  int // where this call started
	start int // start of the token being lexed
	pos   int // current position
	tok   Token
	done  bool
}

type stateFn func(*lexer) stateFn

// lexAt returns the token that starts at or after pos in the given mode.
func lexAt(input string, pos int, mode Mode) Token {
	l := &lexer{input: input, mode: mode, from: pos, start: pos, pos: pos}
	for st := lexSpace; !l.done; {
		st = st(l)
	}
	return l.tok
}

const eof = -1

func (l *lexer) peek() rune {
	if l.pos >= len(l.input) {
		return eof
	}
	r, _ := utf8.DecodeRuneInString(l.input[l.pos:])
	return r
}

func (l *lexer) peekAt(off int) rune {
	if l.pos+off >= len(l.input) {
		return eof
	}
	r, _ := utf8.DecodeRuneInString(l.input[l.pos+off:])
	return r
}

func (l *lexer) next() rune {
	if l.pos >= len(l.input) {
		return eof
	}
	r, w := utf8.DecodeRuneInString(l.input[l.pos:])
	l.pos += w
	return r
}

func (l *lexer) emit(kind TokenKind, value string) stateFn {
	l.tok = Token{Kind: kind, From: l.from, Pos: l.start, End: l.pos, Value: value}
	l.done = true
	return nil
}

func (l *lexer) errorf(incomplete bool, msg string) stateFn {
	l.tok = Token{Kind: TokError, From: l.from, Pos: l.start, End: l.pos, Value: msg, Incomplete: incomplete}
	l.done = true
	return nil
}

// Quote characters. PowerShell also accepts the typographic quotes that
// word processors substitute, which admins paste from documents.
func isSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b'
}

func isDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e'
}

func isDash(r rune) bool {
	// PowerShell accepts en dash, em dash and horizontal bar as '-', again
	// because of pasted documentation.
	return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015'
}

func isSpaceRune(r rune) bool {
	return r == ' ' || r == '\t' || r == '\f' || r == '\v' || r == '\u00a0' || r == '\ufeff' ||
		(r > 0x7f && r != '\u2028' && r != '\u2029' && unicode.IsSpace(r) && r != '\u0085')
}

func isNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isArgEnd reports whether r ends a bareword in argument mode. '<' and
// '>' end one too, so that a redirection such as 2>$null is reported
// rather than taken as text.
func isArgEnd(r rune) bool {
	switch r {
	case eof, '\n', '\r', ';', '|', ',', '(', ')', '{', '}', '<', '>':
		return true
	}
	return isSpaceRune(r)
}

// lexSpace skips blanks, line continuations (a backtick before a line
// break) and comments, then dispatches on the next character.
func lexSpace(l *lexer) stateFn {
	for {
		r := l.peek()
		switch {
		case isSpaceRune(r):
			l.next()
		case r == '`' && (l.peekAt(1) == '\n' || l.peekAt(1) == '\r'):
			l.next()
			if l.next() == '\r' && l.peek() == '\n' {
				l.next()
			}
		case r == '`' && l.peekAt(1) == eof:
			l.start = l.pos
			l.next()
			return l.errorf(true, "Missing statement after the line continuation character '`'.")
		case r == '#':
			for r := l.peek(); r != eof && r != '\n' && r != '\r'; r = l.peek() {
				l.next()
			}
		case r == '<' && l.peekAt(1) == '#':
			l.start = l.pos
			end := strings.Index(l.input[l.pos+2:], "#>")
			if end < 0 {
				l.pos = len(l.input)
				return l.errorf(true, "Missing the terminator '#>' of a block comment.")
			}
			l.pos += 2 + end + 2
		default:
			l.start = l.pos
			return lexToken
		}
	}
}

// lexToken lexes the token at l.pos.
func lexToken(l *lexer) stateFn {
	if l.mode == ModeMember {
		return lexMember
	}
	r := l.next()
	switch {
	case r == eof:
		return l.emit(TokEOF, "")
	case r == '\n':
		return l.emit(TokNewline, "")
	case r == '\r':
		if l.peek() == '\n' {
			l.next()
		}
		return l.emit(TokNewline, "")
	case r == ';':
		return l.emit(TokSemi, "")
	case r == '|':
		if l.peek() == '|' {
			l.next()
			return l.errorf(false, "The token '||' is not a valid statement separator in this version.")
		}
		return l.emit(TokPipe, "")
	case r == ',':
		return l.emit(TokComma, "")
	case r == '(':
		return l.emit(TokLParen, "")
	case r == ')':
		return l.emit(TokRParen, "")
	case r == '{':
		return l.emit(TokLBrace, "")
	case r == '}':
		return l.emit(TokRBrace, "")
	case r == '&':
		if l.peek() == '&' {
			l.next()
			return l.errorf(false, "The token '&&' is not a valid statement separator in this version.")
		}
		return l.emit(TokAmp, "")
	case r == '@':
		switch p := l.peek(); {
		case p == '(':
			l.next()
			return l.emit(TokAtParen, "")
		case p == '{':
			l.next()
			return l.emit(TokAtBrace, "")
		case isSingleQuote(p) || isDoubleQuote(p):
			return lexHereString
		}
		if l.mode == ModeArgument && isNameRune(l.peek()) {
			// @params: splatting a hashtable or an array variable
			for isNameRune(l.peek()) {
				l.next()
			}
			if isArgEnd(l.peek()) || l.peek() == eof {
				return l.emit(TokSplat, l.input[l.start+1:l.pos])
			}
			return lexGeneric
		}
		if l.mode == ModeArgument {
			return lexGeneric
		}
		return l.errorf(false, "Unrecognized token in source text.")
	case r == '$':
		if l.peek() == '(' {
			l.next()
			return l.emit(TokDollarParen, "")
		}
		return lexVariable
	case isSingleQuote(r):
		return lexSingleQuoted
	case isDoubleQuote(r):
		return lexDoubleQuoted
	case r == '<' || r == '>':
		if r == '<' {
			return l.errorf(false, "The '<' operator is reserved for future use.")
		}
		// Output redirection, > and >>. Stream redirections (2>, *>, 2>&1)
		// are refused rather than misread as an argument and a '>'.
		if l.start > 0 && strings.ContainsRune("0123456789*", rune(l.input[l.start-1])) {
			return l.errorf(false, "Only output redirection (> and >>) is supported; for errors use -ErrorAction or -ErrorVariable.")
		}
		op := ">"
		if l.peek() == '>' {
			l.next()
			op = ">>"
		}
		if l.peek() == '&' {
			return l.errorf(false, "Only output redirection (> and >>) is supported; for errors use -ErrorAction or -ErrorVariable.")
		}
		return l.emit(TokRedirect, op)
	}
	if l.mode == ModeArgument {
		return lexArgument(l, r)
	}
	return lexExpression(l, r)
}

// lexArgument lexes a parameter or a bareword in argument mode; r has been
// consumed.
func lexArgument(l *lexer, r rune) stateFn {
	if isDash(r) {
		if p := l.peek(); p != eof && (unicode.IsLetter(p) || p == '_' || p == '?') {
			nameStart := l.pos
			for p := l.peek(); !isArgEnd(p) && p != ':'; p = l.peek() {
				l.next()
			}
			name := l.input[nameStart:l.pos]
			colon := false
			if l.peek() == ':' {
				l.next()
				colon = true
			}
			l.emit(TokParameter, name)
			l.tok.Colon = colon
			return nil
		}
	}
	return lexGeneric
}

// lexGeneric lexes a bareword argument: everything up to a space or one
// of ;|,(){}. A bareword that reads as a number is a number.
func lexGeneric(l *lexer) stateFn {
	// Start over at the first character, so that a backtick there escapes
	// like anywhere else in the word.
	l.pos = l.start
	for !isArgEnd(l.peek()) {
		if l.peek() == '`' && l.peekAt(1) != eof && l.peekAt(1) != '\n' && l.peekAt(1) != '\r' {
			l.next()
		}
		l.next()
	}
	text := l.input[l.start:l.pos]
	if _, ok := ParseNumber(text); ok {
		return l.emit(TokNumber, text)
	}
	return l.emit(TokWord, unescapeBare(text))
}

// unescapeBare removes backtick escapes from a bareword.
func unescapeBare(s string) string {
	if !strings.Contains(s, "`") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '`' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dashOperators are PowerShell's operators spelled -word.
var dashOperators = map[string]bool{
	"and": true, "or": true, "xor": true, "not": true,
	"f": true, "band": true, "bor": true, "bxor": true, "bnot": true, "shl": true, "shr": true,
	"is": true, "isnot": true, "as": true, "join": true, "split": true,
}

// comparisonOperators may carry a c (case-sensitive) or i prefix.
var comparisonOperators = map[string]bool{
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"like": true, "notlike": true, "match": true, "notmatch": true,
	"contains": true, "notcontains": true, "in": true, "notin": true,
	"replace": true, "split": true,
}

// IsOperatorWord reports whether -word is an operator in expression mode.
func IsOperatorWord(word string) bool {
	w := strings.ToLower(word)
	if dashOperators[w] || comparisonOperators[w] {
		return true
	}
	if len(w) > 1 && (w[0] == 'c' || w[0] == 'i') && comparisonOperators[w[1:]] {
		return true
	}
	return false
}

// lexExpression lexes a token in expression mode; r has been consumed.
func lexExpression(l *lexer, r rune) stateFn {
	switch {
	case r == '[':
		return l.emit(TokLBracket, "")
	case r == ']':
		return l.emit(TokRBracket, "")
	case r == '.':
		if l.peek() == '.' {
			l.next()
			return l.emit(TokOperator, "..")
		}
		if unicode.IsDigit(l.peek()) {
			return lexNumber
		}
		return l.emit(TokDot, "")
	case r == ':':
		if l.peek() == ':' {
			l.next()
			return l.emit(TokDoubleColon, "")
		}
	case r == '=':
		return l.emit(TokAssign, "=")
	case r == '+' || r == '*' || r == '/' || r == '%':
		if l.peek() == '=' {
			l.next()
			return l.emit(TokAssign, string(r)+"=")
		}
		return l.emit(TokOperator, string(r))
	case r == '!':
		if l.peek() == '=' {
			return l.errorf(false, "The '!=' operator is not supported; use -ne.")
		}
		return l.emit(TokOperator, "!")
	case isDash(r):
		if p := l.peek(); unicode.IsLetter(p) {
			wordStart := l.pos
			for isNameRune(l.peek()) {
				l.next()
			}
			word := strings.ToLower(l.input[wordStart:l.pos])
			if IsOperatorWord(word) {
				return l.emit(TokOperator, "-"+word)
			}
			return l.emit(TokParameter, l.input[wordStart:l.pos])
		}
		if l.peek() == '=' {
			l.next()
			return l.emit(TokAssign, "-=")
		}
		return l.emit(TokOperator, "-")
	case unicode.IsDigit(r):
		return lexNumber
	case isNameRune(r):
		for p := l.peek(); isNameRune(p) || (isDash(p) && isNameRune(l.peekAt(utf8.RuneLen(p)))); p = l.peek() {
			l.next()
		}
		return l.emit(TokWord, l.input[l.start:l.pos])
	}
	return l.errorf(false, "Unexpected token '"+string(r)+"' in expression or statement.")
}

// lexNumber lexes a number in expression mode.
func lexNumber(l *lexer) stateFn {
	l.pos = l.start
	for {
		r := l.peek()
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' && unicode.IsDigit(l.peekAt(1)) {
			l.next()
			continue
		}
		// an exponent sign: 1e-5
		if (r == '-' || r == '+') && l.pos > l.start && strings.ContainsRune("eE", rune(l.input[l.pos-1])) && unicode.IsDigit(l.peekAt(1)) && !strings.HasPrefix(strings.ToLower(l.input[l.start:l.pos]), "0x") {
			l.next()
			continue
		}
		break
	}
	text := l.input[l.start:l.pos]
	if _, ok := ParseNumber(text); !ok {
		return l.errorf(false, "The numeric constant "+text+" is not valid.")
	}
	return l.emit(TokNumber, text)
}

// lexMember lexes the name after '.' or '::': a word, a variable or a
// string.
func lexMember(l *lexer) stateFn {
	r := l.next()
	switch {
	case r == '$':
		if l.peek() == '(' {
			l.next()
			return l.emit(TokDollarParen, "")
		}
		return lexVariable
	case isSingleQuote(r):
		return lexSingleQuoted
	case isDoubleQuote(r):
		return lexDoubleQuoted
	case isNameRune(r):
		for isNameRune(l.peek()) {
			l.next()
		}
		return l.emit(TokWord, l.input[l.start:l.pos])
	}
	l.pos = l.start
	return l.errorf(r == eof, "Missing property name after reference operator.")
}

// lexVariable lexes a variable after '$': $name, $scope:name, ${any name},
// $_, $? and $^/$$.
func lexVariable(l *lexer) stateFn {
	r := l.peek()
	switch {
	case r == '{':
		l.next()
		nameStart := l.pos
		for {
			r := l.next()
			if r == eof {
				return l.errorf(true, "Missing closing '}' in variable name.")
			}
			if r == '`' {
				l.next()
				continue
			}
			if r == '}' {
				name := unescapeBare(l.input[nameStart : l.pos-1])
				if name == "" {
					return l.errorf(false, "Empty ${} variable reference, there should be a name between the braces.")
				}
				return l.emit(TokVariable, name)
			}
		}
	case r == '?' || r == '^' || r == '$':
		l.next()
		return l.emit(TokVariable, string(r))
	case isNameRune(r):
		for isNameRune(l.peek()) {
			l.next()
		}
		name := l.input[l.start+1 : l.pos]
		// scope or drive qualifier: $env:NAME, $script:x
		if l.peek() == ':' && l.peekAt(1) != ':' && isNameRune(l.peekAt(1)) {
			switch strings.ToLower(name) {
			case "env", "global", "script", "local", "private", "using", "variable":
				l.next()
				for isNameRune(l.peek()) {
					l.next()
				}
				name = l.input[l.start+1 : l.pos]
			}
		}
		return l.emit(TokVariable, name)
	}
	if l.mode == ModeArgument && isArgEnd(r) {
		return l.emit(TokWord, "$")
	}
	return l.errorf(false, "Variable reference is not valid. '$' was not followed by a valid variable name character. Consider using ${} to delimit the name.")
}

// lexSingleQuoted lexes a verbatim string; a doubled quote stands for one.
func lexSingleQuoted(l *lexer) stateFn {
	var b strings.Builder
	for {
		r := l.next()
		switch {
		case r == eof:
			return l.errorf(true, "The string is missing the terminator: '.")
		case isSingleQuote(r):
			if isSingleQuote(l.peek()) {
				// a doubled quote stands for the first of the two
				b.WriteRune(r)
				l.next()
				continue
			}
			return l.emit(TokString, b.String())
		default:
			b.WriteRune(r)
		}
	}
}

// lexDoubleQuoted lexes an expandable string. Its value is the raw text
// between the quotes; the parser splits it into literal text, variables and
// sub-expressions. Finding the end needs the nesting of $( ... ), which may
// itself hold strings.
func lexDoubleQuoted(l *lexer) stateFn {
	contentStart := l.pos
	end, ok := scanDoubleQuoted(l.input, l.pos)
	if !ok {
		l.pos = len(l.input)
		return l.errorf(true, "The string is missing the terminator: \".")
	}
	// end is just past the closing quote
	_, w := utf8.DecodeLastRuneInString(l.input[:end])
	l.pos = end
	l.emit(TokExpandString, l.input[contentStart:end-w])
	l.tok.ValuePos = contentStart
	return nil
}

// scanDoubleQuoted returns the offset just past the closing quote of an
// expandable string whose content starts at pos.
func scanDoubleQuoted(s string, pos int) (int, bool) {
	for pos < len(s) {
		r, w := utf8.DecodeRuneInString(s[pos:])
		pos += w
		switch {
		case r == '`':
			if pos < len(s) {
				_, w := utf8.DecodeRuneInString(s[pos:])
				pos += w
			}
		case isDoubleQuote(r):
			if pos < len(s) {
				if r2, w2 := utf8.DecodeRuneInString(s[pos:]); isDoubleQuote(r2) {
					pos += w2
					continue
				}
			}
			return pos, true
		case r == '$' && pos < len(s) && s[pos] == '(':
			end, ok := scanSubExpression(s, pos+1)
			if !ok {
				return len(s), false
			}
			pos = end
		}
	}
	return len(s), false
}

// scanSubExpression returns the offset just past the ')' that closes a
// $( whose content starts at pos, skipping nested strings and comments.
func scanSubExpression(s string, pos int) (int, bool) {
	start := pos
	depth := 1
	for pos < len(s) {
		r, w := utf8.DecodeRuneInString(s[pos:])
		pos += w
		switch {
		case r == '`':
			if pos < len(s) {
				_, w := utf8.DecodeRuneInString(s[pos:])
				pos += w
			}
		case r == '$' && pos < len(s) && s[pos] == '{':
			// ${any name}: skip it whole, as lexVariable reads it
			pos++
			for {
				if pos >= len(s) {
					return len(s), false
				}
				c := s[pos]
				pos++
				if c == '`' && pos < len(s) {
					_, w := utf8.DecodeRuneInString(s[pos:])
					pos += w
					continue
				}
				if c == '}' {
					break
				}
			}
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth == 0 {
				return pos, true
			}
		case isDoubleQuote(r):
			end, ok := scanDoubleQuoted(s, pos)
			if !ok {
				return len(s), false
			}
			pos = end
		case isSingleQuote(r):
			for pos < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[pos:])
				pos += w2
				if isSingleQuote(r2) {
					if pos < len(s) {
						if r3, w3 := utf8.DecodeRuneInString(s[pos:]); isSingleQuote(r3) {
							pos += w3
							continue
						}
					}
					break
				}
			}
		case r == '#' && commentCanStart(s, pos-w, start):
			for pos < len(s) && s[pos] != '\n' {
				pos++
			}
		}
	}
	return len(s), false
}

// commentCanStart reports whether a '#' at i starts a comment: at the start
// of the sub-expression or after a blank or ( ; | {, where a token may
// begin. Inside a word (a#b) it is text, as the lexer reads it.
func commentCanStart(s string, i, start int) bool {
	if i <= start {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isSpaceRune(r) || r == '\n' || r == '\r' || r == '(' || r == ';' || r == '|' || r == '{'
}

// lexHereString lexes @'...'@ or @"..."@. The opening quote must end its
// line and the closing quote must start one (about_Quoting_Rules).
func lexHereString(l *lexer) stateFn {
	q := l.next()
	expand := isDoubleQuote(q)
	for r := l.peek(); r == ' ' || r == '\t'; r = l.peek() {
		l.next()
	}
	switch l.peek() {
	case '\r':
		l.next()
		if l.peek() == '\n' {
			l.next()
		}
	case '\n':
		l.next()
	case eof:
		return l.errorf(true, "The string is missing the terminator: "+string(q)+"@.")
	default:
		return l.errorf(false, "No characters are allowed after a here-string header but before the end of the line.")
	}
	contentStart := l.pos
	term := "'@"
	if expand {
		term = "\"@"
	}
	for i := contentStart; i <= len(l.input); {
		if i == len(l.input) {
			l.pos = len(l.input)
			return l.errorf(true, "The string is missing the terminator: "+term+".")
		}
		lineEnd := strings.IndexByte(l.input[i:], '\n')
		if lineEnd < 0 {
			lineEnd = len(l.input)
		} else {
			lineEnd += i
		}
		if strings.HasPrefix(l.input[i:], term) || (len(l.input) > i+1 && hereTerminator(l.input[i:], expand)) {
			content := l.input[contentStart:i]
			content = strings.TrimSuffix(content, "\n")
			content = strings.TrimSuffix(content, "\r")
			_, w := utf8.DecodeRuneInString(l.input[i:])
			l.pos = i + w + 1
			if expand {
				l.emit(TokExpandString, content)
				l.tok.ValuePos = contentStart
				return nil
			}
			return l.emit(TokString, content)
		}
		if lineEnd == len(l.input) {
			i = len(l.input)
		} else {
			i = lineEnd + 1
		}
	}
	return nil
}

// hereTerminator reports whether s starts with a typographic quote followed
// by '@', which also closes a here-string.
func hereTerminator(s string, expand bool) bool {
	r, w := utf8.DecodeRuneInString(s)
	if expand && !isDoubleQuote(r) || !expand && !isSingleQuote(r) {
		return false
	}
	return strings.HasPrefix(s[w:], "@")
}
