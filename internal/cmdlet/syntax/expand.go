package syntax

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseExpandable splits the raw text of a double-quoted string into
// literal text, variables ($name, ${name}) and sub-expressions ($( ... ))
// (about_Quoting_Rules). Backtick escapes and doubled quotes are decoded.
// A string with nothing to expand is a *StringLit.
func (p *parser) parseExpandable(t Token) Expr {
	raw, base := t.Value, t.ValuePos
	here := strings.HasPrefix(p.src[t.Pos:], "@")
	var parts []Expr
	var lit strings.Builder
	litStart := base
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, &StringLit{Value: lit.String(), Offset: litStart})
			lit.Reset()
		}
	}
	for i := 0; i < len(raw); {
		r, w := utf8.DecodeRuneInString(raw[i:])
		switch {
		case r == '`' && i+w < len(raw):
			e, ew := utf8.DecodeRuneInString(raw[i+w:])
			i += w + ew
			if e == 'u' && strings.HasPrefix(raw[i:], "{") {
				if end := strings.IndexByte(raw[i:], '}'); end > 1 {
					if n, err := strconv.ParseUint(raw[i+1:i+end], 16, 32); err == nil && utf8.ValidRune(rune(n)) {
						lit.WriteRune(rune(n))
						i += end + 1
						continue
					}
				}
			}
			lit.WriteString(backtickEscape(e))
		case isDoubleQuote(r) && !here:
			// a doubled quote inside the string stands for one
			lit.WriteRune(r)
			i += w
			if i < len(raw) {
				if r2, w2 := utf8.DecodeRuneInString(raw[i:]); isDoubleQuote(r2) {
					i += w2
				}
			}
		case r == '$' && i+1 < len(raw) && raw[i+1] == '(':
			flush()
			end, ok := scanSubExpression(raw, i+2)
			if !ok {
				p.fail(base+i, true, "Missing closing ')' in subexpression.")
			}
			sub := &parser{src: p.src, depth: p.depth + 1}
			if sub.depth > maxDepth {
				p.fail(base+i, false, "The script is nested too deeply.")
			}
			sub.lex(base+i+2, ModeExpression)
			stmts := sub.parseStatements()
			if sub.tok.Kind != TokRParen || sub.tok.End != base+end {
				sub.unexpected()
			}
			parts = append(parts, &SubExpr{Statements: stmts, Offset: base + i})
			i = end
			litStart = base + i
		case r == '$' && i+1 < len(raw) && raw[i+1] == '{':
			end := strings.IndexByte(raw[i+2:], '}')
			if end <= 0 || !braceNameInString(raw[i+2:i+2+end]) {
				lit.WriteByte('$')
				i++
				continue
			}
			flush()
			parts = append(parts, &Variable{Name: raw[i+2 : i+2+end], Offset: base + i})
			i += 2 + end + 1
			litStart = base + i
		case r == '$' && i+1 < len(raw) && (isNameStart(raw[i+1:]) || raw[i+1] == '?' || raw[i+1] == '^'):
			flush()
			t := lexAt(p.src, base+i, ModeExpression)
			if t.Kind != TokVariable {
				p.fail(base+i, false, t.Value)
			}
			parts = append(parts, &Variable{Name: t.Value, Offset: base + i})
			i = t.End - base
			litStart = base + i
		default:
			lit.WriteRune(r)
			i += w
		}
	}
	flush()
	switch len(parts) {
	case 0:
		return &StringLit{Value: "", Offset: t.Pos}
	case 1:
		if s, ok := parts[0].(*StringLit); ok {
			s.Offset = t.Pos
			return s
		}
	}
	return &ExpandString{Parts: parts, Offset: t.Pos}
}

func isNameStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isNameRune(r)
}

// backtickEscape decodes `c (about_Special_Characters).
func backtickEscape(c rune) string {
	switch c {
	case '0':
		return "\x00"
	case 'a':
		return "\a"
	case 'b':
		return "\b"
	case 'e':
		return "\x1b"
	case 'f':
		return "\f"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'v':
		return "\v"
	}
	return string(c)
}

// braceNameInString reports whether ${name} inside a double-quoted string
// is taken as a variable: a name without quotes, braces, backticks, '$' or
// parentheses, which would make the end of the string ambiguous. Otherwise
// the '$' is literal text.
func braceNameInString(name string) bool {
	for _, r := range name {
		if strings.ContainsRune("{}`$()", r) || isDoubleQuote(r) {
			return false
		}
	}
	return true
}
