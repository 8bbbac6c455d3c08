package syntax

// Node is any node of the syntax tree. Pos is the byte offset where the
// node starts in the parsed text; String prints the node in canonical form.
type Node interface {
	Pos() int
	String() string
}

// Statement is a node that can stand alone in a script: *Pipeline,
// *Assignment, *If, *Foreach, or one of the statements of control.go.
type Statement interface {
	Node
	statement()
}

// Expr is a value-producing node.
type Expr interface {
	Node
	expr()
}

// Script is a parsed script: statements separated by newlines or ';'.
type Script struct {
	// Params is the script's own param() block, nil without one.
	Params     *ParamBlock
	Statements []Statement
	Offset     int
}

// Pipeline is elements joined by '|'. Only the first element may be an
// expression (*ExprElement); the others are *Command.
type Pipeline struct {
	Elements []PipelineElement
	// Redirect, when set, sends the output to a file (> or >>) or, with
	// the target $null, nowhere.
	Redirect *Redirect
	Offset   int
}

// Redirect is "> target" or ">> target" at the end of a pipeline.
type Redirect struct {
	Append bool
	Target Expr
	Offset int
}

// PipelineElement is *Command or *ExprElement.
type PipelineElement interface {
	Node
	pipelineElement()
}

// ExprElement is an expression at the head of a pipeline, such as
// "a","b" | ... or $x.
type ExprElement struct {
	X Expr
}

// Command invokes a cmdlet: Name (a bareword such as Get-Mailbox) or, with
// the call operator &, the command that NameExpr evaluates to.
type Command struct {
	Name     string
	NameExpr Expr // set for & expr
	// Elements are the parameters (*Parameter) and arguments (Expr) in the
	// order written. Whether the argument after a -Name is its value or a
	// positional argument depends on whether Name is a switch, which only
	// the binder knows, as in PowerShell.
	Elements []Node
	Offset   int
}

// Parameter is -Name, or -Name:value when Colon is set (Arg holds value).
type Parameter struct {
	Name   string
	Colon  bool
	Arg    Expr
	Offset int
}

// Splat is @Name among a command's arguments: the hashtable in $Name
// binds as named parameters, an array as positional arguments.
type Splat struct {
	Name   string
	Offset int
}

// Assignment is Target Op Value: $x = Get-Mailbox, $n += 1.
type Assignment struct {
	Target Expr   // *Variable, *Member or *Index
	Op     string // "=", "+=", "-=", "*=", "/="
	Value  Statement
	Offset int
}

// If is if (cond) { } elseif (cond) { } else { }.
type If struct {
	Clauses []IfClause
	Else    *Block // nil without else
	Offset  int
}

// IfClause is one condition and its block.
type IfClause struct {
	Cond Statement
	Body *Block
}

// Foreach is foreach ($Var in Collection) { Body }.
type Foreach struct {
	Label      string // :label before foreach, "" without one
	Var        string
	Collection Statement
	Body       *Block
	Offset     int
}

// Block is the statements between braces of if and foreach.
type Block struct {
	Statements []Statement
	Offset     int
}

// StringLit is a string constant: 'verbatim', a bareword argument (Bare),
// or an expandable string without anything to expand.
type StringLit struct {
	Value  string
	Bare   bool
	Offset int
}

// ExpandString is a double-quoted string with variables or
// sub-expressions: "Hello $name, $($x.Count) items". Parts are *StringLit,
// *Variable and *SubExpr.
type ExpandString struct {
	Parts  []Expr
	Offset int
}

// NumberLit is a number; Value is int64 or float64 and Text the literal as
// written.
type NumberLit struct {
	Text   string
	Value  any
	Offset int
}

// Variable is $Name; $true, $false and $null are variables, as in
// PowerShell.
type Variable struct {
	Name   string
	Offset int
}

// Member is X.Name (or X::Name when Static); Name is a *StringLit for
// X.Name or any expression for X.$prop.
type Member struct {
	X      Expr
	Name   Expr
	Static bool
	Offset int
}

// Invoke is a method call X.Name(Args).
type Invoke struct {
	X      Expr
	Name   Expr
	Static bool
	Args   []Expr
	Offset int
}

// Index is X[Index].
type Index struct {
	X      Expr
	Index  Expr
	Offset int
}

// Unary is an operator before its operand: -not, !, -, +, -split, -join,
// -bnot, or a cast (Op "[type]").
type Unary struct {
	Op     string
	X      Expr
	Offset int
}

// IncDec is $x++, $x--, ++$x or --$x: X is a variable, property or
// element; Op is "++" or "--".
type IncDec struct {
	X      Expr
	Op     string
	Prefix bool
	Offset int
}

// Cast is [Type]X.
type Cast struct {
	Type   string
	X      Expr
	Offset int
}

// TypeLit is [Type] on its own, as in [datetime]::Now.
type TypeLit struct {
	Type   string
	Offset int
}

// Binary is L Op R, Op lower-cased: "-eq", "-and", "+", "..", "-f", ...
type Binary struct {
	Op     string
	L, R   Expr
	Offset int
}

// ArrayLit is a,b,c.
type ArrayLit struct {
	Elems  []Expr
	Offset int
}

// Paren is ( statement ): a pipeline or assignment used as a value.
type Paren struct {
	X      Statement
	Offset int
}

// SubExpr is $( statements ).
type SubExpr struct {
	Statements []Statement
	Offset     int
}

// ArrayExpr is @( statements ), always an array.
type ArrayExpr struct {
	Statements []Statement
	Offset     int
}

// Hashtable is @{ Key = Value; ... }.
type Hashtable struct {
	Entries []HashEntry
	Offset  int
}

// HashEntry is one Key = Value of a hashtable.
type HashEntry struct {
	Key   Expr
	Value Statement
}

// ScriptBlock is { statements }. Text is the source between the braces,
// which Exchange-style -Filter {...} parameters use as a string.
type ScriptBlock struct {
	Statements []Statement
	Text       string
	Offset     int
}

func (n *Script) Pos() int       { return n.Offset }
func (n *Pipeline) Pos() int     { return n.Offset }
func (n *ExprElement) Pos() int  { return n.X.Pos() }
func (n *Command) Pos() int      { return n.Offset }
func (n *Parameter) Pos() int    { return n.Offset }
func (n *Splat) Pos() int        { return n.Offset }
func (n *Assignment) Pos() int   { return n.Offset }
func (n *If) Pos() int           { return n.Offset }
func (n *Foreach) Pos() int      { return n.Offset }
func (n *Block) Pos() int        { return n.Offset }
func (n *StringLit) Pos() int    { return n.Offset }
func (n *ExpandString) Pos() int { return n.Offset }
func (n *NumberLit) Pos() int    { return n.Offset }
func (n *Variable) Pos() int     { return n.Offset }
func (n *Member) Pos() int       { return n.Offset }
func (n *Invoke) Pos() int       { return n.Offset }
func (n *Index) Pos() int        { return n.Offset }
func (n *Unary) Pos() int        { return n.Offset }
func (n *Cast) Pos() int         { return n.Offset }
func (n *IncDec) Pos() int       { return n.Offset }
func (n *TypeLit) Pos() int      { return n.Offset }
func (n *Binary) Pos() int       { return n.Offset }
func (n *ArrayLit) Pos() int     { return n.Offset }
func (n *Paren) Pos() int        { return n.Offset }
func (n *SubExpr) Pos() int      { return n.Offset }
func (n *ArrayExpr) Pos() int    { return n.Offset }
func (n *Hashtable) Pos() int    { return n.Offset }
func (n *ScriptBlock) Pos() int  { return n.Offset }

func (*Pipeline) statement()   {}
func (*Assignment) statement() {}
func (*If) statement()         {}
func (*Foreach) statement()    {}

func (*ExprElement) pipelineElement() {}
func (*Command) pipelineElement()     {}

func (*StringLit) expr()    {}
func (*ExpandString) expr() {}
func (*NumberLit) expr()    {}
func (*Variable) expr()     {}
func (*Member) expr()       {}
func (*Invoke) expr()       {}
func (*Index) expr()        {}
func (*Unary) expr()        {}
func (*Cast) expr()         {}
func (*IncDec) expr()       {}
func (*TypeLit) expr()      {}
func (*Binary) expr()       {}
func (*ArrayLit) expr()     {}
func (*Paren) expr()        {}
func (*SubExpr) expr()      {}
func (*ArrayExpr) expr()    {}
func (*Hashtable) expr()    {}
func (*ScriptBlock) expr()  {}
