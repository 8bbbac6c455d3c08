package opath

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds nesting of parentheses and -not, so that a hostile filter
// cannot exhaust the stack.
const maxDepth = 100

// Limits of a filter. Any signed-in admin may send one (View-Only
// Organization Management included), and every comparison becomes SQL that
// the database evaluates for every mailbox: without bounds, 2,000 -or terms
// went past SQLite's expression depth (an HTTP 500) and 35,000 took 14.5 s
// of database time. Exchange's documented filters have a handful of terms;
// these limits leave ample room for them. Errors are of kind ErrLimit.
const (
	// MaxLength is the longest filter, in characters.
	MaxLength = 4096
	// MaxComparisons is the most comparisons (Property -op value) in one
	// filter.
	MaxComparisons = 64
)

// Parse parses an OPATH filter. An empty or blank filter is an error: the
// caller decides whether "no filter" is allowed before calling Parse.
// Errors are *Error.
func Parse(filter string) (Expr, error) {
	p := &parser{lex: lexer{input: filter}, filter: filter}
	if len(filter) > MaxLength {
		if n := utf8.RuneCountInString(filter); n > MaxLength {
			off := 0
			for i := 0; i < MaxLength; i++ {
				_, w := utf8.DecodeRuneInString(filter[off:])
				off += w
			}
			return nil, &Error{Kind: ErrLimit, Filter: filter, Offset: off,
				Detail: fmt.Sprintf("The filter is %d characters long; at most %d are allowed.", n, MaxLength)}
		}
	}
	for i, r := range filter {
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(filter[i:]); w == 1 {
				return nil, p.errAt(i, "The filter is not valid UTF-8 text.")
			}
		}
	}
	p.advance()
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("Expected -and, -or or the end of the filter")
	}
	return e, nil
}

type parser struct {
	lex    lexer
	filter string
	tok    token // current token
	// comparisons counts the comparisons parsed so far (MaxComparisons).
	comparisons int
}

func (p *parser) advance() { p.tok = p.lex.next() }

func (p *parser) errAt(pos int, detail string) *Error {
	return &Error{Kind: ErrSyntax, Filter: p.filter, Offset: pos, Detail: detail}
}

// unexpected reports the current token with what was expected instead.
func (p *parser) unexpected(expected string) *Error {
	switch p.tok.kind {
	case tokEOF:
		return p.errAt(p.tok.pos, expected+", but the filter ended.")
	case tokError:
		return p.errAt(p.tok.pos, p.tok.val)
	}
	return p.errAt(p.tok.pos, fmt.Sprintf("%s, found '%s'.", expected, p.tok.raw))
}

// or = and { "-or" and }
func (p *parser) parseOr(depth int) (Expr, error) {
	left, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokDash && p.tok.val == "or" {
		p.advance()
		right, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right, Offset: left.Pos()}
	}
	return left, nil
}

// and = unary { "-and" unary }
func (p *parser) parseAnd(depth int) (Expr, error) {
	left, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokDash && p.tok.val == "and" {
		p.advance()
		right, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right, Offset: left.Pos()}
	}
	return left, nil
}

// unary = ( "-not" | "!" ) unary | primary
func (p *parser) parseUnary(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errAt(p.tok.pos, fmt.Sprintf("The filter is nested more than %d levels deep.", maxDepth))
	}
	if p.tok.kind == tokBang || p.tok.kind == tokDash && p.tok.val == "not" {
		pos := p.tok.pos
		p.advance()
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Offset: pos}, nil
	}
	return p.parsePrimary(depth)
}

// primary = "(" or ")" | comparison
func (p *parser) parsePrimary(depth int) (Expr, error) {
	if p.tok.kind == tokLParen {
		open := p.tok.pos
		p.advance()
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			if p.tok.kind == tokEOF {
				return nil, p.errAt(open, "Missing closing ')' for this '('.")
			}
			return nil, p.unexpected("Expected ')'")
		}
		p.advance()
		return e, nil
	}
	return p.parseComparison()
}

var propertyRE = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*$`)

// comparison = property operator value
func (p *parser) parseComparison() (Expr, error) {
	if p.tok.kind != tokWord || !propertyRE.MatchString(p.tok.val) {
		return nil, p.unexpected("Expected a property name")
	}
	c := &Comparison{Property: p.tok.val, Offset: p.tok.pos}
	if p.comparisons++; p.comparisons > MaxComparisons {
		return nil, &Error{Kind: ErrLimit, Filter: p.filter, Offset: c.Offset,
			Detail: fmt.Sprintf("The filter has more than %d comparisons; at most %d are allowed. Select by a pattern the names share (Name -like 'Chr*'), or run several commands.", MaxComparisons, MaxComparisons)}
	}
	p.advance()
	if p.tok.kind != tokDash {
		return nil, p.unexpected(fmt.Sprintf("Expected a comparison operator such as -eq or -like after '%s'", c.Property))
	}
	op, ok := lookupOp(p.tok.raw)
	if !ok {
		return nil, p.errAt(p.tok.pos, fmt.Sprintf("'%s' is not a comparison operator; use -eq, -ne, -lt, -gt, -le, -ge, -like or -notlike.", p.tok.raw))
	}
	c.Op = op
	opTok := p.tok
	p.advance()
	valuePos := p.tok.pos
	v, err := p.parseValue(opTok)
	if err != nil {
		return nil, err
	}
	if op == OpLike || op == OpNotLike {
		if err := CheckPattern(v.Str); err != nil {
			return nil, &Error{Kind: ErrLimit, Filter: p.filter, Offset: valuePos, Property: c.Property, Detail: err.Error()}
		}
	}
	c.Value = v
	return c, nil
}

var numberRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// value = 'text' | "text" | $true | $false | $null | number | date | bareword
func (p *parser) parseValue(op token) (Value, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		p.advance()
		return Value{Kind: KindString, Str: t.val}, nil
	case tokVar:
		p.advance()
		switch strings.ToLower(t.val) {
		case "true":
			return Value{Kind: KindBool, Bool: true}, nil
		case "false":
			return Value{Kind: KindBool, Bool: false}, nil
		case "null":
			return Value{Kind: KindNull}, nil
		}
		return Value{}, p.errAt(t.pos, fmt.Sprintf("'%s' is not a value; filters take $true, $false, $null and literals, not variables (in a double-quoted -Filter, PowerShell expands variables first; write `$ for a literal $).", t.raw))
	case tokWord:
		p.advance()
		if numberRE.MatchString(t.val) {
			return Value{Kind: KindNumber, Str: t.val}, nil
		}
		if r, _ := utf8.DecodeRuneInString(t.val); unicode.IsDigit(r) {
			if tm, ok := ParseDate(t.val); ok {
				return Value{Kind: KindDate, Time: tm}, nil
			}
		}
		return Value{Kind: KindString, Str: t.val}, nil
	}
	return Value{}, p.unexpected(fmt.Sprintf("Expected a value after '%s'", op.raw))
}
