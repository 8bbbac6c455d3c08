package syntax

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The printer writes the canonical form of a tree: statements of a script
// on separate lines, statements of a block separated by "; ", parameters
// and arguments separated by single spaces, strings in single quotes
// unless they expand, barewords kept bare when they would lex back as the
// same bareword. Parentheses are explicit nodes (*Paren), so binary
// expressions print without adding any.

func (n *Script) String() string {
	if n.Params != nil {
		if len(n.Statements) == 0 {
			return n.Params.String()
		}
		return n.Params.String() + "\n" + joinStatements(n.Statements, "\n")
	}
	return joinStatements(n.Statements, "\n")
}

func joinStatements(stmts []Statement, sep string) string {
	parts := make([]string, len(stmts))
	for i, s := range stmts {
		parts[i] = s.String()
	}
	return strings.Join(parts, sep)
}

func (n *Pipeline) String() string {
	parts := make([]string, len(n.Elements))
	for i, e := range n.Elements {
		if c, ok := e.(*Command); ok {
			parts[i] = c.print(i == 0)
		} else {
			parts[i] = e.String()
		}
	}
	out := strings.Join(parts, " | ")
	if r := n.Redirect; r != nil {
		op := " > "
		if r.Append {
			op = " >> "
		}
		out += op + argString(r.Target)
	}
	return out
}

func (n *ExprElement) String() string { return n.X.String() }

func (n *Command) String() string { return n.print(true) }

// print prints the command; first is set for the head of a pipeline, whose
// name must also read as a command in expression mode.
func (n *Command) print(first bool) string {
	var b strings.Builder
	if n.NameExpr != nil {
		b.WriteString("& " + n.NameExpr.String())
	} else {
		b.WriteString(commandName(n.Name, first))
	}
	for _, e := range n.Elements {
		b.WriteByte(' ')
		if x, ok := e.(Expr); ok {
			b.WriteString(argString(x))
		} else {
			b.WriteString(e.String())
		}
	}
	return b.String()
}

func (n *Parameter) String() string {
	if n.Colon {
		return "-" + n.Name + ":" + argString(n.Arg)
	}
	return "-" + n.Name
}

// argString prints an expression in argument mode, where barewords may
// stay bare.
func argString(x Expr) string {
	switch n := x.(type) {
	case *StringLit:
		if n.Bare && safeBare(n.Value) {
			return n.Value
		}
	case *ArrayLit:
		parts := make([]string, len(n.Elems))
		for i, e := range n.Elems {
			parts[i] = argString(e)
		}
		return strings.Join(parts, ",")
	}
	return x.String()
}

// safeBare reports whether s lexes back, in argument mode, as the same
// bareword.
func safeBare(s string) bool {
	if s == "" {
		return false
	}
	if _, ok := ParseNumber(s); ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	if isDash(r) || r == '$' || r == '@' || r == '&' || r == '#' || r == '[' || r == '.' || r == '<' || r == '>' || r == '%' || r == '!' || r == '+' || r == '*' || r == '/' || r == '=' || r == ':' || r == ']' || !unicode.IsPrint(r) {
		return false
	}
	for _, r := range s {
		if isArgEnd(r) || r == '`' || r == '"' || r == '\'' || isSingleQuote(r) || isDoubleQuote(r) || r == '$' || r == '<' || r == '>' || r == '#' || r == '&' || r == '@' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (n *Assignment) String() string {
	return n.Target.String() + " " + n.Op + " " + n.Value.String()
}

func (n *If) String() string {
	var b strings.Builder
	for i, c := range n.Clauses {
		if i > 0 {
			b.WriteString(" elseif (")
		} else {
			b.WriteString("if (")
		}
		b.WriteString(c.Cond.String() + ") " + c.Body.String())
	}
	if n.Else != nil {
		b.WriteString(" else " + n.Else.String())
	}
	return b.String()
}

func (n *Foreach) String() string {
	return labelString(n.Label) + "foreach (" + varString(n.Var) + " in " + n.Collection.String() + ") " + n.Body.String()
}

func (n *Block) String() string { return braces(n.Statements) }

func braces(stmts []Statement) string {
	if len(stmts) == 0 {
		return "{}"
	}
	return "{ " + joinStatements(stmts, "; ") + " }"
}

// String prints the string in single quotes, doubling the quotes inside
// (the typographic ones too, which also end a string).
func (n *StringLit) String() string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range n.Value {
		if isSingleQuote(r) {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

func (n *ExpandString) String() string {
	var b strings.Builder
	b.WriteByte('"')
	for i, p := range n.Parts {
		switch x := p.(type) {
		case *StringLit:
			writeExpandableText(&b, x.Value)
		case *Variable:
			next := ""
			if i+1 < len(n.Parts) {
				if s, ok := n.Parts[i+1].(*StringLit); ok {
					next = s.Value
				}
			}
			if simpleVarName(x.Name) && !startsWithNameOrColon(next) {
				b.WriteString("$" + x.Name)
			} else {
				b.WriteString("${" + x.Name + "}")
			}
		default:
			b.WriteString(p.String())
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeExpandableText(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '`':
			b.WriteString("``")
		case '$':
			b.WriteString("`$")
		case '\x00':
			b.WriteString("`0")
		case '\a':
			b.WriteString("`a")
		case '\b':
			b.WriteString("`b")
		case '\x1b':
			b.WriteString("`e")
		case '\f':
			b.WriteString("`f")
		case '\n':
			b.WriteString("`n")
		case '\r':
			b.WriteString("`r")
		case '\t':
			b.WriteString("`t")
		case '\v':
			b.WriteString("`v")
		default:
			if isDoubleQuote(r) {
				b.WriteByte('`')
			}
			b.WriteRune(r)
		}
	}
}

func startsWithNameOrColon(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isNameRune(r) || r == ':' || r == '?' || r == '^' || r == '$'
}

// simpleVarName reports whether $name lexes back as the same variable.
func simpleVarName(name string) bool {
	if name == "?" || name == "^" || name == "$" {
		return true
	}
	if name == "" {
		return false
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		switch strings.ToLower(name[:i]) {
		case "env", "global", "script", "local", "private", "using", "variable":
			rest := name[i+1:]
			if rest == "" {
				return false
			}
			for _, r := range rest {
				if !isNameRune(r) {
					return false
				}
			}
			return true
		}
		return false
	}
	for _, r := range name {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func escapeBraceName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '}' || r == '{' || r == '`' {
			b.WriteByte('`')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func varString(name string) string {
	if simpleVarName(name) {
		return "$" + name
	}
	return "${" + escapeBraceName(name) + "}"
}

func (n *Splat) String() string { return "@" + n.Name }

func (n *NumberLit) String() string { return n.Text }
func (n *Variable) String() string  { return varString(n.Name) }

func memberName(x Expr) string {
	if s, ok := x.(*StringLit); ok {
		if s.Value != "" && isNameStart(s.Value) && strings.IndexFunc(s.Value, func(r rune) bool { return !isNameRune(r) }) < 0 {
			return s.Value
		}
	}
	return x.String()
}

func (n *Member) String() string {
	op := "."
	if n.Static {
		op = "::"
	}
	return postfixOperand(n.X) + op + memberName(n.Name)
}

func (n *Invoke) String() string {
	op := "."
	if n.Static {
		op = "::"
	}
	args := make([]string, len(n.Args))
	for i, a := range n.Args {
		args[i] = a.String()
	}
	return postfixOperand(n.X) + op + memberName(n.Name) + "(" + strings.Join(args, ", ") + ")"
}

func (n *Index) String() string { return postfixOperand(n.X) + "[" + n.Index.String() + "]" }

// postfixOperand prints the operand of a postfix operator. A number would
// swallow the dot (1.5), so it is parenthesized... which would make it a
// different tree; numbers cannot carry postfix operators from the parser,
// so only primaries reach here.
func postfixOperand(x Expr) string { return x.String() }

func (n *Unary) String() string {
	x := n.X.String()
	if strings.HasPrefix(n.Op, "-") && len(n.Op) > 1 {
		return n.Op + " " + x
	}
	if (n.Op == "-" || n.Op == "+") && strings.HasPrefix(x, n.Op) {
		// - -$x, not --$x (a decrement)
		return n.Op + " " + x
	}
	return n.Op + x
}

func (n *IncDec) String() string {
	if n.Prefix {
		return n.Op + n.X.String()
	}
	return n.X.String() + n.Op
}

func (n *Cast) String() string    { return "[" + n.Type + "]" + n.X.String() }
func (n *TypeLit) String() string { return "[" + n.Type + "]" }

func (n *Binary) String() string {
	if n.Op == ".." {
		return n.L.String() + ".." + n.R.String()
	}
	return n.L.String() + " " + n.Op + " " + n.R.String()
}

func (n *ArrayLit) String() string {
	parts := make([]string, len(n.Elems))
	for i, e := range n.Elems {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

func (n *Paren) String() string     { return "(" + n.X.String() + ")" }
func (n *SubExpr) String() string   { return "$(" + joinStatements(n.Statements, "; ") + ")" }
func (n *ArrayExpr) String() string { return "@(" + joinStatements(n.Statements, "; ") + ")" }

func (n *Hashtable) String() string {
	if len(n.Entries) == 0 {
		return "@{}"
	}
	parts := make([]string, len(n.Entries))
	for i, e := range n.Entries {
		k := e.Key.String()
		if s, ok := e.Key.(*StringLit); ok && s.Bare && hashKeyBare(s.Value) {
			k = s.Value
		}
		parts[i] = k + " = " + e.Value.String()
	}
	return "@{" + strings.Join(parts, "; ") + "}"
}

// hashKeyBare reports whether a key lexes back as the same word in
// expression mode.
func hashKeyBare(s string) bool {
	t := lexAt(s, 0, ModeExpression)
	return t.Kind == TokWord && t.End == len(s) && t.Value == s
}

func (n *ScriptBlock) String() string { return braces(n.Statements) }

// commandName prints a command name so that it lexes back as the same
// name, escaping special characters with backticks, or falls back to the
// call operator: & 'name'.
func commandName(name string, first bool) string {
	var b strings.Builder
	for _, r := range name {
		if isArgEnd(r) || r == '`' || r == '\'' || r == '"' || isSingleQuote(r) || isDoubleQuote(r) {
			b.WriteByte('`')
		}
		b.WriteRune(r)
	}
	esc := b.String()
	t := lexAt(esc, 0, ModeArgument)
	ok := t.Kind == TokWord && t.Pos == 0 && t.End == len(esc) && t.Value == name
	if ok && first {
		te := lexAt(esc, 0, ModeExpression)
		ok = te.Kind == TokWord && te.Pos == 0 && !isKeyword(te.Value)
	}
	if ok {
		return esc
	}
	return "& " + (&StringLit{Value: name}).String()
}
