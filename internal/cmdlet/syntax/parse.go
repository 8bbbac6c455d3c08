package syntax

import (
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of blocks, parentheses and unary operators so
// that hostile input cannot exhaust the stack of the parser, the printer or
// an evaluator.
const maxDepth = 200

// Parse parses a script. Errors are *Error.
func Parse(src string) (script *Script, err error) {
	p := &parser{src: src}
	defer p.recover(&err)
	p.checkUTF8()
	p.lex(0, ModeExpression)
	script = &Script{Offset: 0}
	p.skipSeparators()
	script.Params = p.tryParamBlock()
	script.Statements = p.parseStatements()
	if p.tok.Kind != TokEOF {
		p.unexpected()
	}
	return script, nil
}

// ParseExpression parses src as a single expression, such as the text of a
// calculated property or a Where-Object condition.
func ParseExpression(src string) (x Expr, err error) {
	p := &parser{src: src}
	defer p.recover(&err)
	p.checkUTF8()
	p.lex(0, ModeExpression)
	p.skipNewlines(ModeExpression)
	x = p.parseExpression(false)
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokEOF {
		p.unexpected()
	}
	return x, nil
}

// checkUTF8 refuses text that is not UTF-8, which could not be printed
// back faithfully.
func (p *parser) checkUTF8() {
	if utf8.ValidString(p.src) {
		return
	}
	for i := 0; i < len(p.src); {
		r, w := utf8.DecodeRuneInString(p.src[i:])
		if r == utf8.RuneError && w == 1 {
			p.fail(i, false, "The script is not valid UTF-8 text.")
		}
		i += w
	}
}

type parser struct {
	src   string
	tok   Token
	depth int
}

// bail carries an *Error up the parser's stack to Parse.
type bail struct{ err *Error }

func (p *parser) recover(err *error) {
	if r := recover(); r != nil {
		b, ok := r.(bail)
		if !ok {
			panic(r)
		}
		*err = b.err
	}
}

func (p *parser) fail(offset int, incomplete bool, msg string) {
	panic(bail{newError(p.src, offset, incomplete, msg)})
}

// failHere fails at the current token; incomplete when it is the end of
// input.
func (p *parser) failHere(msg string) {
	p.fail(p.tok.Pos, p.tok.Kind == TokEOF, msg)
}

// unexpected fails on the current token.
func (p *parser) unexpected() {
	switch p.tok.Kind {
	case TokError:
		p.fail(p.tok.Pos, p.tok.Incomplete, p.tok.Value)
	case TokEOF:
		p.fail(p.tok.Pos, true, "Unexpected end of input.")
	case TokNewline:
		p.fail(p.tok.Pos, false, "Unexpected end of line.")
	}
	p.fail(p.tok.Pos, false, "Unexpected token '"+p.text(p.tok)+"' in expression or statement.")
}

func (p *parser) text(t Token) string { return p.src[t.Pos:t.End] }

func (p *parser) lex(pos int, mode Mode) { p.tok = lexAt(p.src, pos, mode) }
func (p *parser) advance(mode Mode)      { p.lex(p.tok.End, mode) }
func (p *parser) relex(mode Mode)        { p.lex(p.tok.From, mode) }

func (p *parser) skipNewlines(mode Mode) {
	for p.tok.Kind == TokNewline {
		p.advance(mode)
	}
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.tok.Pos, false, "The script is nested too deeply.")
	}
}

func (p *parser) leave() { p.depth-- }

// isEnd reports whether the current token ends a statement list.
func (p *parser) isEnd() bool {
	switch p.tok.Kind {
	case TokEOF, TokRParen, TokRBrace:
		return true
	}
	return false
}

// statements = { sep } [ statement { sep { sep } statement } { sep } ]
// sep        = newline | ";"
//
// parseStatements stops at the end of input, ')' or '}' and leaves it for
// the caller.
func (p *parser) parseStatements() []Statement {
	var out []Statement
	for {
		for p.tok.Kind == TokNewline || p.tok.Kind == TokSemi {
			p.advance(ModeExpression)
		}
		if p.isEnd() {
			return out
		}
		out = append(out, p.parseStatement())
		switch {
		case p.tok.Kind == TokNewline || p.tok.Kind == TokSemi:
			p.advance(ModeExpression)
		case p.isEnd():
			return out
		default:
			p.unexpected()
		}
	}
}

// statement  = if | foreach | try | throw | return | break | continue | while | do | for | switch | function | assignment | pipeline
//
// assignment = expression ( "=" | "+=" | "-=" | "*=" | "/=" ) { newline } statement
func (p *parser) parseStatement() Statement {
	p.enter()
	defer p.leave()
	if p.tok.Kind == TokWord {
		switch w := strings.ToLower(p.tok.Value); {
		case w == "if":
			return p.parseIf()
		case w == "foreach":
			return p.parseForeach()
		case w == "else" || w == "elseif" || w == "in" || w == "catch" || w == "finally" || w == "until":
			p.unexpected()
		}
		if st, ok := p.parseKeywordStatement(strings.ToLower(p.tok.Value)); ok {
			return st
		}
		switch w := strings.ToLower(p.tok.Value); {
		case isKeyword(w):
			p.fail(p.tok.Pos, false, "The '"+p.tok.Value+"' keyword is not supported by this shell.")
		}
		return p.parsePipeline(p.parseCommand())
	}
	if p.tok.Kind == TokAmp {
		return p.parsePipeline(p.parseCommand())
	}
	if p.tok.Kind == TokError && strings.HasPrefix(p.src[p.tok.Pos:], ":") {
		return p.parseLabeled()
	}
	start := p.tok.Pos
	x := p.parseExpression(false)
	if p.tok.Kind == TokAssign {
		if !assignable(x) {
			p.fail(x.Pos(), false, "The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.")
		}
		op := p.tok.Value
		opTok := p.tok
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		if p.tok.Kind == TokEOF || p.tok.Kind == TokSemi || p.tok.Kind == TokRParen || p.tok.Kind == TokRBrace || p.tok.Kind == TokPipe {
			p.fail(opTok.End, p.tok.Kind == TokEOF, "You must provide a value expression on the right-hand side of the '"+op+"' operator.")
		}
		return &Assignment{Target: x, Op: op, Value: p.parseStatement(), Offset: start}
	}
	return p.parsePipeline(&ExprElement{X: x})
}

func assignable(x Expr) bool {
	switch n := x.(type) {
	case *Variable, *Member, *Index:
		return true
	case *Cast:
		_, ok := n.X.(*Variable)
		return ok
	}
	return false
}

// pipeline = ( command | expression ) { "|" { newline } command } [ ( ">" | ">>" ) argprimary ]
func (p *parser) parsePipeline(first PipelineElement) *Pipeline {
	pl := &Pipeline{Elements: []PipelineElement{first}, Offset: first.Pos()}
	for p.tok.Kind == TokPipe {
		p.advance(ModeArgument)
		p.skipNewlines(ModeArgument)
		switch p.tok.Kind {
		case TokEOF, TokPipe, TokSemi, TokRParen, TokRBrace:
			p.failHere("An empty pipe element is not allowed.")
		case TokWord, TokAmp:
			pl.Elements = append(pl.Elements, p.parseCommand())
		case TokError, TokParameter:
			p.unexpected()
		default:
			p.fail(p.tok.Pos, false, "Expressions are only allowed as the first element of a pipeline.")
		}
	}
	if p.tok.Kind == TokRedirect {
		r := &Redirect{Append: p.tok.Value == ">>", Offset: p.tok.Pos}
		p.advance(ModeArgument)
		switch p.tok.Kind {
		case TokWord, TokNumber, TokString, TokExpandString, TokVariable, TokLParen, TokDollarParen:
			r.Target = p.parseArgPrimary()
		default:
			p.fail(p.tok.Pos, false, "Missing file specification after redirection operator.")
		}
		pl.Redirect = r
		if p.tok.Kind == TokPipe || p.tok.Kind == TokRedirect {
			p.failHere("An output redirection must come at the end of a pipeline.")
		}
	}
	return pl
}

// command  = ( name | "&" primary ) { parameter | argument }
// parameter = "-" name [ ":" argument ]
func (p *parser) parseCommand() *Command {
	cmd := &Command{Offset: p.tok.Pos}
	if p.tok.Kind == TokAmp {
		p.advance(ModeExpression)
		switch p.tok.Kind {
		case TokString, TokExpandString, TokVariable, TokLParen, TokDollarParen, TokLBrace:
			cmd.NameExpr = p.parsePrimary(ModeArgument)
		default:
			p.failHere("Missing expression after '&' in pipeline element.")
		}
	} else {
		p.relex(ModeArgument)
		if p.tok.Kind != TokWord {
			p.unexpected()
		}
		cmd.Name = p.tok.Value
		p.advance(ModeArgument)
	}
	for {
		switch p.tok.Kind {
		case TokNewline, TokSemi, TokPipe, TokRParen, TokRBrace, TokEOF, TokRedirect:
			return cmd
		case TokParameter:
			param := &Parameter{Name: p.tok.Value, Colon: p.tok.Colon, Offset: p.tok.Pos}
			if param.Colon {
				colonEnd := p.tok.End
				p.advance(ModeArgument)
				switch p.tok.Kind {
				case TokNewline, TokSemi, TokPipe, TokRParen, TokRBrace, TokEOF, TokComma, TokRedirect:
					p.fail(colonEnd, p.tok.Kind == TokEOF, "Missing an argument for parameter '"+param.Name+"'. Specify a parameter value after the ':'.")
				}
				param.Arg = p.parseArgument()
			} else {
				p.advance(ModeArgument)
			}
			cmd.Elements = append(cmd.Elements, param)
		case TokSplat:
			cmd.Elements = append(cmd.Elements, &Splat{Name: p.tok.Value, Offset: p.tok.Pos})
			p.advance(ModeArgument)
		default:
			cmd.Elements = append(cmd.Elements, p.parseArgument())
		}
	}
}

// argument = argprimary { "," { newline } argprimary }
func (p *parser) parseArgument() Expr {
	first := p.parseArgPrimary()
	if p.tok.Kind != TokComma {
		return first
	}
	arr := &ArrayLit{Elems: []Expr{first}, Offset: first.Pos()}
	for p.tok.Kind == TokComma {
		p.advance(ModeArgument)
		p.skipNewlines(ModeArgument)
		switch p.tok.Kind {
		case TokSemi, TokPipe, TokRParen, TokRBrace, TokEOF, TokComma, TokRedirect:
			p.failHere("Missing argument in parameter list.")
		}
		arr.Elems = append(arr.Elems, p.parseArgPrimary())
	}
	return arr
}

// argprimary = bareword | number | primary
func (p *parser) parseArgPrimary() Expr {
	switch p.tok.Kind {
	case TokWord:
		x := &StringLit{Value: p.tok.Value, Bare: true, Offset: p.tok.Pos}
		p.advance(ModeArgument)
		return x
	case TokNumber:
		x := p.number()
		p.advance(ModeArgument)
		return x
	case TokString, TokExpandString, TokVariable, TokLParen, TokDollarParen, TokAtParen, TokAtBrace, TokLBrace:
		return p.parsePrimary(ModeArgument)
	case TokComma:
		p.fail(p.tok.Pos, false, "Missing argument in parameter list.")
	}
	p.unexpected()
	return nil
}

func (p *parser) number() *NumberLit {
	v, ok := ParseNumber(p.tok.Value)
	if !ok {
		p.fail(p.tok.Pos, false, "The numeric constant "+p.tok.Value+" is not valid.")
	}
	return &NumberLit{Text: p.tok.Value, Value: v, Offset: p.tok.Pos}
}

// Binary operator precedence, loosest first (about_Operator_Precedence).
// -and, -or and -xor share one level and associate to the left, as in
// PowerShell.
var binaryLevels = [][]string{
	{"-and", "-or", "-xor"},
	nil, // comparison: see isComparison
	{"+", "-"},
	{"*", "/", "%"},
	{"-f"},
	{".."},
}

func isComparison(op string) bool {
	if !strings.HasPrefix(op, "-") {
		return false
	}
	w := op[1:]
	switch w {
	case "band", "bor", "bxor", "shl", "shr", "is", "isnot", "as", "join":
		return true
	case "and", "or", "xor", "not", "f", "bnot":
		return false
	}
	return IsOperatorWord(w)
}

// expression = binary(0)
// binary(n)  = binary(n+1) { op(n) { newline } binary(n+1) }
// array      = unary { "," { newline } unary }      (not in method arguments)
func (p *parser) parseExpression(noComma bool) Expr {
	return p.parseBinary(0, noComma)
}

func (p *parser) parseBinary(level int, noComma bool) Expr {
	if level == len(binaryLevels) {
		if noComma {
			return p.parseUnary()
		}
		return p.parseArray()
	}
	left := p.parseBinary(level+1, noComma)
	for p.tok.Kind == TokOperator && p.opAtLevel(p.tok.Value, level) {
		opTok := p.tok
		if (opTok.Value == "+" || opTok.Value == "-") && !opTok.SpaceBefore() && strings.HasPrefix(p.src[opTok.End:], opTok.Value) &&
			!isIncDecTarget(left) && endsIncDec(p.src[opTok.End+1:]) {
			// 5++ (but 1--1 is 1 - -1)
			p.fail(opTok.Pos, false, "The '"+opTok.Value+opTok.Value+"' operator works only on variables or on properties.")
		}
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		if !p.startsOperand() {
			msg := "You must provide a value expression following the '" + p.text(opTok) + "' operator."
			if p.tok.Kind == TokWord {
				// $x -eq Christa: PowerShell reports both mistakes.
				p.fail(p.tok.Pos, false, msg+" Unexpected token '"+p.text(p.tok)+"' in expression or statement.")
			}
			p.fail(opTok.End, p.tok.Kind == TokEOF, msg)
		}
		right := p.parseBinary(level+1, noComma)
		left = &Binary{Op: opTok.Value, L: left, R: right, Offset: left.Pos()}
	}
	return left
}

func (p *parser) opAtLevel(op string, level int) bool {
	if level == 1 {
		return isComparison(op)
	}
	for _, o := range binaryLevels[level] {
		if o == op {
			return true
		}
	}
	return false
}

// startsOperand reports whether the current token can begin a unary
// expression.
func (p *parser) startsOperand() bool {
	switch p.tok.Kind {
	case TokNumber, TokString, TokExpandString, TokVariable, TokLParen, TokDollarParen,
		TokAtParen, TokAtBrace, TokLBrace, TokLBracket:
		return true
	case TokOperator:
		return isUnaryOp(p.tok.Value)
	}
	return false
}

func isUnaryOp(op string) bool {
	switch op {
	case "-not", "!", "-", "+", "-bnot", "-split", "-join":
		return true
	}
	return false
}

func (p *parser) parseArray() Expr {
	first := p.parseUnary()
	if p.tok.Kind != TokComma {
		return first
	}
	arr := &ArrayLit{Elems: []Expr{first}, Offset: first.Pos()}
	for p.tok.Kind == TokComma {
		comma := p.tok
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		if !p.startsOperand() {
			p.fail(comma.End, p.tok.Kind == TokEOF, "Missing expression after ','.")
		}
		arr.Elems = append(arr.Elems, p.parseUnary())
	}
	return arr
}

// unary = ( "-not" | "!" | "-" | "+" | "-bnot" | "-split" | "-join" ) unary
//
//	| "[" type "]" unary
//	| postfix
func (p *parser) parseUnary() Expr {
	p.enter()
	defer p.leave()
	// ++$x and --$x
	if p.tok.Kind == TokOperator && (p.tok.Value == "+" || p.tok.Value == "-") &&
		strings.HasPrefix(p.src[p.tok.End:], p.tok.Value+"$") {
		opTok := p.tok
		p.lex(opTok.End+1, ModeExpression)
		if p.tok.SpaceBefore() || p.tok.Kind != TokVariable {
			p.fail(opTok.Pos, false, "The '"+opTok.Value+opTok.Value+"' operator works only on variables or on properties.")
		}
		x := p.parsePrimary(ModeExpression)
		if !assignable(x) {
			p.fail(opTok.Pos, false, "The '"+opTok.Value+opTok.Value+"' operator works only on variables or on properties.")
		}
		return &IncDec{X: x, Op: opTok.Value + opTok.Value, Prefix: true, Offset: opTok.Pos}
	}
	if p.tok.Kind == TokOperator && isUnaryOp(p.tok.Value) {
		opTok := p.tok
		p.advance(ModeExpression)
		if !p.startsOperand() {
			p.fail(opTok.End, p.tok.Kind == TokEOF, "Missing expression after unary operator '"+p.text(opTok)+"'.")
		}
		return &Unary{Op: opTok.Value, X: p.parseUnary(), Offset: opTok.Pos}
	}
	return p.parsePrimary(ModeExpression)
}

// primary = number | string | variable | "(" statement ")" | "$(" statements ")"
//
//	| "@(" statements ")" | "@{" hash "}" | "{" statements "}" | "[" type "]"
//
// postfix = primary { "." member [ "(" args ")" ] | "::" member [ "(" args ")" ] | "[" expression "]" }
//
// parsePrimary parses a primary and its postfix operators, then lexes the
// next token in mode.
func (p *parser) parsePrimary(mode Mode) Expr {
	var x Expr
	var end int
	t := p.tok
	switch t.Kind {
	case TokNumber:
		x, end = p.number(), t.End
	case TokString:
		x, end = &StringLit{Value: t.Value, Offset: t.Pos}, t.End
	case TokExpandString:
		x, end = p.parseExpandable(t), t.End
	case TokVariable:
		x, end = &Variable{Name: t.Value, Offset: t.Pos}, t.End
	case TokLParen:
		p.enter()
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		if p.tok.Kind == TokRParen {
			p.fail(p.tok.Pos, false, "An expression was expected after '('.")
		}
		if p.tok.Kind == TokEOF {
			p.fail(p.tok.Pos, true, "Missing closing ')' in expression.")
		}
		st := p.parseStatement()
		p.skipNewlines(ModeExpression)
		if p.tok.Kind != TokRParen {
			if p.tok.Kind == TokError {
				p.unexpected()
			}
			p.failHere("Missing closing ')' in expression.")
		}
		p.leave()
		x, end = &Paren{X: st, Offset: t.Pos}, p.tok.End
	case TokDollarParen, TokAtParen:
		p.enter()
		p.advance(ModeExpression)
		stmts := p.parseStatements()
		if p.tok.Kind != TokRParen {
			if p.tok.Kind == TokEOF {
				p.fail(p.tok.Pos, true, "Missing closing ')' in subexpression.")
			}
			p.unexpected()
		}
		p.leave()
		if t.Kind == TokDollarParen {
			x = &SubExpr{Statements: stmts, Offset: t.Pos}
		} else {
			x = &ArrayExpr{Statements: stmts, Offset: t.Pos}
		}
		end = p.tok.End
	case TokAtBrace:
		x, end = p.parseHashtable()
	case TokLBrace:
		x, end = p.parseScriptBlock()
	case TokLBracket:
		typ, typeEnd := p.scanType(t)
		if !strings.HasPrefix(p.src[typeEnd:], "::") {
			p.lex(typeEnd, ModeExpression)
			// [int]-5 is a cast; [int] - 5 subtracts from a type, which
			// fails later, as in PowerShell.
			if p.startsOperand() && !(p.tok.Kind == TokOperator && p.tok.SpaceBefore()) {
				return &Cast{Type: typ, X: p.parseUnary(), Offset: t.Pos}
			}
			return &TypeLit{Type: typ, Offset: t.Pos}
		}
		x, end = &TypeLit{Type: typ, Offset: t.Pos}, typeEnd
	default:
		p.unexpected()
	}
	x, end = p.parsePostfix(x, end)
	p.lex(end, mode)
	return x
}

// scanType reads the type name of [type], allowing nested brackets as in
// [System.Collections.Generic.List[string]].
func (p *parser) scanType(open Token) (string, int) {
	depth := 1
	for i := open.End; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				name := strings.TrimSpace(p.src[open.End:i])
				if name == "" {
					p.fail(open.End, false, "Missing type name after '['.")
				}
				return name, i + 1
			}
		case c == '.' || c == ',' || c == ' ' || c == '_' || c == '`' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		default:
			if c < utf8.RuneSelf {
				if i == open.End {
					p.fail(open.End, false, "Missing type name after '['.")
				}
				p.fail(i, false, "Missing ] at end of type token.")
			}
		}
	}
	p.fail(len(p.src), true, "Missing ] at end of type token.")
	return "", 0
}

// parsePostfix applies member access, method calls and indexing that
// follow x without intervening space.
func (p *parser) parsePostfix(x Expr, end int) (Expr, int) {
	for {
		rest := p.src[end:]
		switch {
		case (strings.HasPrefix(rest, "++") || strings.HasPrefix(rest, "--")) && isIncDecTarget(x):
			return &IncDec{X: x, Op: rest[:2], Offset: x.Pos()}, end + 2
		case strings.HasPrefix(rest, "::") || strings.HasPrefix(rest, ".") && !strings.HasPrefix(rest, ".."):
			static := strings.HasPrefix(rest, "::")
			opLen := 1
			if static {
				opLen = 2
			}
			p.lex(end+opLen, ModeMember)
			if p.tok.SpaceBefore() {
				p.fail(end+opLen, false, "Missing property name after reference operator.")
			}
			var name Expr
			switch p.tok.Kind {
			case TokWord:
				name = &StringLit{Value: p.tok.Value, Offset: p.tok.Pos}
				end = p.tok.End
			case TokString, TokExpandString, TokVariable, TokDollarParen:
				name = p.parsePrimaryNoPostfix()
				end = p.tok.End
			default:
				p.unexpected()
			}
			if strings.HasPrefix(p.src[end:], "(") {
				args, argsEnd := p.parseMethodArgs(end)
				x = &Invoke{X: x, Name: name, Static: static, Args: args, Offset: x.Pos()}
				end = argsEnd
				continue
			}
			x = &Member{X: x, Name: name, Static: static, Offset: x.Pos()}
		case strings.HasPrefix(rest, "["):
			if _, isType := x.(*TypeLit); isType {
				return x, end
			}
			p.lex(end+1, ModeExpression)
			p.skipNewlines(ModeExpression)
			if p.tok.Kind == TokRBracket {
				p.fail(p.tok.Pos, false, "Array index expression is missing or not valid.")
			}
			if p.tok.Kind == TokEOF {
				p.fail(p.tok.Pos, true, "Missing ']' after array index expression.")
			}
			idx := p.parseExpression(false)
			p.skipNewlines(ModeExpression)
			if p.tok.Kind != TokRBracket {
				if p.tok.Kind == TokError {
					p.unexpected()
				}
				p.failHere("Missing ']' after array index expression.")
			}
			x = &Index{X: x, Index: idx, Offset: x.Pos()}
			end = p.tok.End
		default:
			return x, end
		}
	}
}

// parsePrimaryNoPostfix parses a member name given as a string, variable
// or sub-expression; p.tok ends on its last token.
func (p *parser) parsePrimaryNoPostfix() Expr {
	t := p.tok
	switch t.Kind {
	case TokString:
		return &StringLit{Value: t.Value, Offset: t.Pos}
	case TokExpandString:
		return p.parseExpandable(t)
	case TokVariable:
		return &Variable{Name: t.Value, Offset: t.Pos}
	case TokDollarParen:
		p.advance(ModeExpression)
		stmts := p.parseStatements()
		if p.tok.Kind != TokRParen {
			if p.tok.Kind == TokEOF {
				p.fail(p.tok.Pos, true, "Missing closing ')' in subexpression.")
			}
			p.unexpected()
		}
		return &SubExpr{Statements: stmts, Offset: t.Pos}
	}
	p.unexpected()
	return nil
}

// args = "(" [ expression { "," expression } ] ")"
func (p *parser) parseMethodArgs(open int) ([]Expr, int) {
	p.lex(open+1, ModeExpression)
	p.skipNewlines(ModeExpression)
	var args []Expr
	if p.tok.Kind == TokRParen {
		return args, p.tok.End
	}
	for {
		if !p.startsOperand() {
			if p.tok.Kind == TokEOF {
				p.fail(p.tok.Pos, true, "Missing ')' in method call.")
			}
			p.unexpected()
		}
		args = append(args, p.parseExpression(true))
		p.skipNewlines(ModeExpression)
		switch p.tok.Kind {
		case TokComma:
			p.advance(ModeExpression)
			p.skipNewlines(ModeExpression)
		case TokRParen:
			return args, p.tok.End
		case TokEOF:
			p.fail(p.tok.Pos, true, "Missing ')' in method call.")
		default:
			p.unexpected()
		}
	}
}

// hash  = "@{" { sep } [ entry { sep { sep } entry } ] { sep } "}"
// entry = key "=" { newline } statement
// key   = bareword | string | number | variable | "(" statement ")"
func (p *parser) parseHashtable() (Expr, int) {
	p.enter()
	defer p.leave()
	h := &Hashtable{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	for {
		for p.tok.Kind == TokNewline || p.tok.Kind == TokSemi {
			p.advance(ModeExpression)
		}
		if p.tok.Kind == TokRBrace {
			return h, p.tok.End
		}
		if p.tok.Kind == TokEOF {
			p.failHere("The hash literal was incomplete.")
		}
		var key Expr
		switch p.tok.Kind {
		case TokWord:
			key = &StringLit{Value: p.tok.Value, Bare: true, Offset: p.tok.Pos}
			p.advance(ModeExpression)
		case TokString, TokExpandString, TokNumber, TokVariable, TokLParen, TokDollarParen:
			key = p.parsePrimary(ModeExpression)
		default:
			p.unexpected()
		}
		if p.tok.Kind != TokAssign || p.tok.Value != "=" {
			if p.tok.Kind == TokError {
				p.unexpected()
			}
			p.failHere("Missing '=' operator after key in hash literal.")
		}
		p.advance(ModeExpression)
		p.skipNewlines(ModeExpression)
		switch p.tok.Kind {
		case TokEOF, TokSemi, TokRBrace, TokRParen, TokPipe:
			p.failHere("Missing statement after '=' in hash literal.")
		}
		h.Entries = append(h.Entries, HashEntry{Key: key, Value: p.parseStatement()})
		switch p.tok.Kind {
		case TokNewline, TokSemi, TokRBrace:
		case TokEOF:
			p.failHere("The hash literal was incomplete.")
		default:
			p.unexpected()
		}
	}
}

// scriptblock = "{" statements "}"
func (p *parser) parseScriptBlock() (Expr, int) {
	p.enter()
	defer p.leave()
	open := p.tok
	p.advance(ModeExpression)
	stmts := p.parseStatements()
	if p.tok.Kind != TokRBrace {
		if p.tok.Kind == TokEOF {
			p.fail(p.tok.Pos, true, "Missing closing '}' in statement block or type definition.")
		}
		p.unexpected()
	}
	return &ScriptBlock{Statements: stmts, Text: p.src[open.End:p.tok.Pos], Offset: open.Pos}, p.tok.End
}

// block = "{" statements "}"; the token after '}' is lexed in expression
// mode.
func (p *parser) parseBlock(missing string) *Block {
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokLBrace {
		if p.tok.Kind == TokError {
			p.unexpected()
		}
		p.failHere(missing)
	}
	p.enter()
	defer p.leave()
	b := &Block{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	b.Statements = p.parseStatements()
	if p.tok.Kind != TokRBrace {
		if p.tok.Kind == TokEOF {
			p.fail(p.tok.Pos, true, "Missing closing '}' in statement block or type definition.")
		}
		p.unexpected()
	}
	p.advance(ModeExpression)
	return b
}

// condition = "(" { newline } statement { newline } ")"
func (p *parser) parseCondition(keyword string) Statement {
	if p.tok.Kind != TokLParen {
		if p.tok.Kind == TokError {
			p.unexpected()
		}
		p.failHere("Missing '(' after '" + keyword + "' in " + keyword + " statement.")
	}
	p.advance(ModeExpression)
	p.skipNewlines(ModeExpression)
	if p.tok.Kind == TokRParen || p.tok.Kind == TokEOF {
		p.failHere("Missing condition in " + keyword + " statement after '" + keyword + " ('.")
	}
	cond := p.parseStatement()
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokRParen {
		if p.tok.Kind == TokError {
			p.unexpected()
		}
		p.failHere("Missing closing ')' after expression in '" + keyword + "' statement.")
	}
	p.advance(ModeExpression)
	return cond
}

// if = "if" condition block { "elseif" condition block } [ "else" block ]
func (p *parser) parseIf() Statement {
	n := &If{Offset: p.tok.Pos}
	keyword := "if"
	for {
		p.advance(ModeExpression)
		cond := p.parseCondition(keyword)
		body := p.parseBlock("Missing statement block after " + keyword + " ( condition ).")
		n.Clauses = append(n.Clauses, IfClause{Cond: cond, Body: body})
		// else and elseif may follow on a later line
		saved := p.tok
		p.skipNewlines(ModeExpression)
		if p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "elseif") {
			keyword = "elseif"
			continue
		}
		if p.tok.Kind == TokWord && strings.EqualFold(p.tok.Value, "else") {
			p.advance(ModeExpression)
			n.Else = p.parseBlock("Missing statement block after 'else' keyword.")
			return n
		}
		p.tok = saved
		return n
	}
}

// foreach = "foreach" "(" variable "in" statement ")" block
func (p *parser) parseForeach() Statement {
	n := &Foreach{Offset: p.tok.Pos}
	p.advance(ModeExpression)
	if p.tok.Kind != TokLParen {
		p.failHere("Missing opening '(' after keyword 'foreach'.")
	}
	p.advance(ModeExpression)
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokVariable {
		p.failHere("Missing variable name after foreach.")
	}
	n.Var = p.tok.Value
	p.advance(ModeExpression)
	if p.tok.Kind != TokWord || !strings.EqualFold(p.tok.Value, "in") {
		p.failHere("Missing 'in' after variable in foreach loop.")
	}
	p.advance(ModeExpression)
	p.skipNewlines(ModeExpression)
	if p.tok.Kind == TokRParen || p.tok.Kind == TokEOF {
		p.failHere("Missing foreach loop collection expression.")
	}
	n.Collection = p.parseStatement()
	p.skipNewlines(ModeExpression)
	if p.tok.Kind != TokRParen {
		if p.tok.Kind == TokError {
			p.unexpected()
		}
		p.failHere("Missing closing ')' after expression in 'foreach' statement.")
	}
	p.advance(ModeExpression)
	n.Body = p.parseBlock("Missing statement body in foreach loop.")
	return n
}

// isKeyword reports whether a word at the start of a statement is a
// PowerShell keyword rather than a command name.
func isKeyword(word string) bool {
	switch strings.ToLower(word) {
	case "if", "foreach", "else", "elseif", "in",
		"function", "filter", "workflow", "param", "begin", "process", "end", "return", "break",
		"continue", "throw", "trap", "try", "catch", "finally", "while", "do", "until",
		"for", "switch", "class", "enum", "using", "data", "dynamicparam":
		return true
	}
	return false
}

// isIncDecTarget reports whether x++ may follow x: a variable, property or
// element.
func isIncDecTarget(x Expr) bool {
	switch x.(type) {
	case *Variable, *Member, *Index:
		return true
	}
	return false
}

// endsIncDec reports whether the text after "x++" ends the expression,
// which makes it an increment rather than x + +y.
func endsIncDec(rest string) bool {
	rest = strings.TrimLeft(rest, " \t")
	return rest == "" || strings.ContainsAny(rest[:1], ");|}\r\n")
}
