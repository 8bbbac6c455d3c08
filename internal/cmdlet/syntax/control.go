package syntax

import (
	"strings"
)

// The control-flow statements and declarations: try/catch/finally, throw,
// return, break, continue, while, do, for, switch, function and filter, and
// the param() block of a script or function. Their nodes, productions and
// printing are kept together here.

// Try is try { } catch [Type1], [Type2] { } catch { } finally { }.
type Try struct {
	Body    *Block
	Catches []*Catch
	Finally *Block // nil without finally
	Offset  int
}

// Catch is one catch clause; no Types catches every error.
type Catch struct {
	Types []string
	Body  *Block
}

// Throw is throw [value]; X is nil without a value (a rethrow in catch).
type Throw struct {
	X      Statement
	Offset int
}

// Return is return [value].
type Return struct {
	X      Statement
	Offset int
}

// Break is break, or continue when Continue is set; Label names the loop
// (break outer), "" the innermost.
type Break struct {
	Continue bool
	Label    string
	Offset   int
}

// While is while (Cond) { Body }. Loops and switch carry the :label
// written before them ("" without one).
type While struct {
	Label  string
	Cond   Statement
	Body   *Block
	Offset int
}

// DoLoop is do { Body } while (Cond), or do { Body } until (Cond) when
// Until is set.
type DoLoop struct {
	Label  string
	Body   *Block
	Cond   Statement
	Until  bool
	Offset int
}

// For is for (Init; Cond; Iter) { Body }; each of the three may be nil.
type For struct {
	Label            string
	Init, Cond, Iter Statement
	Body             *Block
	Offset           int
}

// Switch is switch [-Regex|-Wildcard|-Exact|-CaseSensitive] (Value) { pattern { } ... default { } }.
type Switch struct {
	Label string
	// Flags are the options as written, lower-cased: "regex",
	// "wildcard", "exact", "casesensitive".
	Flags   []string
	Value   Statement
	Clauses []SwitchClause
	Default *Block // nil without default
	Offset  int
}

// SwitchClause is one pattern and its block. A *ScriptBlock pattern is a
// condition evaluated with $_ set to the value.
type SwitchClause struct {
	Pattern Expr
	Body    *Block
}

// Function is function Name { } (or filter Name { }, whose body runs once
// per pipeline object). Params come from Name($a, $b) (Inline) or from a
// param() block at the top of the body. Without named blocks the body is
// End (Process for a filter).
type Function struct {
	Name   string
	Filter bool
	Params *ParamBlock // nil without parameters
	Inline bool
	Named  bool // the body has begin/process/end blocks
	Begin  *Block
	// Process and End are nil when absent.
	Process *Block
	End     *Block
	Offset  int
}

// ParamBlock is [CmdletBinding()] param( ... ), the parameters of a script
// or function.
type ParamBlock struct {
	Attributes []*Attribute
	Params     []*ParamDecl
	Offset     int
}

// ParamDecl is one parameter: [Parameter(Mandatory)][string]$Name = 'x'.
type ParamDecl struct {
	Attributes []*Attribute
	Type       string // "" when untyped
	Name       string
	Default    Expr // nil without a default
	Offset     int
}

// Attribute is [Name(args)] before a parameter or param block.
type Attribute struct {
	Name   string
	Args   []AttrArg
	Offset int
}

// AttrArg is an argument of an attribute: Name = Value, Name alone (Value
// nil, which means $true), or a positional Value (Name "").
type AttrArg struct {
	Name  string
	Value Expr
}

func (n *Try) Pos() int        { return n.Offset }
func (n *Throw) Pos() int      { return n.Offset }
func (n *Return) Pos() int     { return n.Offset }
func (n *Break) Pos() int      { return n.Offset }
func (n *While) Pos() int      { return n.Offset }
func (n *DoLoop) Pos() int     { return n.Offset }
func (n *For) Pos() int        { return n.Offset }
func (n *Switch) Pos() int     { return n.Offset }
func (n *Function) Pos() int   { return n.Offset }
func (n *ParamBlock) Pos() int { return n.Offset }
func (n *ParamDecl) Pos() int  { return n.Offset }
func (n *Attribute) Pos() int  { return n.Offset }

func (*Try) statement()      {}
func (*Throw) statement()    {}
func (*Return) statement()   {}
func (*Break) statement()    {}
func (*While) statement()    {}
func (*DoLoop) statement()   {}
func (*For) statement()      {}
func (*Switch) statement()   {}
func (*Function) statement() {}

// parseKeywordStatement parses a statement that starts with a control-flow
// keyword; ok is false for other words.
func (p *parser) parseKeywordStatement(w string) (Statement, bool) {
	switch w {
	case "try":
		return p.parseTry(), true
	case "throw", "return":
		return p.parseThrowReturn(w), true
	case "break", "continue":
		n := &Break{Continue: w == "continue", Offset: p.tok.Pos}
		p.advance(ModeExpression)
		if p.tok.Kind == TokWord && !isKeyword(p.tok.Value) {
			n.Label = p.tok.Value
			p.advance(ModeExpression)
		}
		return n, true
	case "while":
		n := &While{Offset: p.tok.Pos}
		p.advance(ModeExpression)
		n.Cond = p.parseCondition("while")
		n.Body = p.parseBlock("Missing statement body in while loop.")
		return n, true
	case "do":
		return p.parseDo(), true
	case "for":
		return p.parseFor(), true
	case "switch":
		return p.parseSwitch(), true
	case "function", "filter":
		return p.parseFunction(), true
	}
	return nil, false
}

// labeled = ":" name ( foreach | for | while | do | switch )
//
// parseLabeled parses a loop with a label; the current token is the
// error the expression lexer gives for ':'.
func (p *parser) parseLabeled() Statement {
	start := p.tok.Pos
	i := start + 1
	for i < len(p.src) && (isAttrNameByte(p.src[i]) && p.src[i] != '.' || p.src[i] == '-') {
		i++
	}
	label := p.src[start+1 : i]
	if label == "" {
		p.unexpected()
	}
	p.lex(i, ModeExpression)
	var st Statement
	if p.tok.Kind == TokWord && p.tok.SpaceBefore() {
		switch strings.ToLower(p.tok.Value) {
		case "foreach":
			f := p.parseForeach().(*Foreach)
			f.Label, st = label, f
		case "for", "while", "do", "switch":
			st, _ = p.parseKeywordStatement(strings.ToLower(p.tok.Value))
			switch n := st.(type) {
			case *For:
				n.Label = label
			case *While:
				n.Label = label
			case *DoLoop:
				n.Label = label
			case *Switch:
				n.Label = label
			}
		}
	}
	if st == nil {
		p.fail(start, p.tok.Kind == TokEOF, "A loop label can only come before foreach, for, while, do or switch.")
	}
	return st
}

// try     = "try" block { catch } [ "finally" block ]
// catch   = "catch" [ "[" type "]" { "," "[" type "]" } ] block
func (p *parser) parseTry() Statement {
	n := &Try{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	n.Body = p.parseBlock("Missing statement block after 'try'.")
	for {
		saved := p.tok
		p.skipNewlines(ModeExpression)
		switch {
		case p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "catch") && n.Finally == nil:
			c := &Catch{}
			p.advance(ModeExpression)
			for p.tok.Kind == TokLBracket {
				typ, end := p.scanType(p.tok)
				c.Types = append(c.Types, typ)
				p.lex(end, ModeExpression)
				if p.tok.Kind != TokComma {
					break
				}
				p.advance(ModeExpression)
				p.skipNewlines(ModeExpression)
				if p.tok.Kind != TokLBracket {
					p.failHere("Missing type literal after ',' in catch.")
				}
			}
			c.Body = p.parseBlock("Missing statement block in catch block.")
			n.Catches = append(n.Catches, c)
			continue
		case p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "finally") && n.Finally == nil:
			p.advance(ModeExpression)
			n.Finally = p.parseBlock("Missing statement block after 'finally'.")
			continue
		}
		p.tok = saved
		if len(n.Catches) == 0 && n.Finally == nil {
			p.fail(saved.Pos, saved.Kind == TokEOF || saved.Kind == TokNewline && p.atEOFAfterNewlines(), "The Try statement is missing its Catch or Finally block.")
		}
		return n
	}
}

// atEOFAfterNewlines reports whether only newlines remain, so that an
// interactive shell asks for the catch on the next line.
func (p *parser) atEOFAfterNewlines() bool {
	return strings.TrimSpace(p.src[p.tok.Pos:]) == ""
}

// throw  = "throw" [ statement ]
// return = "return" [ statement ]
func (p *parser) parseThrowReturn(w string) Statement {
	pos := p.tok.Pos
	p.advance(ModeExpression)
	var x Statement
	switch p.tok.Kind {
	case TokNewline, TokSemi, TokRBrace, TokRParen, TokEOF:
	default:
		x = p.parseStatement()
	}
	if w == "throw" {
		return &Throw{X: x, Offset: pos}
	}
	return &Return{X: x, Offset: pos}
}

// do = "do" block { newline } ( "while" | "until" ) condition
func (p *parser) parseDo() Statement {
	n := &DoLoop{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	n.Body = p.parseBlock("Missing statement block in do loop.")
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokWord || !strings.EqualFold(p.tok.Value, "while") && !strings.EqualFold(p.tok.Value, "until") {
		p.failHere("Missing while or until keyword in do loop.")
	}
	keyword := strings.ToLower(p.tok.Value)
	n.Until = keyword == "until"
	p.advance(ModeExpression)
	n.Cond = p.parseCondition(keyword)
	return n
}

// for = "for" "(" [ statement ] ";" [ statement ] ";" [ statement ] ")" block
func (p *parser) parseFor() Statement {
	n := &For{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	if p.tok.Kind != TokLParen {
		p.failHere("Missing opening '(' after keyword 'for'.")
	}
	p.advance(ModeExpression)
	part := func(end TokenKind, msg string) Statement {
		p.skipNewlines(ModeExpression)
		var st Statement
		if p.tok.Kind != end {
			st = p.parseStatement()
			p.skipNewlines(ModeExpression)
		}
		if p.tok.Kind != end {
			if p.tok.Kind == TokError {
				p.unexpected()
			}
			p.failHere(msg)
		}
		p.advance(ModeExpression)
		return st
	}
	n.Init = part(TokSemi, "Missing ';' in for loop.")
	n.Cond = part(TokSemi, "Missing ';' in for loop.")
	n.Iter = part(TokRParen, "Missing closing ')' after expression in 'for' statement.")
	n.Body = p.parseBlock("Missing statement body in for loop.")
	return n
}

// switch = "switch" { "-" option } condition "{" { sep } { clause { sep } } "}"
// clause = ( "default" | argprimary ) block
func (p *parser) parseSwitch() Statement {
	n := &Switch{Offset: p.tok.Pos}
	p.advance(ModeArgument)
	for p.tok.Kind == TokParameter {
		opt := strings.ToLower(p.tok.Value)
		switch opt {
		case "regex", "wildcard", "exact", "casesensitive":
		default:
			p.fail(p.tok.Pos, false, "Invalid switch statement option '-"+p.tok.Value+"'. Use -Regex, -Wildcard, -Exact or -CaseSensitive.")
		}
		n.Flags = append(n.Flags, opt)
		p.advance(ModeArgument)
	}
	if p.tok.Kind != TokLParen {
		p.failHere("Missing condition in switch statement clause.")
	}
	n.Value = p.parseCondition("switch")
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokLBrace {
		p.failHere("Missing '{' in switch statement.")
	}
	p.enter()
	defer p.leave()
	p.advance(ModeArgument)
	for {
		for p.tok.Kind == TokNewline || p.tok.Kind == TokSemi {
			p.advance(ModeArgument)
		}
		if p.tok.Kind == TokRBrace {
			p.advance(ModeExpression)
			return n
		}
		if p.tok.Kind == TokEOF {
			p.fail(p.tok.Pos, true, "Missing closing '}' in statement block or type definition.")
		}
		if p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "default") {
			if n.Default != nil {
				p.failHere("The switch statement has more than one default clause.")
			}
			p.advance(ModeExpression)
			n.Default = p.parseBlock("Missing statement block in switch statement clause.")
		} else {
			pat := p.parseArgPrimary()
			n.Clauses = append(n.Clauses, SwitchClause{Pattern: pat, Body: p.parseBlock("Missing statement block in switch statement clause.")})
		}
		p.relex(ModeArgument)
	}
}

// function = ( "function" | "filter" ) name [ paramlist ] "{" [ paramblock ] body "}"
// body     = statements | { sep } { ( "begin" | "process" | "end" ) block { sep } }
func (p *parser) parseFunction() Statement {
	n := &Function{Offset: p.tok.Pos, Filter: strings.EqualFold(p.tok.Value, "filter")}
	keyword := strings.ToLower(p.tok.Value)
	p.advance(ModeArgument)
	if p.tok.Kind != TokWord {
		p.failHere("Missing name after " + keyword + " keyword.")
	}
	n.Name = p.tok.Value
	p.advance(ModeExpression)
	if p.tok.Kind == TokLParen {
		pos := p.tok.Pos
		n.Params = &ParamBlock{Params: p.parseParamList(), Offset: pos}
		n.Inline = true
	}
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokLBrace {
		if p.tok.Kind == TokError {
			p.unexpected()
		}
		p.failHere("Missing function body in function declaration.")
	}
	p.enter()
	defer p.leave()
	bodyPos := p.tok.Pos
	p.advance(ModeExpression)
	p.skipSeparators()
	if pb := p.tryParamBlock(); pb != nil {
		if n.Inline {
			p.fail(pb.Offset, false, "A param statement cannot be used if arguments were specified in the function declaration.")
		}
		n.Params = pb
		p.skipSeparators()
	}
	if p.tok.Kind == TokWord && isNamedBlock(p.tok.Value) && p.nextIs(p.tok.End, '{') {
		n.Named = true
		for {
			p.skipSeparators()
			if p.tok.Kind == TokRBrace {
				break
			}
			if p.tok.Kind != TokWord || !isNamedBlock(p.tok.Value) {
				if p.tok.Kind == TokEOF {
					p.fail(p.tok.Pos, true, "Missing closing '}' in statement block or type definition.")
				}
				p.unexpected()
			}
			name := strings.ToLower(p.tok.Value)
			p.advance(ModeExpression)
			b := p.parseBlock("Missing statement block after '" + name + "'.")
			switch name {
			case "begin":
				n.Begin = b
			case "process":
				n.Process = b
			default:
				n.End = b
			}
		}
	} else {
		n.End = &Block{Statements: p.parseStatements(), Offset: bodyPos}
	}
	if p.tok.Kind != TokRBrace {
		if p.tok.Kind == TokEOF {
			p.fail(p.tok.Pos, true, "Missing closing '}' in statement block or type definition.")
		}
		p.unexpected()
	}
	p.advance(ModeExpression)
	return n
}

func isNamedBlock(w string) bool {
	switch strings.ToLower(w) {
	case "begin", "process", "end":
		return true
	}
	return false
}

func (p *parser) skipSeparators() {
	for p.tok.Kind == TokNewline || p.tok.Kind == TokSemi {
		p.advance(ModeExpression)
	}
}

// nextIs reports whether the first character at or after pos that is not
// blank or a line break is c.
func (p *parser) nextIs(pos int, c byte) bool {
	rest := strings.TrimLeft(p.src[pos:], " \t\r\n")
	return rest != "" && rest[0] == c
}

// paramblock = { attribute { newline } } "param" paramlist
//
// tryParamBlock parses a param block if one starts here, else returns nil
// and consumes nothing.
func (p *parser) tryParamBlock() *ParamBlock {
	start := p.tok.Pos
	var attrs []*Attribute
	for p.tok.Kind == TokLBracket && p.isAttributeAt(p.tok.Pos) {
		attrs = append(attrs, p.parseAttribute())
		p.skipNewlines(ModeExpression)
	}
	if p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "param") && p.nextIs(p.tok.End, '(') {
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		return &ParamBlock{Attributes: attrs, Params: p.parseParamList(), Offset: start}
	}
	if len(attrs) > 0 {
		p.fail(attrs[0].Offset, false, "Unexpected attribute '"+attrs[0].Name+"'.")
	}
	return nil
}

// isAttributeAt reports whether the '[' at pos opens an attribute
// ([Parameter(...)]) rather than a type ([string]).
func (p *parser) isAttributeAt(pos int) bool {
	i := pos + 1
	for i < len(p.src) && (isAttrNameByte(p.src[i])) {
		i++
	}
	if i == pos+1 {
		return false
	}
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	return i < len(p.src) && p.src[i] == '('
}

func isAttrNameByte(c byte) bool {
	return c == '.' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// attribute = "[" name "(" [ attrarg { "," attrarg } ] ")" "]"
// attrarg   = name [ "=" expression ] | expression
func (p *parser) parseAttribute() *Attribute {
	open := p.tok
	i := open.End
	for i < len(p.src) && isAttrNameByte(p.src[i]) {
		i++
	}
	a := &Attribute{Name: p.src[open.End:i], Offset: open.Pos}
	for p.src[i] != '(' {
		i++
	}
	p.lex(i+1, ModeExpression)
	p.skipNewlines(ModeExpression)
	for p.tok.Kind != TokRParen {
		if p.tok.Kind == TokWord {
			arg := AttrArg{Name: p.tok.Value}
			p.advance(ModeExpression)
			if p.tok.Kind == TokAssign && p.tok.Value == "=" {
				p.advance(ModeExpression)
				p.skipNewlines(ModeExpression)
				if !p.startsOperand() {
					p.failHere("Missing expression after '=' in attribute argument.")
				}
				arg.Value = p.parseExpression(true)
			}
			a.Args = append(a.Args, arg)
		} else {
			if !p.startsOperand() {
				if p.tok.Kind == TokEOF {
					p.fail(p.tok.Pos, true, "Missing ')' in attribute argument list.")
				}
				p.unexpected()
			}
			a.Args = append(a.Args, AttrArg{Value: p.parseExpression(true)})
		}
		p.skipNewlines(ModeExpression)
		switch p.tok.Kind {
		case TokComma:
			p.advance(ModeExpression)
			p.skipNewlines(ModeExpression)
		case TokRParen:
		case TokEOF:
			p.fail(p.tok.Pos, true, "Missing ')' in attribute argument list.")
		default:
			p.unexpected()
		}
	}
	p.lex(p.tok.End, ModeExpression)
	if p.tok.Kind != TokRBracket {
		p.failHere("Missing ']' after attribute.")
	}
	p.advance(ModeExpression)
	return a
}

// paramlist = "(" { newline } [ paramdecl { "," { newline } paramdecl } ] { newline } ")"
// paramdecl = { ( attribute | "[" type "]" ) { newline } } variable [ "=" { newline } expression ]
func (p *parser) parseParamList() []*ParamDecl {
	var out []*ParamDecl
	p.advance(ModeExpression)
	p.skipNewlines(ModeExpression)
	if p.tok.Kind == TokRParen {
		p.advance(ModeExpression)
		return out
	}
	for {
		d := &ParamDecl{Offset: p.tok.Pos}
		for p.tok.Kind == TokLBracket {
			if p.isAttributeAt(p.tok.Pos) {
				d.Attributes = append(d.Attributes, p.parseAttribute())
			} else {
				typ, end := p.scanType(p.tok)
				d.Type = typ
				p.lex(end, ModeExpression)
			}
			p.skipNewlines(ModeExpression)
		}
		if p.tok.Kind != TokVariable {
			if p.tok.Kind == TokEOF {
				p.fail(p.tok.Pos, true, "Missing ')' in function parameter list.")
			}
			if p.tok.Kind == TokError {
				p.unexpected()
			}
			p.failHere("Missing variable name in parameter list.")
		}
		d.Name = p.tok.Value
		p.advance(ModeExpression)
		if p.tok.Kind == TokAssign && p.tok.Value == "=" {
			p.advance(ModeExpression)
			p.skipNewlines(ModeExpression)
			if !p.startsOperand() {
				p.fail(p.tok.Pos, p.tok.Kind == TokEOF, "Missing expression after '=' in parameter list.")
			}
			d.Default = p.parseExpression(true)
		}
		out = append(out, d)
		p.skipNewlines(ModeExpression)
		switch p.tok.Kind {
		case TokComma:
			p.advance(ModeExpression)
			p.skipNewlines(ModeExpression)
			continue
		case TokRParen:
			p.advance(ModeExpression)
			return out
		case TokEOF:
			p.fail(p.tok.Pos, true, "Missing ')' in function parameter list.")
		}
		p.unexpected()
	}
}

// Printing.

func (n *Try) String() string {
	var b strings.Builder
	b.WriteString("try " + n.Body.String())
	for _, c := range n.Catches {
		b.WriteString(" catch ")
		for i, t := range c.Types {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("[" + t + "]")
		}
		if len(c.Types) > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Body.String())
	}
	if n.Finally != nil {
		b.WriteString(" finally " + n.Finally.String())
	}
	return b.String()
}

func (n *Throw) String() string {
	if n.X == nil {
		return "throw"
	}
	return "throw " + n.X.String()
}

func (n *Return) String() string {
	if n.X == nil {
		return "return"
	}
	return "return " + n.X.String()
}

func (n *Break) String() string {
	kw := "break"
	if n.Continue {
		kw = "continue"
	}
	if n.Label != "" {
		return kw + " " + n.Label
	}
	return kw
}

// labelString prints a loop's label before it.
func labelString(label string) string {
	if label == "" {
		return ""
	}
	return ":" + label + " "
}

func (n *While) String() string {
	return labelString(n.Label) + "while (" + n.Cond.String() + ") " + n.Body.String()
}

func (n *DoLoop) String() string {
	kw := " while ("
	if n.Until {
		kw = " until ("
	}
	return labelString(n.Label) + "do " + n.Body.String() + kw + n.Cond.String() + ")"
}

func (n *For) String() string {
	part := func(s Statement) string {
		if s == nil {
			return ""
		}
		return s.String()
	}
	return labelString(n.Label) + "for (" + part(n.Init) + "; " + part(n.Cond) + "; " + part(n.Iter) + ") " + n.Body.String()
}

func (n *Switch) String() string {
	var b strings.Builder
	b.WriteString(labelString(n.Label) + "switch ")
	for _, f := range n.Flags {
		b.WriteString("-" + f + " ")
	}
	b.WriteString("(" + n.Value.String() + ") {")
	for _, c := range n.Clauses {
		b.WriteString(" " + argString(c.Pattern) + " " + c.Body.String())
	}
	if n.Default != nil {
		b.WriteString(" default " + n.Default.String())
	}
	b.WriteString(" }")
	return b.String()
}

func (n *Function) String() string {
	var b strings.Builder
	if n.Filter {
		b.WriteString("filter ")
	} else {
		b.WriteString("function ")
	}
	b.WriteString(n.Name)
	if n.Inline {
		b.WriteString("(" + paramList(n.Params.Params) + ")")
	}
	b.WriteString(" {")
	if n.Params != nil && !n.Inline {
		b.WriteString(" " + n.Params.String())
		if !n.Named && n.End != nil && len(n.End.Statements) > 0 {
			b.WriteByte(';')
		}
	}
	if n.Named {
		for _, nb := range []struct {
			name string
			b    *Block
		}{{"begin", n.Begin}, {"process", n.Process}, {"end", n.End}} {
			if nb.b != nil {
				b.WriteString(" " + nb.name + " " + nb.b.String())
			}
		}
	} else if n.End != nil && len(n.End.Statements) > 0 {
		b.WriteString(" " + joinStatements(n.End.Statements, "; "))
	}
	b.WriteString(" }")
	return b.String()
}

func (n *ParamBlock) String() string {
	var b strings.Builder
	for _, a := range n.Attributes {
		b.WriteString(a.String())
	}
	b.WriteString("param(" + paramList(n.Params) + ")")
	return b.String()
}

func paramList(ds []*ParamDecl) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ", ")
}

func (n *ParamDecl) String() string {
	var b strings.Builder
	for _, a := range n.Attributes {
		b.WriteString(a.String())
	}
	if n.Type != "" {
		b.WriteString("[" + n.Type + "]")
	}
	b.WriteString(varString(n.Name))
	if n.Default != nil {
		b.WriteString(" = " + n.Default.String())
	}
	return b.String()
}

func (n *Attribute) String() string {
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		switch {
		case a.Name == "":
			parts[i] = a.Value.String()
		case a.Value == nil:
			parts[i] = a.Name
		default:
			parts[i] = a.Name + " = " + a.Value.String()
		}
	}
	return "[" + n.Name + "(" + strings.Join(parts, ", ") + ")]"
}
