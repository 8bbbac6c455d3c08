package syntax

import "fmt"

// TokenKind is the kind of a Token.
type TokenKind int

// The token kinds.
const (
	TokEOF          TokenKind = iota
	TokNewline                // a line break that ends a statement
	TokSemi                   // ;
	TokPipe                   // |
	TokComma                  // ,
	TokLParen                 // (
	TokRParen                 // )
	TokLBrace                 // {
	TokRBrace                 // }
	TokLBracket               // [
	TokRBracket               // ]
	TokAtParen                // @(
	TokAtBrace                // @{
	TokDollarParen            // $(
	TokDot                    // . (member access)
	TokDoubleColon            // :: (static member access)
	TokAmp                    // & (call operator)
	TokAssign                 // = += -= *= /=; Value is the operator
	TokOperator               // + - * / % ! .. and -eq, -and, ...; Value is the lower-cased operator
	TokParameter              // -Name or -Name: in argument mode; Value is the name, Colon is set for -Name:
	TokVariable               // $name, ${name}, $_; Value is the name
	TokString                 // 'verbatim' or @'here'@; Value is the text
	TokExpandString           // "expandable" or @"here"@; Value is the raw text between the quotes
	TokNumber                 // 42, 1.5, 0x1F, 10MB; Value is the text
	TokWord                   // a bareword: command name, argument, member name, keyword
	TokError                  // Value is the message
	TokRedirect               // > or >> (output to a file); Value is the operator
	TokSplat                  // @name in argument mode (splatting); Value is the name
)

var tokenNames = [...]string{
	TokEOF: "end of input", TokNewline: "newline", TokSemi: "';'", TokPipe: "'|'", TokComma: "','",
	TokLParen: "'('", TokRParen: "')'", TokLBrace: "'{'", TokRBrace: "'}'", TokLBracket: "'['",
	TokRBracket: "']'", TokAtParen: "'@('", TokAtBrace: "'@{'", TokDollarParen: "'$('", TokDot: "'.'",
	TokDoubleColon: "'::'", TokAmp: "'&'", TokAssign: "assignment", TokOperator: "operator",
	TokParameter: "parameter", TokVariable: "variable", TokString: "string", TokExpandString: "string",
	TokNumber: "number", TokWord: "word", TokError: "error", TokRedirect: "redirection", TokSplat: "splatted variable",
}

func (k TokenKind) String() string {
	if int(k) < len(tokenNames) {
		return tokenNames[k]
	}
	return fmt.Sprintf("token(%d)", int(k))
}

// Token is one lexical token.
type Token struct {
	Kind TokenKind
	// From is where lexing started (the end of the previous token);
	// Pos..End is the token itself. Pos > From means whitespace came before.
	From, Pos, End int
	// Value is the decoded value; its meaning depends on Kind.
	Value string
	// Colon is set on a TokParameter written -Name:.
	Colon bool
	// Incomplete is set on a TokError that more input could fix.
	Incomplete bool
	// ValuePos is where the raw Value of a TokExpandString starts.
	ValuePos int
}

// SpaceBefore reports whether whitespace separated the token from the
// previous one. Member access ($x.Name) and indexing ($a[0]) need none.
func (t Token) SpaceBefore() bool { return t.Pos > t.From }
