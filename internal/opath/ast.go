package opath

import (
	"strconv"
	"strings"
	"time"
)

// Expr is a node of a parsed filter: *And, *Or, *Not or *Comparison.
// Its String method prints the filter in canonical form (operators in
// lower case, strings in single quotes, parentheses only where needed),
// which Parse reads back to an equal tree.
type Expr interface {
	// Pos is the byte offset in the filter text where the node starts.
	Pos() int
	String() string
	expr()
}

// And is true when both sides are true.
type And struct {
	Left, Right Expr
	Offset      int
}

// Or is true when either side is true.
type Or struct {
	Left, Right Expr
	Offset      int
}

// Not negates X.
type Not struct {
	X      Expr
	Offset int
}

// Comparison compares the value of a property with a literal:
// Property Op Value. Property is spelled as the user wrote it until Check
// replaces it with the schema's canonical spelling.
type Comparison struct {
	Property string
	Op       Op
	Value    Value
	Offset   int
}

func (e *And) Pos() int        { return e.Offset }
func (e *Or) Pos() int         { return e.Offset }
func (e *Not) Pos() int        { return e.Offset }
func (e *Comparison) Pos() int { return e.Offset }

func (*And) expr()        {}
func (*Or) expr()         {}
func (*Not) expr()        {}
func (*Comparison) expr() {}

// Op is a comparison operator.
type Op int

// The comparison operators of OPATH. Equality and -like are
// case-insensitive, as they are in Exchange.
const (
	OpEq Op = iota + 1
	OpNe
	OpLt
	OpGt
	OpLe
	OpGe
	OpLike
	OpNotLike
)

var opNames = map[Op]string{
	OpEq: "-eq", OpNe: "-ne", OpLt: "-lt", OpGt: "-gt", OpLe: "-le", OpGe: "-ge",
	OpLike: "-like", OpNotLike: "-notlike",
}

// String returns the operator as written in a filter, e.g. "-eq".
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "-op(" + strconv.Itoa(int(o)) + ")"
}

func lookupOp(word string) (Op, bool) {
	w := strings.ToLower(word)
	for op, name := range opNames {
		if name == w {
			return op, true
		}
	}
	return 0, false
}

// Kind says which literal a Value holds.
type Kind int

// The kinds of literal values.
const (
	KindString Kind = iota + 1 // 'text', "text" or a bareword; see Value.Str
	KindBool                   // $true, $false; see Value.Bool
	KindNull                   // $null
	KindNumber                 // 42, -1.5; see Value.Str (the text), Int64, Float64
	KindDate                   // an unquoted date 2024-05-01 or 2024-05-01T10:00:00Z; see Value.Time
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	case KindNumber:
		return "number"
	case KindDate:
		return "date"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a typed literal on the right of a comparison.
//
// Exchange users usually quote dates and numbers ('1/31/2024', '500'); such
// values arrive as KindString, and Check converts them to the property's
// type. The Time, Int64 and Float64 methods convert on demand.
type Value struct {
	Kind Kind
	// Str is the text of a string, or the digits of a number as written.
	Str string
	// Bool is the value of a KindBool.
	Bool bool
	// Time is the value of a KindDate, in UTC unless the text named a zone.
	Time time.Time
}

// String returns v as a filter literal: 'text' (quotes doubled), $true,
// $false, $null, a number, or a date in RFC 3339 form.
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
	case KindBool:
		if v.Bool {
			return "$true"
		}
		return "$false"
	case KindNull:
		return "$null"
	case KindNumber:
		return v.Str
	case KindDate:
		return v.Time.Format(time.RFC3339Nano)
	}
	return "<invalid>"
}

// Int64 returns the value as an integer: a KindNumber without a fraction,
// or a KindString holding one.
func (v Value) Int64() (int64, error) {
	if v.Kind != KindNumber && v.Kind != KindString {
		return 0, &convError{v: v, typ: "System.Int64"}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64)
	if err != nil {
		return 0, &convError{v: v, typ: "System.Int64"}
	}
	return n, nil
}

// Float64 returns the value as a floating-point number.
func (v Value) Float64() (float64, error) {
	if v.Kind != KindNumber && v.Kind != KindString {
		return 0, &convError{v: v, typ: "System.Double"}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
	if err != nil {
		return 0, &convError{v: v, typ: "System.Double"}
	}
	return f, nil
}

// AsBool returns the value as a Boolean: $true/$false, or a string or number
// that PowerShell would convert ("true", "False", 1, 0).
func (v Value) AsBool() (bool, error) {
	switch v.Kind {
	case KindBool:
		return v.Bool, nil
	case KindString:
		switch strings.ToLower(strings.TrimSpace(v.Str)) {
		case "true", "$true":
			return true, nil
		case "false", "$false":
			return false, nil
		}
	case KindNumber:
		if f, err := strconv.ParseFloat(v.Str, 64); err == nil {
			return f != 0, nil
		}
	}
	return false, &convError{v: v, typ: "System.Boolean"}
}

// dateLayouts are the forms a date may take: RFC 3339 and ISO 8601 dates,
// and the US forms Exchange documentation uses ('1/31/2024', '1/31/2024 10:00 AM').
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
	"1/2/2006",
}

// ParseDate parses s in one of the date forms filters accept; a time
// without a zone is taken as UTC.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// AsTime returns the value as a time: a KindDate, or a string in one of the
// forms ParseDate accepts.
func (v Value) AsTime() (time.Time, error) {
	switch v.Kind {
	case KindDate:
		return v.Time, nil
	case KindString:
		if t, ok := ParseDate(v.Str); ok {
			return t, nil
		}
	}
	return time.Time{}, &convError{v: v, typ: "System.DateTime"}
}

// String prints the comparison as "Property -op value".
func (e *Comparison) String() string {
	return e.Property + " " + e.Op.String() + " " + e.Value.String()
}

// Precedence levels for printing: a child is parenthesized only when the
// grammar would otherwise read the text back as a different tree, so that
// printing never nests deeper than the text that was parsed.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
)

func prec(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	}
	return precCmp
}

// operand prints child; -and and -or are left-associative, so a right
// operand of the same precedence needs parentheses and a left one does not.
func operand(child Expr, parent int, right bool) string {
	p := prec(child)
	if p < parent || right && p == parent {
		return "(" + child.String() + ")"
	}
	return child.String()
}

// String prints "left -and right", parenthesizing operands only where needed.
func (e *And) String() string {
	return operand(e.Left, precAnd, false) + " -and " + operand(e.Right, precAnd, true)
}

// String prints "left -or right".
func (e *Or) String() string {
	return operand(e.Left, precOr, false) + " -or " + operand(e.Right, precOr, true)
}

// String prints "-not x", or "-not (x)" when x is an -and or -or.
func (e *Not) String() string { return "-not " + operand(e.X, precNot, false) }

// Walk calls fn for e and, while fn returns true, for its children in
// left-to-right order.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case *And:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Or:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Not:
		Walk(n.X, fn)
	}
}

// Properties returns the property names a filter mentions, in order of
// first appearance, without duplicates (compared case-insensitively).
func Properties(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Comparison); ok {
			k := strings.ToLower(c.Property)
			if !seen[k] {
				seen[k] = true
				out = append(out, c.Property)
			}
		}
		return true
	})
	return out
}
