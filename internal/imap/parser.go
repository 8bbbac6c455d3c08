package imap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// syntaxError is a command the grammar (RFC 9051 §9) does not allow; it is
// answered with BAD and the position in the line.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("Syntax error at position %d: %s", e.pos+1, e.msg)
}

// errClose ends the connection after the response already written.
var errClose = errors.New("close connection")

// parser reads the arguments of one command. It works on one line at a
// time; a literal ends a line, and the command continues on the line after
// the literal's data.
type parser struct {
	c       *conn
	line    []byte // current line, without line break
	lineBuf *[]byte
	pos     int
	// size counts the bytes of this command so far; maxSize bounds it.
	size    int64
	maxSize int64
	// done is set when the command's last line was consumed (end or a
	// discard), so nothing is left to skip.
	done bool
}

func (p *parser) errorf(format string, args ...any) error {
	return &syntaxError{pos: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) atEOL() bool { return p.pos >= len(p.line) }

func (p *parser) peek() byte {
	if p.pos < len(p.line) {
		return p.line[p.pos]
	}
	return 0
}

func (p *parser) consume(c byte) bool {
	if p.pos < len(p.line) && p.line[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(c byte) error {
	if !p.consume(c) {
		if p.atEOL() {
			return p.errorf("expected %q, got end of line", c)
		}
		return p.errorf("expected %q", c)
	}
	return nil
}

func (p *parser) sp() error { return p.expect(' ') }

// end checks that the command ends here.
func (p *parser) end() error {
	if !p.atEOL() {
		return p.errorf("expected end of command")
	}
	p.done = true
	return nil
}

// takeWhile returns the longest run of bytes accepted by ok.
func (p *parser) takeWhile(ok func(byte) bool) string {
	start := p.pos
	for p.pos < len(p.line) && ok(p.line[p.pos]) {
		p.pos++
	}
	return string(p.line[start:p.pos])
}

// atom reads an atom (RFC 9051 §9 atom).
func (p *parser) atom() (string, error) {
	s := p.takeWhile(isAtomChar)
	if s == "" {
		return "", p.errorf("expected atom")
	}
	return s, nil
}

// keyword reads an atom and upper-cases it.
func (p *parser) keyword() (string, error) {
	s, err := p.atom()
	return strings.ToUpper(s), err
}

// number reads a 32-bit number.
func (p *parser) number() (uint32, error) {
	s := p.takeWhile(isDigit)
	if s == "" {
		return 0, p.errorf("expected number")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, p.errorf("number out of range")
	}
	return uint32(n), nil
}

// number64 reads a 63-bit number.
func (p *parser) number64() (int64, error) {
	s := p.takeWhile(isDigit)
	if s == "" {
		return 0, p.errorf("expected number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, p.errorf("number out of range")
	}
	return n, nil
}

// modSeq reads a mod-sequence-valzer (RFC 7162 §7): 0 to 2^63-1.
func (p *parser) modSeq() (uint64, error) {
	n, err := p.number64()
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// quoted reads a quoted string (RFC 9051 §9 quoted); UTF-8 is accepted.
func (p *parser) quoted() (string, error) {
	if !p.consume('"') {
		return "", p.errorf("expected quoted string")
	}
	var b strings.Builder
	for {
		if p.atEOL() {
			return "", p.errorf("unterminated quoted string")
		}
		c := p.line[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.atEOL() || (p.line[p.pos] != '"' && p.line[p.pos] != '\\') {
				return "", p.errorf("bad escape in quoted string")
			}
			b.WriteByte(p.line[p.pos])
			p.pos++
		case 0:
			return "", p.errorf("NUL in quoted string")
		default:
			b.WriteByte(c)
		}
	}
}

// literalInfo is a parsed literal announcement: {n}, {n+}, ~{n}.
type literalInfo struct {
	n      int64
	sync   bool
	binary bool
}

// literalHeader parses a literal announcement, which must end the line.
func (p *parser) literalHeader(allowBinary bool) (literalInfo, error) {
	var li literalInfo
	start := p.pos
	if p.consume('~') {
		if !allowBinary {
			p.pos = start
			return li, p.errorf("literal8 not allowed here")
		}
		li.binary = true
	}
	if err := p.expect('{'); err != nil {
		return li, err
	}
	n, err := p.number64()
	if err != nil {
		return li, err
	}
	li.n = n
	li.sync = !p.consume('+')
	if err := p.expect('}'); err != nil {
		return li, err
	}
	if !p.atEOL() {
		return li, p.errorf("literal announcement must end the line")
	}
	return li, nil
}

// literal reads a literal whose data may be up to max bytes; allowBinary
// permits literal8. A literal over the limit is refused without reading it
// (synchronizing) or read and thrown away (non-synchronizing); the rest of
// the command is then discarded and the returned error is the response.
func (p *parser) literal(max int64, allowBinary bool, tooBig *Error) ([]byte, literalInfo, error) {
	li, err := p.literalHeader(allowBinary)
	if err != nil {
		return nil, li, err
	}
	if room := p.maxSize - p.size; max > room {
		max = room
	}
	if li.n > max {
		return nil, li, p.refuseLiteral(li, tooBig)
	}
	if li.sync {
		if err := p.c.continuation("Ready for literal data"); err != nil {
			return nil, li, err
		}
	}
	data := make([]byte, li.n)
	if err := p.c.rd.readFull(data); err != nil {
		return nil, li, &netError{err}
	}
	p.size += li.n
	return data, li, p.nextLine()
}

// refuseLiteral handles a literal the command will not take. A
// synchronizing literal is simply never asked for; a non-synchronizing one
// is read and discarded together with the rest of the command, or, when it
// is larger than what we are willing to read, the connection is closed.
func (p *parser) refuseLiteral(li literalInfo, resp *Error) error {
	if li.sync {
		p.done = true
		return resp
	}
	if li.n > p.c.srv.discardLimit() {
		p.done = true
		p.c.bye("[TOOBIG] Literal too large")
		return errClose
	}
	if err := p.c.rd.discard(li.n); err != nil {
		return &netError{err}
	}
	if err := p.discardRest(true); err != nil {
		return err
	}
	return resp
}

// nextLine reads the line that continues the command after a literal.
func (p *parser) nextLine() error {
	line, tail, tooLong, err := p.c.rd.readLine((*p.lineBuf)[:0], p.c.srv.opts.MaxLineLength)
	if err != nil {
		return &netError{err}
	}
	p.size += int64(len(line)) + 2
	if tooLong {
		p.line = tail
		p.pos = len(tail)
		if err := p.discardRest(false); err != nil {
			return err
		}
		return &Error{Bad: true, Code: CodeTooBig, Text: "Command line too long"}
	}
	if p.size > p.maxSize {
		p.pos = len(line)
		p.line = line
		if err := p.discardRest(false); err != nil {
			return err
		}
		return &Error{Bad: true, Code: CodeTooBig, Text: "Command too long"}
	}
	p.line = line
	p.pos = 0
	return nil
}

// discardRest skips the rest of the command: when the current line ends
// with a non-synchronizing literal announcement, its data and the lines
// after it are read and thrown away; a synchronizing literal ends the
// command, since we never send the continuation it waits for. With
// fromNextLine the current line is already done and reading starts at the
// next one.
func (p *parser) discardRest(fromNextLine bool) error {
	if p.done {
		return nil
	}
	for {
		if fromNextLine {
			_, tail, _, err := p.c.rd.readLine((*p.lineBuf)[:0], p.c.srv.opts.MaxLineLength)
			if err != nil {
				return &netError{err}
			}
			p.line, p.pos = tail, len(tail)
		}
		fromNextLine = true
		li, ok := trailingLiteral(p.line)
		if !ok || li.sync {
			p.done = true
			return nil
		}
		if li.n > p.c.srv.discardLimit() {
			p.done = true
			p.c.bye("[TOOBIG] Literal too large")
			return errClose
		}
		if err := p.c.rd.discard(li.n); err != nil {
			return &netError{err}
		}
	}
}

// trailingLiteral finds a literal announcement at the end of line.
func trailingLiteral(line []byte) (literalInfo, bool) {
	var li literalInfo
	n := len(line)
	if n < 3 || line[n-1] != '}' {
		return li, false
	}
	i := n - 2
	if line[i] == '+' {
		i--
	} else {
		li.sync = true
	}
	j := i
	for j >= 0 && isDigit(line[j]) {
		j--
	}
	if j == i || j < 0 || line[j] != '{' {
		return li, false
	}
	v, err := strconv.ParseInt(string(line[j+1:i+1]), 10, 64)
	if err != nil {
		// Too many digits: treat as a huge literal, which closes the connection.
		v = 1<<63 - 1
	}
	li.n = v
	return li, true
}

// string reads a string: quoted or literal (RFC 9051 §9 string).
func (p *parser) string() (string, error) {
	switch p.peek() {
	case '"':
		return p.quoted()
	case '{':
		b, _, err := p.literal(p.maxSize, false, &Error{Bad: true, Code: CodeTooBig, Text: "Literal too large"})
		return string(b), err
	}
	return "", p.errorf("expected string")
}

// astring reads an astring: atom (with "]"), quoted or literal.
func (p *parser) astring() (string, error) {
	switch p.peek() {
	case '"', '{':
		return p.string()
	}
	s := p.takeWhile(isAstringChar)
	if s == "" {
		return "", p.errorf("expected astring")
	}
	return s, nil
}

// nstring reads a string or NIL; ok is false for NIL.
func (p *parser) nstring() (s string, ok bool, err error) {
	if p.peek() != '"' && p.peek() != '{' {
		a, err := p.atom()
		if err != nil || !strings.EqualFold(a, "NIL") {
			return "", false, p.errorf("expected string or NIL")
		}
		return "", false, nil
	}
	s, err = p.string()
	return s, true, err
}

// listMailbox reads a list-mailbox: list-chars or a string.
func (p *parser) listMailbox() (string, error) {
	switch p.peek() {
	case '"', '{':
		return p.string()
	}
	s := p.takeWhile(isListChar)
	if s == "" {
		return "", p.errorf("expected mailbox pattern")
	}
	return s, nil
}

// mailbox reads a mailbox name and turns it into the engine's form. A
// well-formed astring that is no usable name (not modified UTF-7 in an
// IMAP4rev1 session, control characters, too long) is a name the server
// cannot have, not a syntax error: NO [CANNOT], never BAD (RFC 9051 §9
// allows any astring as a mailbox; Dovecot answers NO as well).
// onlyMailbox parses " mailbox" and the end of the command: the arguments
// of DELETE, GETQUOTAROOT and the like.
func (p *parser) onlyMailbox() (string, error) {
	if err := p.sp(); err != nil {
		return "", err
	}
	name, err := p.mailbox()
	if err != nil {
		return "", err
	}
	return name, p.end()
}

func (p *parser) mailbox() (string, error) {
	s, err := p.astring()
	if err != nil {
		return "", err
	}
	name, ok := p.c.decodeMailbox(s)
	if !ok {
		return "", no(CodeCannot, "Invalid mailbox name %q", truncate(s, 60))
	}
	return name, nil
}

// flag reads one flag: "\Seen" and the like, or a keyword atom.
func (p *parser) flag() (string, error) {
	start := p.pos
	if p.consume('\\') {
		if p.consume('*') {
			return `\*`, nil
		}
		a, err := p.atom()
		if err != nil {
			return "", err
		}
		return `\` + a, nil
	}
	a := p.takeWhile(func(c byte) bool { return isAtomChar(c) && c != ']' })
	if a == "" {
		p.pos = start
		return "", p.errorf("expected flag")
	}
	return a, nil
}

// flagList reads "(" [flag *(SP flag)] ")".
func (p *parser) flagList() ([]string, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var flags []string
	for !p.consume(')') {
		if len(flags) > 0 {
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		f, err := p.flag()
		if err != nil {
			return nil, err
		}
		flags = append(flags, f)
	}
	return flags, nil
}

// flagsOrList reads a flag list, or (for STORE) flags separated by spaces
// without parentheses.
func (p *parser) flagsOrList() ([]string, error) {
	if p.peek() == '(' {
		return p.flagList()
	}
	var flags []string
	for {
		f, err := p.flag()
		if err != nil {
			return nil, err
		}
		flags = append(flags, f)
		if !p.consume(' ') {
			return flags, nil
		}
	}
}

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func (p *parser) month() (time.Month, error) {
	if p.pos+3 > len(p.line) {
		return 0, p.errorf("expected month")
	}
	m := strings.ToLower(string(p.line[p.pos : p.pos+3]))
	for i, name := range months {
		if m == name {
			p.pos += 3
			return time.Month(i + 1), nil
		}
	}
	return 0, p.errorf("expected month")
}

// date reads a search date: date-text or "date-text" (RFC 9051 §9 date).
func (p *parser) date() (time.Time, error) {
	quoted := p.consume('"')
	day, err := p.number()
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, p.errorf("expected day")
	}
	if err := p.expect('-'); err != nil {
		return time.Time{}, err
	}
	mon, err := p.month()
	if err != nil {
		return time.Time{}, err
	}
	if err := p.expect('-'); err != nil {
		return time.Time{}, err
	}
	year, err := p.number()
	if err != nil || year < 1000 || year > 9999 {
		return time.Time{}, p.errorf("expected year")
	}
	if quoted {
		if err := p.expect('"'); err != nil {
			return time.Time{}, err
		}
	}
	return time.Date(int(year), mon, int(day), 0, 0, 0, 0, time.UTC), nil
}

// dateTime reads a date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (the day may be
// space-padded).
func (p *parser) dateTime() (time.Time, error) {
	if err := p.expect('"'); err != nil {
		return time.Time{}, err
	}
	p.consume(' ')
	day, err := p.number()
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, p.errorf("expected day")
	}
	if err := p.expect('-'); err != nil {
		return time.Time{}, err
	}
	mon, err := p.month()
	if err != nil {
		return time.Time{}, err
	}
	if err := p.expect('-'); err != nil {
		return time.Time{}, err
	}
	year, err := p.number()
	if err != nil || year < 1000 || year > 9999 {
		return time.Time{}, p.errorf("expected year")
	}
	if err := p.sp(); err != nil {
		return time.Time{}, err
	}
	var hms [3]uint32
	for i := range hms {
		if i > 0 {
			if err := p.expect(':'); err != nil {
				return time.Time{}, err
			}
		}
		if p.pos+2 > len(p.line) || !isDigit(p.line[p.pos]) || !isDigit(p.line[p.pos+1]) {
			return time.Time{}, p.errorf("expected time")
		}
		hms[i] = uint32(p.line[p.pos]-'0')*10 + uint32(p.line[p.pos+1]-'0')
		p.pos += 2
	}
	if hms[0] > 23 || hms[1] > 59 || hms[2] > 60 {
		return time.Time{}, p.errorf("bad time")
	}
	if err := p.sp(); err != nil {
		return time.Time{}, err
	}
	sign := p.peek()
	if sign != '+' && sign != '-' {
		return time.Time{}, p.errorf("expected zone")
	}
	p.pos++
	if p.pos+4 > len(p.line) {
		return time.Time{}, p.errorf("expected zone")
	}
	z := string(p.line[p.pos : p.pos+4])
	zn, err := strconv.Atoi(z)
	if err != nil || zn%100 > 59 {
		return time.Time{}, p.errorf("bad zone")
	}
	p.pos += 4
	if err := p.expect('"'); err != nil {
		return time.Time{}, err
	}
	off := (zn/100*3600 + zn%100*60)
	if sign == '-' {
		off = -off
	}
	return time.Date(int(year), mon, int(day), int(hms[0]), int(hms[1]), int(hms[2]), 0, time.FixedZone("", off)), nil
}
